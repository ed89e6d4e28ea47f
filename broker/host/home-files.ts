// Reading a session's home from inside its sandbox's view (docs/operations.md,
// "Session files"). The home is a volume mounted in the sandbox launcher's own mount
// namespace (home-volume.ts), and what a path in it means — where its links lead — is
// a matter of the sandbox's file system, not the host's: a link in a home to /etc/passwd
// is the sandbox's passwd, never the node's. So the node reads it with small commands of
// its own (find, realpath and dd, from the sandbox's /usr) run in the user and mount
// namespaces of the sandbox's init, as the sandbox's own user, at the home: they can
// read nothing the app itself could not. Paths with `..`, and absolute ones, are refused
// before anything runs; a path whose links resolve out of the home is refused by where
// it resolves, in the sandbox. Only regular files are read, and a file that changes
// while it is read is cut off rather than sent as a splice of two versions. Every
// command has a deadline and is killed at it, and a session runs a few at a time: no
// one's files can hold up the node (sandbox-commands.ts). A selection walked for a zip
// is home-tree.ts's; paths and find's records are home-paths.ts's.
import type { ChildProcess } from 'node:child_process';
import { closeSync, read as fsRead } from 'node:fs';
import { Readable } from 'node:stream';
import { MAX_LISTED_ENTRIES, SessionFileError, type FileEntry, type FileListing } from '../../shared/protocol/index.js';
import { SANDBOX_HOME } from './sandbox.js';
import { busy, SandboxCommands } from './sandbox-commands.js';
import { SandboxExec, type SandboxExecOptions } from './sandbox-exec.js';
import { FORMAT, failure, homePath, insideHome, outside, parseRecords, quoted, type HomeFile, type Stat } from './home-paths.js';
import { walkSelection, type HomeSelection } from './home-tree.js';
import { openFileOf } from './open-file-of.js';

export { homePath, insideHome, parseRecords, type HomeFile, type Stat } from './home-paths.js';
export type { HomeSelection, SelectedEntry } from './home-tree.js';

/** A read that gives no byte for this long while its reader waits for one is given up. */
const STALL_MS = 30_000;
/** dd's block when reading a file out, and the node's once it reads it itself (1 MiB: a 64 KiB block cost dd sixteen times the system calls). */
const READ_BLOCK = 1024 * 1024;

export type HomeFilesOptions = SandboxExecOptions;

export class HomeFiles {
  private readonly commands: SandboxCommands;

  constructor(options: HomeFilesOptions) {
    this.commands = new SandboxCommands(new SandboxExec(options));
  }

  /** The folder at `path` ('' for the home): its first MAX_LISTED_ENTRIES entries, sorted by name. */
  list(path: string): Promise<FileListing> {
    const { arg, relative } = homePath(path);
    return this.commands.slot(async () => {
      const real = arg === '.' ? SANDBOX_HOME : await this.resolve(arg, relative);
      // The folder itself first (depth 0), then what is in it.
      const ran = await this.commands.run(['/usr/bin/find', real, '-maxdepth', '1', '-printf', FORMAT], MAX_LISTED_ENTRIES + 1);
      const [self, ...rest] = parseRecords(ran.stdout);
      if (!self || self.depth !== 0) throw failure(ran.stderr, relative);
      if (self.kind !== 'folder') throw new SessionFileError('not_a_folder', `${quoted(relative)} is a file, not a folder.`);
      const entries = rest
        .filter((entry) => entry.depth === 1)
        .slice(0, MAX_LISTED_ENTRIES)
        .map(({ name, kind, size, modifiedAt }): FileEntry => ({ name, kind, size, modifiedAt }))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      return { path: relative, entries, truncated: ran.cut };
    });
  }

  /** The regular file at `path`, to read; refused (SessionFileError) for anything else. */
  file(path: string): Promise<HomeFile> {
    const { arg, relative } = homePath(path);
    if (arg === '.') return Promise.reject(new SessionFileError('not_a_file', 'That is your home folder itself; name a file in it.'));
    return this.commands.slot(async () => {
      const real = await this.resolve(arg, relative);
      const stat = await this.stat(real, relative);
      if (stat.kind === 'folder') throw new SessionFileError('not_a_file', `${quoted(relative)} is a folder; download the files in it one by one.`);
      if (stat.kind !== 'file') throw new SessionFileError('not_a_file', `${quoted(relative)} is not a regular file (a pipe, a socket or a device); only files can be downloaded.`);
      return this.opened(real, relative, stat);
    });
  }

  /** The files and folders under `paths`, walked for a zip (home-tree.ts); refused past `maxEntries`. */
  selection(paths: readonly string[], maxEntries: number): Promise<HomeSelection> {
    return this.commands.slot(() =>
      walkSelection(
        {
          run: (command, records) => this.commands.run(command, records),
          resolve: (arg, relative) => this.resolve(arg, relative),
          open: (real, relative, stat) => this.opened(real, relative, stat),
        },
        paths,
        maxEntries,
      ),
    );
  }

  /** The file at `real`, as `stat` saw it, to read. */
  private opened(real: string, relative: string, stat: Stat): HomeFile {
    const name = relative.slice(relative.lastIndexOf('/') + 1);
    return { name, size: stat.size, modifiedAt: stat.modifiedAt, version: stat.version, read: (offset, length) => this.read(real, relative, stat, offset, length) };
  }

  /**
   * Where `arg` leads in the sandbox (every link followed); refused when that is outside
   * the home — a link to something that is not there too (-m: resolved as far as it
   * goes), so a link to a host path says it leaves the home, not that it is missing.
   */
  private async resolve(arg: string, relative: string): Promise<string> {
    const ran = await this.commands.run(['/usr/bin/realpath', '-m', '-z', '--', arg]);
    const end = ran.stdout.indexOf(0);
    if (ran.code !== 0 || end < 0) throw failure(ran.stderr, relative);
    const real = ran.stdout.subarray(0, end).toString('utf8');
    if (!insideHome(real)) throw outside();
    return real;
  }

  private async stat(real: string, relative: string): Promise<Stat> {
    const ran = await this.commands.run(['/usr/bin/find', real, '-maxdepth', '0', '-printf', FORMAT], 1);
    const [stat] = parseRecords(ran.stdout);
    if (!stat) throw failure(ran.stderr, relative);
    return stat;
  }

  /**
   * dd from `offset`, `length` bytes. Once dd has the file open, the node takes it over
   * (open-file-of.ts: the same inode, through /proc) and reads the rest itself, a MiB at
   * a time off its event loop; where it cannot, it reads dd's pipe. The last block is
   * held back until the file has been seen unchanged after the read (same size, time
   * and inode): a reader never gets a complete-looking file made of two versions.
   */
  private read(real: string, relative: string, stat: Stat, offset: number, length: number): Readable {
    let child: ChildProcess | null = null;
    let held: Buffer | null = null;
    let got = 0;
    let stderr = '';
    let wanted = true;
    let lastAt = Date.now();
    let released = false;
    /** The node has taken the file over from dd (and reads it itself from then on). */
    let tookOver = false;
    /** Wakes the direct reader when the stream wants more. */
    let wake: (() => void) | null = null;
    const release = () => {
      if (!released) this.commands.release();
      released = true;
      clearInterval(stall);
    };
    const out = new Readable({
      highWaterMark: 4 * READ_BLOCK,
      read() {
        if (!wanted) lastAt = Date.now();
        wanted = true;
        if (wake) wake();
        else child?.stdout?.resume();
      },
      destroy(error, callback) {
        release();
        // A direct reader waiting for demand goes on to see the end (and close its file).
        wake?.();
        if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        callback(error);
      },
    });
    const stall = setInterval(() => {
      if (wanted && Date.now() - lastAt > STALL_MS) out.destroy(new SessionFileError('timeout', `Reading ${quoted(relative)} stalled for ${STALL_MS / 1000} seconds (the session's disk may be very busy); try again.`));
    }, 1000);
    stall.unref();
    if (!this.commands.take()) {
      released = true;
      clearInterval(stall);
      process.nextTick(() => out.destroy(busy()));
      return out;
    }
    const finish = async () => {
      if (out.destroyed) return;
      let now: Stat | null = null;
      try {
        now = await this.stat(real, relative);
      } catch {
        /* gone: changed */
      }
      if (out.destroyed) return;
      if (got !== length || now?.version !== stat.version) return void out.destroy(new SessionFileError('changed', `${quoted(relative)} changed while it was read; download it again.`));
      if (held) out.push(held);
      out.push(null);
      release();
    };
    /** One more block read: the one before goes out (the last is held back for finish). */
    const take = (chunk: Buffer): boolean => {
      got += chunk.length;
      lastAt = Date.now();
      const previous = held;
      held = chunk;
      if (previous && !out.push(previous)) wanted = false;
      return wanted;
    };
    const readDirect = async (fd: number) => {
      try {
        while (got < length && !out.destroyed) {
          if (!wanted) await new Promise<void>((resolve) => (wake = resolve));
          wake = null;
          if (out.destroyed) return;
          const block = Buffer.allocUnsafe(Math.min(READ_BLOCK, length - got));
          const { bytesRead } = await new Promise<{ bytesRead: number }>((resolve, reject) => fsRead(fd, block, 0, block.length, offset + got, (error, bytesRead) => (error ? reject(error) : resolve({ bytesRead }))));
          if (bytesRead === 0) break; // shorter now: finish says it changed
          take(block.subarray(0, bytesRead));
        }
        void finish();
      } catch (error) {
        out.destroy(error as Error);
      } finally {
        // Closed here, never under a read in flight (its number could be another file's by then).
        closeSync(fd);
      }
    };
    if (length === 0) {
      void finish();
      return out;
    }
    try {
      child = this.commands.start([
        '/usr/bin/dd',
        `if=${real}`,
        `bs=${READ_BLOCK}`,
        // nofollow and nonblock: what is read is the file resolved above, never a link or pipe swapped in since.
        'iflag=skip_bytes,count_bytes,nofollow,nonblock',
        `skip=${offset}`,
        `count=${length}`,
        'status=none',
      ]);
    } catch (error) {
      process.nextTick(() => out.destroy(error as Error));
      return out;
    }
    const reading = child;
    reading.stdout!.on('data', (chunk: Buffer) => {
      if (tookOver) return; // dd's last bytes, after the node took over: read again from the file
      // dd has the file open (it read this from it), and is held writing the rest: the node takes it over if it can.
      const direct = got === 0 && reading.pid !== undefined ? openFileOf(reading.pid, 0, stat.version) : null;
      if (direct !== null) {
        tookOver = true;
        reading.stdout!.destroy();
        reading.kill('SIGKILL');
        take(chunk);
        void readDirect(direct);
        return;
      }
      if (!take(chunk)) reading.stdout!.pause();
    });
    reading.stderr!.on('data', (chunk: Buffer) => {
      if (stderr.length < 4096) stderr += chunk.toString('utf8');
    });
    reading.on('error', (error) => out.destroy(error));
    reading.on('close', (code) => {
      if (out.destroyed || tookOver) return;
      if (code !== 0) {
        const refused = /Permission denied/.test(stderr);
        return void out.destroy(refused ? failure(stderr, relative) : new SessionFileError('changed', `${quoted(relative)} changed while it was read; download it again.`));
      }
      void finish();
    });
    return out;
  }
}
