// One sandboxed app on a PTY. Owns the flow control between the app and its client:
// output is read only while the client has room in its window (bytes sent minus bytes
// it acknowledged), so a client that stops reading holds the app back — it is never
// disconnected and nothing is dropped. When the app exits, the PTY is drained to EOF
// before the exit is reported, so the last bytes an app writes always arrive.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import * as pty from 'node-pty';
import type { AppConfig, SandboxProfile } from '../config/schema.js';
import { GROUP, PASSWD, bwrapArgs } from './sandbox.js';

export interface AppExit {
  exitCode: number;
  signal: number | null;
}

export interface AppProcessOptions {
  app: AppConfig;
  profile: SandboxProfile;
  stateDir: string;
  cols: number;
  rows: number;
  onOutput: (data: Buffer) => void;
  onExit: (exit: AppExit) => void;
}

type ReadSocket = { pause(): void; resume(): void; isPaused(): boolean; destroy: (...args: unknown[]) => unknown };

export class AppProcess {
  readonly id = randomBytes(9).toString('base64url');
  readonly dir: string;
  private readonly term: pty.IPty;
  private held = false;
  private exiting = false;
  private exited = false;

  constructor(options: AppProcessOptions) {
    this.dir = join(options.stateDir, 'sandboxes', this.id);
    const home = join(this.dir, 'home');
    mkdirSync(home, { recursive: true, mode: 0o700 });
    writeFileSync(join(this.dir, 'passwd'), PASSWD);
    writeFileSync(join(this.dir, 'group'), GROUP);
    const args = bwrapArgs({
      app: options.app,
      profile: options.profile,
      homeDir: home,
      passwdFile: join(this.dir, 'passwd'),
      groupFile: join(this.dir, 'group'),
    });
    const memory = options.profile.maxMemoryMiB * 1024 * 1024;
    this.term = pty.spawn('prlimit', [`--as=${memory}`, '--core=0', '--', 'bwrap', ...args], {
      name: 'xterm-256color',
      cols: options.cols,
      rows: options.rows,
      cwd: this.dir,
      env: { PATH: '/usr/local/bin:/usr/bin:/bin', TERM: 'xterm-256color' },
      encoding: null,
    });
    this.term.onData((data) => options.onOutput(data as unknown as Buffer));
    this.term.onExit(({ exitCode, signal }) => {
      this.exited = true;
      this.cleanup();
      options.onExit({ exitCode, signal: signal ? signal : null });
    });
    this.keepTailOnExit();
  }

  get pid(): number {
    return this.term.pid;
  }

  write(data: Uint8Array): void {
    if (!this.exited) this.term.write(Buffer.from(data.buffer, data.byteOffset, data.byteLength) as unknown as string);
  }

  resize(cols: number, rows: number): void {
    if (!this.exited) this.term.resize(cols, rows);
  }

  /** Stop reading the app's output (its writes block once the PTY buffer fills). */
  hold(): void {
    if (this.held || this.exiting) return;
    this.held = true;
    this.term.pause();
  }

  release(): void {
    if (!this.held) return;
    this.held = false;
    this.term.resume();
  }

  /** Ends the app: SIGHUP as a terminal hang-up would, then SIGKILL if it lingers. */
  kill(): void {
    if (this.exited) return;
    this.release();
    try {
      this.term.kill('SIGHUP');
    } catch {
      /* already gone */
    }
    setTimeout(() => {
      if (!this.exited) {
        try {
          this.term.kill('SIGKILL');
        } catch {
          /* already gone */
        }
      }
    }, 2000).unref();
  }

  /**
   * node-pty destroys its read stream 200 ms after the child exits if the stream has
   * not closed by then — which it never does while we hold it paused, and the bytes
   * still in the PTY would be lost. Instead, when that happens, resume reading so the
   * stream reaches EOF by itself; the tail is small (the PTY buffer) and is queued by
   * the owner like any other output.
   */
  private keepTailOnExit(): void {
    const socket = (this.term as unknown as { _socket?: ReadSocket })._socket;
    if (!socket) return;
    const destroy = socket.destroy.bind(socket);
    socket.destroy = (...args: unknown[]) => {
      if (!this.exiting && socket.isPaused()) {
        this.exiting = true;
        this.held = false;
        socket.resume();
        return socket;
      }
      return destroy(...args);
    };
  }

  private cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
