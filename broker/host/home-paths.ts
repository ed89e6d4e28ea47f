// Paths in a session's home and what the sandbox's commands say about them
// (home-files.ts, home-tree.ts): a path as a person wrote it → the argument a command
// takes, what counts as inside the home, find's records, and a failed command's
// message in words. Pure: nothing here runs anything.
import type { Readable } from 'node:stream';
import { SessionFileError, type FileEntry } from '../../shared/protocol/index.js';
import { SANDBOX_HOME } from './sandbox.js';

const MAX_PATH_BYTES = 4096;
const MAX_NAME_BYTES = 255;
/** What find prints of an entry: depth, type, size, mtime (s.ns), inode, name (%f; %P for a path below the start); NUL-separated (a name may hold anything but "/" and NUL). */
export const FORMAT = '%d\\t%y\\t%s\\t%T@\\t%i\\t%f\\0';

/** A regular file in the home, as the sandbox saw it when it was asked for. */
export interface HomeFile {
  /** The name it was asked for by (its last path segment). */
  readonly name: string;
  readonly size: number;
  /** ms since the epoch. */
  readonly modifiedAt: number;
  /** Size, modification time (ns) and inode: changes whenever the content may have (an ETag). */
  readonly version: string;
  /** Its bytes from `offset`, `length` of them; the stream errors (SessionFileError) if the file changes meanwhile. */
  read(offset: number, length: number): Readable;
}

/** One of find's records. */
export interface Stat {
  depth: number;
  kind: FileEntry['kind'];
  size: number;
  modifiedAt: number;
  version: string;
  name: string;
}

/**
 * A path as a person wrote it, relative to the home → the argument the commands take
 * (".", or "./a/b": never mistaken for an option) and its normal form ("a/b"; '' for
 * the home). `..` and absolute paths are refused, whatever they would resolve to.
 */
export function homePath(path: string): { arg: string; relative: string } {
  if (path.includes('\0')) throw new SessionFileError('bad_path', 'A path cannot hold a NUL character.');
  if (Buffer.byteLength(path) > MAX_PATH_BYTES) throw new SessionFileError('bad_path', `That path is too long (at most ${MAX_PATH_BYTES} bytes).`);
  if (path.startsWith('/')) throw outside();
  const parts = path.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) throw outside();
  if (parts.some((part) => Buffer.byteLength(part) > MAX_NAME_BYTES)) throw new SessionFileError('bad_path', `A name in that path is too long (at most ${MAX_NAME_BYTES} bytes).`);
  const relative = parts.join('/');
  return { arg: parts.length === 0 ? '.' : `./${relative}`, relative };
}

/** Is a path of the sandbox (every link resolved) the home or in it? */
export function insideHome(real: string): boolean {
  return real === SANDBOX_HOME || real.startsWith(`${SANDBOX_HOME}/`);
}

/** find's NUL-terminated records (FORMAT); a name may hold tabs and newlines. */
export function parseRecords(output: Buffer): Stat[] {
  const stats: Stat[] = [];
  let start = 0;
  for (let end = output.indexOf(0); end >= 0; start = end + 1, end = output.indexOf(0, start)) {
    const record = output.subarray(start, end);
    const fields: string[] = [];
    let at = 0;
    for (let i = 0; i < 5; i++) {
      const tab = record.indexOf(9, at);
      if (tab < 0) break;
      fields.push(record.subarray(at, tab).toString('latin1'));
      at = tab + 1;
    }
    if (fields.length < 5) continue;
    const [depth, type, size, time, inode] = fields as [string, string, string, string, string];
    const kind = type === 'f' ? 'file' : type === 'd' ? 'folder' : type === 'l' ? 'link' : 'other';
    stats.push({
      depth: Number(depth),
      kind,
      size: Number(size),
      modifiedAt: Math.round(Number(time) * 1000),
      version: `${Number(size).toString(36)}-${time.replace('.', '')}-${inode}`,
      name: record.subarray(at).toString('utf8'),
    });
  }
  return stats;
}

/** What a failed command's message means, for the person. */
export function failure(stderr: string, relative: string): Error {
  const name = quoted(relative);
  if (/No such file or directory|Not a directory/.test(stderr)) return new SessionFileError('no_such_file', `There is no ${name} in your home folder.`);
  if (/Permission denied/.test(stderr)) return new SessionFileError('unreadable', `${name} cannot be read: its permissions do not let the session's own user read it.`);
  if (/Too many levels of symbolic links/.test(stderr)) return new SessionFileError('bad_path', `${name} is a link that leads round in a circle.`);
  if (/File name too long/.test(stderr)) return new SessionFileError('bad_path', `${name} is too long a path.`);
  return new Error(`reading ${JSON.stringify(relative)} in the sandbox failed: ${stderr.trim().split('\n')[0] ?? 'no message'}`);
}

export const outside = () => new SessionFileError('outside_home', 'That path leaves your home folder; give a path inside it (relative to it, without "..").');

/** A path as people read it in a message: in quotes, its control characters escaped. */
export function quoted(relative: string): string {
  return JSON.stringify(relative === '' ? '~' : relative);
}
