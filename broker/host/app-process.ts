// One sandboxed app on a PTY. Owns the flow control between the app and its client:
// output is read only while the client has room in its window (bytes sent minus bytes
// it acknowledged), so a client that stops reading holds the app back — it is never
// disconnected and nothing is dropped. The app's end is taken from the exit marker
// its wrapper writes after it (exit-marker.ts), so its last bytes always arrive.
import { mkdirSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import * as pty from 'node-pty';
import type { AppConfig, SandboxProfile } from '../config/schema.js';
import { ExitMarkerFilter } from './exit-marker.js';
import { DISPLAY_SOCKET, GROUP, PASSWD, bwrapArgs } from './sandbox.js';

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
  /** A home that outlives this process (failover: restart keeps it on shared storage); default: a private one, removed at exit. */
  homeDir?: string;
}

/** A held-back partial marker is released after this long if the rest never comes. */
const PARTIAL_MARKER_MS = 20;

export class AppProcess {
  readonly id = randomBytes(9).toString('base64url');
  readonly dir: string;
  /** rfb apps: the host path of the display's RFB socket (appears once Xvnc listens). */
  readonly displaySocket: string | null;
  private readonly term: pty.IPty;
  private readonly marker = new ExitMarkerFilter(randomBytes(12).toString('base64url'));
  private readonly options: AppProcessOptions;
  private flushTimer: NodeJS.Timeout | undefined;
  private held = false;
  private reported = false;
  private gone = false;

  constructor(options: AppProcessOptions) {
    this.options = options;
    this.dir = join(options.stateDir, 'sandboxes', this.id);
    const home = options.homeDir ?? join(this.dir, 'home');
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    mkdirSync(home, { recursive: true, mode: 0o700 });
    writeFileSync(join(this.dir, 'passwd'), PASSWD);
    writeFileSync(join(this.dir, 'group'), GROUP);
    const displayDir = options.app.display === 'rfb' ? join(this.dir, 'display') : undefined;
    if (displayDir) mkdirSync(displayDir, { mode: 0o700 });
    this.displaySocket = displayDir ? join(displayDir, DISPLAY_SOCKET) : null;
    const args = bwrapArgs({
      app: options.app,
      profile: options.profile,
      homeDir: home,
      passwdFile: join(this.dir, 'passwd'),
      groupFile: join(this.dir, 'group'),
      exitNonce: this.marker.nonce,
      ...(displayDir ? { displayDir } : {}),
    });
    const memory = options.profile.maxMemoryMiB * 1024 * 1024;
    // The sandbox must never outlive this process, even when it is killed (kill -9)
    // while the sandbox is still starting — before bwrap's own --die-with-parent takes
    // hold. setpriv arms SIGKILL-on-parent-death first thing (it is kept across the
    // execs that follow), and the shell then checks the parent is still this process,
    // which closes the window before setpriv ran.
    const guard = ['--pdeathsig', 'KILL', '--', '/bin/sh', '-c', 'test "$PPID" = "$0" || exit 111; exec "$@"', String(process.pid)];
    this.term = pty.spawn('setpriv', [...guard, 'prlimit', `--as=${memory}`, '--core=0', '--', 'bwrap', ...args], {
      name: 'xterm-256color',
      cols: options.cols,
      rows: options.rows,
      cwd: this.dir,
      env: { PATH: '/usr/local/bin:/usr/bin:/bin', TERM: 'xterm-256color' },
      encoding: null,
    });
    this.term.onData((data) => this.read(data as unknown as Buffer));
    this.term.onExit(({ exitCode, signal }) => {
      this.gone = true;
      clearTimeout(this.flushTimer);
      const tail = this.marker.flush();
      if (tail.length > 0 && !this.reported) options.onOutput(tail);
      rmSync(this.dir, { recursive: true, force: true });
      // Reached only without a marker: the sandbox was killed, or failed to start.
      this.report({ exitCode, signal: signal ? signal : null });
    });
  }

  get pid(): number {
    return this.term.pid;
  }

  /**
   * Keystrokes go straight to the PTY with one write(2). node-pty queues every write
   * through libuv's thread pool, which costs a thread hand-off on the keystroke path;
   * its queue is used only when the PTY is full (EAGAIN) or already has a backlog, so
   * order is kept.
   */
  write(data: Uint8Array): void {
    if (this.reported) return;
    let bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const internals = this.term as unknown as { fd?: number; _writeStream?: { _writeQueue?: unknown[] } };
    if (typeof internals.fd === 'number' && internals._writeStream?._writeQueue?.length === 0) {
      try {
        const written = writeSync(internals.fd, bytes);
        if (written === bytes.length) return;
        bytes = bytes.subarray(written);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') return;
      }
    }
    this.term.write(bytes as unknown as string);
  }

  resize(cols: number, rows: number): void {
    if (!this.gone) this.term.resize(cols, rows);
  }

  /** Stop reading the app's output (its writes block once the PTY buffer fills). */
  hold(): void {
    if (this.held) return;
    this.held = true;
    this.term.pause();
  }

  release(): void {
    if (!this.held) return;
    this.held = false;
    this.term.resume();
  }

  /** Ends the sandbox: SIGKILL to bwrap takes its whole pid namespace with it. */
  kill(): void {
    if (this.gone) return;
    this.release();
    // The whole process group, not only bwrap: killed while it is still starting (after
    // it cloned the sandbox's init, before that init armed --die-with-parent), bwrap
    // would leave the init running. The init stays in this group, and when a pid
    // namespace's init dies the kernel kills everything else inside it.
    for (const target of [-this.term.pid, this.term.pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }

  private read(chunk: Buffer): void {
    const { output, status } = this.marker.push(chunk);
    if (output.length > 0) this.options.onOutput(output);
    if (status !== null) {
      clearTimeout(this.flushTimer);
      this.report({ exitCode: status, signal: status > 128 ? status - 128 : null });
      this.kill();
      return;
    }
    if (this.marker.pending() > 0 && this.flushTimer === undefined) {
      this.flushTimer = setTimeout(() => {
        this.flushTimer = undefined;
        const tail = this.marker.flush();
        if (tail.length > 0) this.options.onOutput(tail);
      }, PARTIAL_MARKER_MS);
    }
  }

  private report(exit: AppExit): void {
    if (this.reported) return;
    this.reported = true;
    this.options.onExit(exit);
  }
}
