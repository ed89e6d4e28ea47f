// How a terminal app's keystrokes come back (docs/protocol.md#sessionecho), from its
// PTY's termios: node cannot call tcgetattr, so a small C helper beside the node
// (termios-watch/holdfast-termios-watch.c, built to dist/broker/) gets the PTY's master
// on fd 3 and prints each new mode as a line. The node nudges it (a byte on its stdin)
// when it reads the app's output, so it looks as a prompt leaves; on its own it looks
// ten times a second. Without the helper (not built) or when it fails there is no mode:
// clients then never predict, and the session works as before.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EchoMode } from '../../shared/protocol/index.js';

/** Nudges at most this often (ms): a flood of output wakes the helper ~500 times a second, not once per read. */
export const NUDGE_MS = 2;
/** A line longer than this is not the helper's: it is stopped. */
const MAX_LINE = 16;
const NUDGE = Buffer.from('.');

/** The built helper (dist/broker/holdfast-termios-watch, beside the CLI bundle), or null when it was not built. */
export function termiosWatchHelper(): string | null {
  for (const candidate of ['./holdfast-termios-watch', '../../dist/broker/holdfast-termios-watch']) {
    const path = fileURLToPath(new URL(candidate, import.meta.url));
    if (existsSync(path)) return path;
  }
  return null;
}

export interface TermiosWatchOptions {
  /** The helper's path (termiosWatchHelper()). */
  helper: string;
  /** The app's PTY master (node-pty's fd): the helper gets a copy as its fd 3. */
  terminalFd: number;
  /** The mode, at first and whenever it changes. */
  onMode: (mode: EchoMode) => void;
  /** The helper failed (could not start, said something else, ended in an error): no more modes. */
  onFailure: (message: string) => void;
}

export class TermiosWatch {
  private child: ChildProcess | null;
  private current: EchoMode | null = null;
  private pending = '';
  private lastNudgeAt = -Infinity;
  private nudgeTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: TermiosWatchOptions) {
    const child = spawn(options.helper, [], { stdio: ['pipe', 'pipe', 'ignore', options.terminalFd] });
    this.child = child;
    child.on('error', (error) => this.fail(`the termios watcher could not run: ${error.message}`));
    // A nudge written as the helper ends (the app went): nothing to tell.
    child.stdin!.on('error', () => {});
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (text: string) => this.read(text));
    child.on('exit', (code, signal) => {
      if (this.child !== child) return;
      this.child = null;
      clearTimeout(this.nudgeTimer);
      // 0: the app's terminal closed (the app is gone). Else it broke: say so.
      if (code !== 0) this.options.onFailure(`the termios watcher ended (${signal ?? `exit code ${code}`})`);
    });
  }

  /** The mode the helper last told; null before it told one, or once it failed. */
  get mode(): EchoMode | null {
    return this.current;
  }

  /**
   * The node read the app's output: the helper looks now (a prompt that turned echo
   * off did so before printing). At most one nudge per NUDGE_MS; one in that time is
   * sent at its end, so the last output always gets its look.
   */
  outputSeen(): void {
    if (!this.child || this.nudgeTimer !== undefined) return;
    const wait = this.lastNudgeAt + NUDGE_MS - performance.now();
    if (wait <= 0) return this.nudge();
    this.nudgeTimer = setTimeout(() => {
      this.nudgeTimer = undefined;
      this.nudge();
    }, wait);
  }

  /** Stops the helper (closing its stdin ends it; the kill is for one that hangs). */
  close(): void {
    const child = this.child;
    this.child = null;
    clearTimeout(this.nudgeTimer);
    this.nudgeTimer = undefined;
    if (!child) return;
    child.stdin?.end();
    child.kill('SIGKILL');
  }

  private nudge(): void {
    this.lastNudgeAt = performance.now();
    const stdin = this.child?.stdin;
    // One still queued (the helper is behind): it will look when it reads that one.
    if (stdin && stdin.writableLength === 0) stdin.write(NUDGE);
  }

  private read(text: string): void {
    this.pending += text;
    for (let end = this.pending.indexOf('\n'); end >= 0; end = this.pending.indexOf('\n')) {
      const line = this.pending.slice(0, end);
      this.pending = this.pending.slice(end + 1);
      const mode = EchoMode.safeParse(line);
      if (!mode.success) return this.fail(`the termios watcher said ${JSON.stringify(line.slice(0, MAX_LINE))}, not a mode`);
      if (mode.data === this.current) continue;
      this.current = mode.data;
      this.options.onMode(mode.data);
    }
    if (this.pending.length > MAX_LINE) this.fail('the termios watcher said something that is not a mode');
  }

  private fail(message: string): void {
    if (!this.child) return;
    this.close();
    this.current = null;
    this.options.onFailure(message);
  }
}
