// A digest of what an app keeps in its home: every file's path, kind, mode and
// content (not its timestamps, which come from each host's clock), so two replicas of
// a session can tell whether their files are the same — data must never change
// silently across a failover. Files unchanged since the last digest (same inode, size
// and change time) are not read again. Bounded: a home past MAX_ENTRIES entries or
// MAX_BYTES of content is not compared (null), rather than stall the node. Files an
// app derives from others and records host details in — an editor's swap and lock
// files (inode numbers, the file's mtime), Python's bytecode caches (the source's
// mtime), git's index (the stat data of the work tree's files: inode numbers, times;
// what is staged is in .git/objects, which counts), ~/.cache (what apps can make again:
// fontconfig's caches, and its older ~/.fontconfig) — are left out: they differ between hosts and hold no one's data.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';

/** Names left out of the digest (see above): vim swap files, emacs locks and auto-saves, Python caches. */
const DERIVED = [/^\..+\.sw[a-p]$/, /^\.#/, /^#.*#$/, /\.py[co]$/, /^__pycache__$/];
/**
 * Paths left out: git's index (its stat cache), wherever a repository is, and the home's
 * cache directory (XDG: data an app can make again — fontconfig's caches record the
 * host's font directories, dconf's its settings database), and fontconfig's older one,
 * ~/.fontconfig: a replacement standby's xclock (and, by its signs, xedit's) wrote a
 * cache of /usr/local/share/fonts there that its primary had not, and was called
 * diverged on its files ("never matched") for an app that saves none.
 */
const DERIVED_PATHS = [/(^|\/)\.git\/index$/, /^\.cache$/, /^\.fontconfig$/];

/** Entries (files, directories, links) a home may hold and still be compared. */
export const MAX_ENTRIES = 20_000;
/** File content a home may hold and still be compared. */
export const MAX_BYTES = 256 * 1024 * 1024;

interface Known {
  ino: number;
  size: number;
  ctimeMs: number;
  hash: string;
}

export class HomeDigest {
  /** Content hashes by relative path, reused while a file is unchanged. */
  private readonly known = new Map<string, Known>();

  constructor(
    private readonly home: string,
    private readonly limits = { entries: MAX_ENTRIES, bytes: MAX_BYTES },
  ) {}

  /** The digest of the home as it is now; null when it is too large to compare or cannot be read. */
  async digest(): Promise<string | null> {
    const digest = createHash('sha256');
    const seen = new Set<string>();
    let entries = 0;
    let bytes = 0;
    const walk = async (relative: string): Promise<boolean> => {
      const names = (await readdir(join(this.home, relative))).sort();
      for (const name of names) {
        if (DERIVED.some((pattern) => pattern.test(name))) continue;
        const path = relative ? `${relative}/${name}` : name;
        if (DERIVED_PATHS.some((pattern) => pattern.test(path))) continue;
        if (++entries > this.limits.entries) return false;
        const stat = await lstat(join(this.home, path));
        const mode = (stat.mode & 0o7777).toString(8);
        if (stat.isDirectory()) {
          digest.update(`d ${path} ${mode}\n`);
          if (!(await walk(path))) return false;
        } else if (stat.isSymbolicLink()) {
          digest.update(`l ${path} ${await readlink(join(this.home, path))}\n`);
        } else if (stat.isFile()) {
          bytes += stat.size;
          if (bytes > this.limits.bytes) return false;
          seen.add(path);
          digest.update(`f ${path} ${mode} ${stat.size} ${await this.contentHash(path, stat.ino, stat.size, stat.ctimeMs)}\n`);
        } else {
          digest.update(`o ${path} ${mode}\n`); // a FIFO or socket: its name and kind only
        }
      }
      return true;
    };
    try {
      if (!(await walk(''))) return null;
    } catch {
      return null; // changing under us (a file removed mid-walk): not comparable this time
    }
    for (const path of this.known.keys()) if (!seen.has(path)) this.known.delete(path);
    return digest.digest('hex');
  }

  private async contentHash(path: string, ino: number, size: number, ctimeMs: number): Promise<string> {
    const known = this.known.get(path);
    if (known && known.ino === ino && known.size === size && known.ctimeMs === ctimeMs) return known.hash;
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(join(this.home, path))) hash.update(chunk as Buffer);
    const value = hash.digest('hex');
    this.known.set(path, { ino, size, ctimeMs, hash: value });
    return value;
  }
}
