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
// one's files can hold up the node.
import { spawn as nodeSpawn, type ChildProcess } from 'node:child_process';
import { Readable } from 'node:stream';
import { MAX_LISTED_ENTRIES, SessionFileError, type FileEntry, type FileListing } from '../../shared/protocol/index.js';
import { SANDBOX_HOME, SANDBOX_UID } from './sandbox.js';
import { findInit, isInitOf } from './sandbox-init.js';

/** A listing, a link's resolution or a file's stat must be done by then; the command is killed at it. */
const COMMAND_MS = 10_000;
/** A read that gives no byte for this long while its reader waits for one is given up. */
const STALL_MS = 30_000;
/** File commands one session may run at once (a read counts while its bytes flow). */
const AT_ONCE = 4;
/** Most a command's output is kept (a listing of 10 000 names of 255 bytes is ~3 MiB). */
const MAX_OUTPUT = 16 * 1024 * 1024;
const MAX_PATH_BYTES = 4096;
const MAX_NAME_BYTES = 255;
/** dd's block: what a read pushes at a time. */
const READ_BLOCK = 64 * 1024;
/** What find prints of an entry: depth, type, size, mtime (s.ns), inode, name; NUL-separated (a name may hold anything but "/" and NUL). */
const FORMAT = '%d\\t%y\\t%s\\t%T@\\t%i\\t%f\\0';
/** The sandbox's init, as /proc shows its command line (exit-marker.ts initScript, sandbox.ts sandboxCommand). */
/** The commands' whole environment: fixed, and in C so their messages can be read. */
const ENV = { PATH: '/usr/bin:/bin', LC_ALL: 'C' };

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

export interface HomeFilesOptions {
  /** The process AppProcess started (the sandbox's launcher, bwrap once it has exec'd); null once it has gone. */
  launcherPid: () => number | null;
  /** Where processes are listed (tests: a made-up one). */
  proc?: string;
  /** The node runs as root: supplementary groups are dropped before entering (else nsenter is enough). */
  root?: boolean;
  spawn?: typeof nodeSpawn;
}

interface Ran {
  code: number | null;
  stdout: Buffer;
  stderr: string;
  /** Output was cut at the records or bytes asked for. */
  cut: boolean;
}

export interface Stat {
  depth: number;
  kind: FileEntry['kind'];
  size: number;
  modifiedAt: number;
  version: string;
  name: string;
}

export class HomeFiles {
  private readonly proc: string;
  private readonly spawn: typeof nodeSpawn;
  private readonly root: boolean;
  private init: number | null = null;
  private running = 0;

  constructor(private readonly options: HomeFilesOptions) {
    this.proc = options.proc ?? '/proc';
    this.spawn = options.spawn ?? nodeSpawn;
    this.root = options.root ?? process.getuid?.() === 0;
  }

  /** The folder at `path` ('' for the home): its first MAX_LISTED_ENTRIES entries, sorted by name. */
  list(path: string): Promise<FileListing> {
    const { arg, relative } = homePath(path);
    return this.slot(async () => {
      const real = arg === '.' ? SANDBOX_HOME : await this.resolve(arg, relative);
      // The folder itself first (depth 0), then what is in it.
      const ran = await this.run(['/usr/bin/find', real, '-maxdepth', '1', '-printf', FORMAT], MAX_LISTED_ENTRIES + 1);
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
    return this.slot(async () => {
      const real = await this.resolve(arg, relative);
      const stat = await this.stat(real, relative);
      if (stat.kind === 'folder') throw new SessionFileError('not_a_file', `${quoted(relative)} is a folder; download the files in it one by one.`);
      if (stat.kind !== 'file') throw new SessionFileError('not_a_file', `${quoted(relative)} is not a regular file (a pipe, a socket or a device); only files can be downloaded.`);
      const name = relative.slice(relative.lastIndexOf('/') + 1);
      return { name, size: stat.size, modifiedAt: stat.modifiedAt, version: stat.version, read: (offset, length) => this.read(real, relative, stat, offset, length) };
    });
  }

  /** Runs `work` in one of the session's slots, or refuses when all are taken. */
  private async slot<T>(work: () => Promise<T>): Promise<T> {
    if (!this.take()) throw busy();
    try {
      return await work();
    } finally {
      this.running--;
    }
  }

  private take(): boolean {
    if (this.running >= AT_ONCE) return false;
    this.running++;
    return true;
  }

  /**
   * Where `arg` leads in the sandbox (every link followed); refused when that is outside
   * the home — a link to something that is not there too (-m: resolved as far as it
   * goes), so a link to a host path says it leaves the home, not that it is missing.
   */
  private async resolve(arg: string, relative: string): Promise<string> {
    const ran = await this.run(['/usr/bin/realpath', '-m', '-z', '--', arg]);
    const end = ran.stdout.indexOf(0);
    if (ran.code !== 0 || end < 0) throw failure(ran.stderr, relative);
    const real = ran.stdout.subarray(0, end).toString('utf8');
    if (!insideHome(real)) throw outside();
    return real;
  }

  private async stat(real: string, relative: string): Promise<Stat> {
    const ran = await this.run(['/usr/bin/find', real, '-maxdepth', '0', '-printf', FORMAT], 1);
    const [stat] = parseRecords(ran.stdout);
    if (!stat) throw failure(ran.stderr, relative);
    return stat;
  }

  /**
   * dd from `offset`, `length` bytes. The last block is held back until the file has
   * been seen unchanged after the read (same size, time and inode): a reader never
   * gets a complete-looking file made of two versions.
   */
  private read(real: string, relative: string, stat: Stat, offset: number, length: number): Readable {
    let child: ChildProcess | null = null;
    let held: Buffer | null = null;
    let got = 0;
    let stderr = '';
    let wanted = true;
    let lastAt = Date.now();
    let released = false;
    const release = () => {
      if (!released) this.running--;
      released = true;
      clearInterval(stall);
    };
    const out = new Readable({
      highWaterMark: 4 * READ_BLOCK,
      read() {
        if (!wanted) lastAt = Date.now();
        wanted = true;
        child?.stdout?.resume();
      },
      destroy(error, callback) {
        release();
        if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        callback(error);
      },
    });
    const stall = setInterval(() => {
      if (wanted && Date.now() - lastAt > STALL_MS) out.destroy(new SessionFileError('timeout', `Reading ${quoted(relative)} stalled for ${STALL_MS / 1000} seconds (the session's disk may be very busy); try again.`));
    }, 1000);
    stall.unref();
    if (!this.take()) {
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
    if (length === 0) {
      void finish();
      return out;
    }
    try {
      child = this.inside(this.initPid(), [
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
      got += chunk.length;
      lastAt = Date.now();
      const previous = held;
      held = chunk;
      if (previous && !out.push(previous)) {
        wanted = false;
        reading.stdout!.pause();
      }
    });
    reading.stderr!.on('data', (chunk: Buffer) => {
      if (stderr.length < 4096) stderr += chunk.toString('utf8');
    });
    reading.on('error', (error) => out.destroy(error));
    reading.on('close', (code) => {
      if (out.destroyed) return;
      if (code !== 0) {
        const refused = /Permission denied/.test(stderr);
        return void out.destroy(refused ? failure(stderr, relative) : new SessionFileError('changed', `${quoted(relative)} changed while it was read; download it again.`));
      }
      void finish();
    });
    return out;
  }

  /** Runs `command` in the sandbox; keeps at most `records` NUL-terminated records of its output. */
  private run(command: string[], records?: number): Promise<Ran> {
    const init = this.initPid();
    return new Promise((resolve, reject) => {
      const child = this.inside(init, command);
      const chunks: Buffer[] = [];
      let size = 0;
      let count = 0;
      let cut = false;
      let full = false;
      let timedOut = false;
      let stderr = '';
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, COMMAND_MS);
      const stop = () => {
        cut = true;
        child.kill('SIGKILL');
      };
      child.stdout!.on('data', (chunk: Buffer) => {
        // Every record asked for is here: anything more means there was more than that.
        if (full) return void (chunk.length > 0 && stop());
        if (records !== undefined) {
          for (let at = chunk.indexOf(0); at >= 0; at = chunk.indexOf(0, at + 1)) {
            if (++count < records) continue;
            full = true;
            chunks.push(chunk.subarray(0, at + 1));
            if (at + 1 < chunk.length) stop();
            return;
          }
        }
        chunks.push(chunk);
        size += chunk.length;
        if (size > MAX_OUTPUT) stop();
      });
      child.stderr!.on('data', (chunk: Buffer) => {
        if (stderr.length < 4096) stderr += chunk.toString('utf8');
      });
      child.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        if (timedOut) return reject(new SessionFileError('timeout', `The session's files did not answer within ${COMMAND_MS / 1000} seconds (its disk may be very busy); try again.`));
        resolve({ code, stdout: Buffer.concat(chunks), stderr, cut });
      });
    });
  }

  /** Starts `command` as the sandbox's user, in its user and mount namespaces, at its home. */
  private inside(init: number, command: string[]): ChildProcess {
    const enter = ['nsenter', '-t', String(init), '-U', '-m', '-S', String(SANDBOX_UID), '-G', String(SANDBOX_UID), `--wdns=${SANDBOX_HOME}`, '--', ...command];
    // As root, the node's supplementary groups go first: inside they would still count for files of those groups.
    const argv = this.root ? ['setpriv', '--clear-groups', '--', ...enter] : enter;
    return this.spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: ENV });
  }

  /** The sandbox's init (found once, checked on every use: a pid can be reused). */
  private initPid(): number {
    const launcher = this.options.launcherPid();
    if (launcher === null) throw new SessionFileError('not_ready', 'The session has ended; its files are gone with it.');
    if (this.init !== null && isInitOf(this.proc, this.init, launcher)) return this.init;
    this.init = findInit(this.proc, launcher);
    if (this.init === null) throw new SessionFileError('not_ready', 'The session is still starting; try again in a moment.');
    return this.init;
  }
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
function failure(stderr: string, relative: string): Error {
  const name = quoted(relative);
  if (/No such file or directory|Not a directory/.test(stderr)) return new SessionFileError('no_such_file', `There is no ${name} in your home folder.`);
  if (/Permission denied/.test(stderr)) return new SessionFileError('unreadable', `${name} cannot be read: its permissions do not let the session's own user read it.`);
  if (/Too many levels of symbolic links/.test(stderr)) return new SessionFileError('bad_path', `${name} is a link that leads round in a circle.`);
  if (/File name too long/.test(stderr)) return new SessionFileError('bad_path', `${name} is too long a path.`);
  return new Error(`reading ${JSON.stringify(relative)} in the sandbox failed: ${stderr.trim().split('\n')[0] ?? 'no message'}`);
}

const outside = () => new SessionFileError('outside_home', 'That path leaves your home folder; give a path inside it (relative to it, without "..").');
const busy = () => new SessionFileError('busy', `This session is already reading ${AT_ONCE} files or folders; try again when one has finished.`);

/** A path as people read it in a message: in quotes, its control characters escaped. */
function quoted(relative: string): string {
  return JSON.stringify(relative === '' ? '~' : relative);
}
