// Uploads into a session's home (docs/operations.md, "Uploads"). An upload is part of
// the session's log: every replica applies the same operations — begin, chunk, end,
// abort — at the same point among the person's input, so every replica's home gets the
// same file and a standby that takes over has it. Each replica writes through a command in its
// sandbox's view (sandbox-exec.ts), as the sandbox's user: a link in the home leads
// where it leads in the sandbox, never onto the host. Bytes go to a hidden spool file
// in ~/.cache (left out of the replicas' files digest: a half-written upload is not a
// difference), created exclusively and never through a link; at the end it is renamed
// into place in one step, so the app never sees half a file under the real name.
import { createHash, type Hash } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { SessionFileError } from '../../shared/protocol/index.js';
import { homePath } from './home-paths.js';
import { SANDBOX_HOME } from './sandbox.js';
import { SandboxCommands } from './sandbox-commands.js';
import type { SandboxExec } from './sandbox-exec.js';

/** Where an upload's bytes are written until it ends (in ~/.cache: not compared between replicas). */
export const UPLOAD_SPOOL = `${SANDBOX_HOME}/.cache/holdfast/uploads`;
/** Other names tried when the one asked for is taken: "a (1).txt" … "a (99).txt". */
const OTHER_NAMES = 99;

export type UploadStatus = 'receiving' | 'done' | 'failed' | 'aborted';

/** An upload as this replica has applied it. */
export interface UploadState {
  readonly upload: number;
  /** Where it goes, relative to the home. */
  readonly path: string;
  readonly size: number | null;
  /** The client's name for it (a repeated request finds it by this). */
  readonly key: string | null;
  /** Bytes applied (written to the spool file, in order). */
  received: number;
  status: UploadStatus;
  /** Why it failed or was given up, in words for the person. */
  error: string | null;
  /** Of every byte, once done. */
  sha256: string | null;
}

/** Where an upload may go, as the primary found it in its sandbox: the path to log, and room for it. */
export interface UploadTarget {
  /** Relative to the home, the folder's links resolved, the name made unique. */
  path: string;
  /** Bytes free in the home. */
  free: number;
}

interface Writing extends UploadState {
  hash: Hash;
  writer: ChildProcess | null;
  /** The writer's end: its exit code and the start of its stderr. */
  written: Promise<{ code: number | null; stderr: string }>;
}

export class HomeUploads {
  private readonly uploads = new Map<number, Writing>();
  /** Resolving, renaming, removing: each with a deadline (sandbox-commands.ts). */
  private readonly commands: SandboxCommands;

  constructor(private readonly exec: SandboxExec) {
    this.commands = new SandboxCommands(exec);
  }

  /** The upload begun at log index `upload`, as applied here. */
  state(upload: number): UploadState | undefined {
    const found = this.uploads.get(upload);
    if (!found) return undefined;
    const { upload: id, path, size, key, received, status, error, sha256 } = found;
    return { upload: id, path, size, key, received, status, error, sha256 };
  }

  /** Every upload applied here, oldest first. */
  all(): UploadState[] {
    return [...this.uploads.keys()].map((id) => this.state(id)!);
  }

  /** Bytes free in the home now. */
  async free(): Promise<number> {
    const ran = await this.commands.run(['/usr/bin/stat', '-f', '-c', '%a %S', '.']);
    const [blocks, blockSize] = ran.stdout.toString('latin1').trim().split(' ').map(Number);
    return (blocks ?? 0) * (blockSize ?? 0);
  }

  /**
   * Resolves once the upload's writer has taken in what it was given down to `below`
   * bytes (at once when it has, or has gone): the primary reads its client no faster
   * than its own disk takes the bytes, so a slow disk never fills the node's memory.
   */
  drained(id: number, below: number): Promise<void> {
    const stdin = this.uploads.get(id)?.writer?.stdin;
    if (!stdin || stdin.destroyed || stdin.writableLength <= below) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        stdin.off('drain', done);
        stdin.off('close', done);
        resolve();
      };
      stdin.on('drain', done);
      stdin.on('close', done);
    });
  }

  /** Uploads still receiving bytes. */
  get receiving(): number {
    let count = 0;
    for (const upload of this.uploads.values()) if (upload.status === 'receiving') count++;
    return count;
  }

  /**
   * On the primary, before an upload is logged: where `path` (relative to the home, as the
   * person gave it) may go — its folder resolved in the sandbox (refused when its links
   * lead out of the home), and a name not taken ("a (1).txt" when a.txt is) — and the room
   * left in the home.
   */
  async target(path: string): Promise<UploadTarget> {
    const { relative } = homePath(path);
    if (relative === '') throw new SessionFileError('bad_path', 'Name the file to upload (a path in your home folder).');
    const slash = relative.lastIndexOf('/');
    const folder = slash < 0 ? '.' : `./${relative.slice(0, slash)}`;
    const name = relative.slice(slash + 1);
    const taken = new Set([...this.uploads.values()].filter((u) => u.status === 'receiving').map((u) => u.path));
    const candidates = [name, ...Array.from({ length: OTHER_NAMES }, (_, i) => numbered(name, i + 1))];
    // Prints, NUL-separated: where the folder resolves; its kind; free blocks and block size
    // of the nearest folder that exists; then each candidate that is taken.
    const script =
      'real=$(realpath -m -z -- "$1" | tr -d "\\0") || exit 3; printf "%s\\0" "$real"; ' +
      'if [ -d "$real" ]; then printf "dir\\0"; elif [ -e "$real" ] || [ -L "$real" ]; then printf "other\\0"; else printf "missing\\0"; fi; ' +
      'p=$real; while [ ! -d "$p" ] && [ -n "$p" ]; do p=${p%/*}; done; stat -f -c "%a %S" -- "${p:-/}" | tr "\\n" "\\0"; ' +
      'shift; for n; do if [ -e "$real/$n" ] || [ -L "$real/$n" ]; then printf "%s\\0" "$n"; fi; done';
    const ran = await this.commands.run(['/bin/sh', '-c', script, 'sh', folder, ...candidates]);
    const [real, kind, space, ...existing] = ran.stdout.toString('utf8').split('\0');
    if (ran.code !== 0 || !real || !kind || !space) throw new Error(`finding where an upload goes failed: ${ran.stderr.trim().split('\n')[0] ?? 'no message'}`);
    if (real !== SANDBOX_HOME && !real.startsWith(`${SANDBOX_HOME}/`)) throw new SessionFileError('outside_home', 'That folder leads out of your home folder; upload into a folder inside it.');
    if (kind === 'other') throw new SessionFileError('not_a_folder', `${JSON.stringify(relative.slice(0, slash))} is a file, not a folder; upload somewhere else.`);
    const [blocks, blockSize] = space.split(' ').map(Number);
    const free = (blocks ?? 0) * (blockSize ?? 0);
    const used = new Set(existing);
    const base = real === SANDBOX_HOME ? '' : `${real.slice(SANDBOX_HOME.length + 1)}/`;
    const chosen = candidates.find((candidate) => !used.has(candidate) && !taken.has(base + candidate));
    if (!chosen) throw new SessionFileError('busy', `${JSON.stringify(name)} and ${OTHER_NAMES} numbered copies of it are already in that folder; rename some first.`);
    return { path: base + chosen, free };
  }

  /** The session ended: every writer stops (its spool file goes with the session's home). */
  close(): void {
    for (const upload of this.uploads.values()) upload.writer?.kill('SIGKILL');
  }

  /** A new upload, `id` its log index: its writer starts (bytes are written as chunks come). */
  begin(id: number, path: string, size: number | null, key: string | null): void {
    const upload: Writing = { upload: id, path, size, key, received: 0, status: 'receiving', error: null, sha256: null, hash: createHash('sha256'), writer: null, written: Promise.resolve({ code: 0, stderr: '' }) };
    this.uploads.set(id, upload);
    // dd: created exclusively (conv=excl) and never through a link (oflag=nofollow); at
    // the lowest CPU priority, so the session's app (a keystroke's echo) goes first.
    const script = 'umask 022; mkdir -p -- "$1" && exec nice -n 19 dd of="$2" oflag=nofollow conv=excl bs=1M status=none';
    let writer: ChildProcess;
    try {
      writer = this.exec.spawn(['/bin/sh', '-c', script, 'sh', UPLOAD_SPOOL, spoolFile(id)], true);
    } catch (error) {
      return this.fail(upload, error instanceof Error ? error.message : String(error));
    }
    upload.writer = writer;
    let stderr = '';
    writer.stderr!.on('data', (chunk: Buffer) => {
      if (stderr.length < 4096) stderr += chunk.toString('utf8');
    });
    // A writer that died (a full home) closes its pipe: what was still being written is lost, and the upload fails.
    writer.stdin!.on('error', () => {});
    upload.written = new Promise((resolve) => {
      writer.on('error', (error) => resolve({ code: -1, stderr: error.message }));
      writer.on('close', (code) => {
        upload.writer = null;
        if (code !== 0 && upload.status === 'receiving') this.fail(upload, writeFailure(stderr));
        resolve({ code, stderr });
      });
    });
  }

  /** The upload's bytes from `offset`: written once, in order (a resend of what is held is ignored). */
  chunk(id: number, offset: number, data: Uint8Array): void {
    const upload = this.uploads.get(id);
    if (!upload) return;
    if (upload.status !== 'receiving' || offset + data.length <= upload.received) return; // failed, or held already
    if (offset !== upload.received) return this.fail(upload, `bytes from ${upload.received} are missing`);
    if (upload.size !== null && offset + data.length > upload.size) return this.fail(upload, `more than the ${upload.size} bytes announced came`);
    upload.received += data.length;
    upload.hash.update(data);
    upload.writer?.stdin!.write(data);
  }

  /**
   * Every byte is in: the file takes its place (resolves once it has, or has failed). In
   * a lockstep session, `timeUs` (the entry's time) is its modification time and its
   * folder's, as the lockstep shim stamps what an app changes: each replica puts it in
   * place at its own moment, and `ls -l` must show the same on all of them.
   */
  async end(id: number, timeUs?: number): Promise<void> {
    const upload = this.uploads.get(id);
    if (!upload || upload.status !== 'receiving') return;
    upload.writer?.stdin!.end();
    const { code, stderr } = await upload.written;
    if (upload.status !== 'receiving') return;
    if (code !== 0) return this.fail(upload, writeFailure(stderr));
    if (upload.size !== null && upload.received !== upload.size) return this.fail(upload, `${upload.received} of ${upload.size} bytes came`);
    // Into place in one step (mv -T: never into a folder of that name); its folder made first (a folder dropped as a folder).
    const move = 'mkdir -p -- "$(dirname -- "$2")" && mv -T -f -- "$1" "$2" && { [ -z "$3" ] || touch -c -m -d "@$3" -- "$2" "$(dirname -- "$2")"; }';
    try {
      const ran = await this.commands.run(['/bin/sh', '-c', move, 'sh', spoolFile(upload.upload), `./${upload.path}`, timeUs === undefined ? '' : stampOf(timeUs)]);
      if (ran.code !== 0) return this.fail(upload, `it could not be put in place: ${ran.stderr.trim().split('\n').at(-1) ?? 'no message'}`);
    } catch (error) {
      return this.fail(upload, error instanceof Error ? error.message : String(error));
    }
    upload.status = 'done';
    upload.sha256 = upload.hash.digest('hex');
  }

  /** Given up: the writer stops and what it wrote goes. */
  async abort(id: number, reason: string): Promise<void> {
    const upload = this.uploads.get(id);
    if (!upload || upload.status === 'done' || upload.status === 'aborted') return;
    upload.writer?.kill('SIGKILL');
    await upload.written;
    upload.status = 'aborted';
    upload.error ??= reason;
    try {
      await this.commands.run(['/bin/rm', '-f', '--', spoolFile(upload.upload)]);
    } catch {
      /* the sandbox has gone: so has the file */
    }
  }

  private fail(upload: Writing, why: string): void {
    if (upload.status !== 'receiving') return;
    upload.status = 'failed';
    upload.error = why;
    upload.writer?.kill('SIGKILL');
  }
}

/**
 * A time (µs since the epoch) as touch -d reads it, marked as the lockstep shim marks the
 * times it sets (777 ns past the microsecond: lockstep/shim-files.c), so the shim knows it
 * for one it set.
 */
export function stampOf(timeUs: number): string {
  return `${Math.floor(timeUs / 1e6)}.${String(timeUs % 1e6).padStart(6, '0')}777`;
}

/** The spool file of the upload begun at log index `id`. */
export function spoolFile(id: number): string {
  return `${UPLOAD_SPOOL}/upload-${id}.part`;
}

/** "report (2).pdf" for "report.pdf"; ".bashrc (2)" for a dot-file. */
export function numbered(name: string, n: number): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? `${name.slice(0, dot)} (${n})${name.slice(dot)}` : `${name} (${n})`;
}

/** What a writer's failure means, for the person. */
function writeFailure(stderr: string): string {
  if (/No space left on device|Disk quota exceeded/.test(stderr)) return 'your home folder is full';
  if (/File exists/.test(stderr)) return 'another upload is being written under the same spool name';
  return `writing it failed: ${stderr.trim().split('\n')[0] || 'the writer stopped'}`;
}
