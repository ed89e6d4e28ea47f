// The commands that read a session's home (home-files.ts, home-tree.ts), run in its
// sandbox's view by sandbox-exec.ts: each with a deadline (killed at it) and bounded
// output, and a few at a time per session (slots) — no one's files can hold up the node.
import type { ChildProcess } from 'node:child_process';
import { SessionFileError } from '../../shared/protocol/index.js';
import type { SandboxExec } from './sandbox-exec.js';

/** A listing, a link's resolution or a file's stat must be done by then; the command is killed at it. */
export const COMMAND_MS = 10_000;
/** File commands one session may run at once (a read counts while its bytes flow). */
export const AT_ONCE = 4;
/** Most a command's output is kept (a listing of 10 000 names of 255 bytes is ~3 MiB). */
const MAX_OUTPUT = 16 * 1024 * 1024;

export interface Ran {
  code: number | null;
  stdout: Buffer;
  stderr: string;
  /** Output was cut at the records or bytes asked for. */
  cut: boolean;
}

export class SandboxCommands {
  private running = 0;

  constructor(private readonly exec: SandboxExec) {}

  /** Runs `work` in one of the session's slots, or refuses when all are taken. */
  async slot<T>(work: () => Promise<T>): Promise<T> {
    if (!this.take()) throw busy();
    try {
      return await work();
    } finally {
      this.release();
    }
  }

  /** Takes a slot for work that outlives one call (a read while its bytes flow); false when all are taken. */
  take(): boolean {
    if (this.running >= AT_ONCE) return false;
    this.running++;
    return true;
  }

  release(): void {
    this.running--;
  }

  /** Runs `command` in the sandbox; keeps at most `records` NUL-terminated records of its output. */
  run(command: string[], records?: number): Promise<Ran> {
    const child = this.exec.spawn(command);
    return new Promise((resolve, reject) => {
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

  /** Starts `command` in the sandbox, its output left to the caller (a read). */
  start(command: string[]): ChildProcess {
    return this.exec.spawn(command);
  }
}

export const busy = () => new SessionFileError('busy', `This session is already reading ${AT_ONCE} files or folders; try again when one has finished.`);
