// A terminal app's display: the app on a PTY, its output streamed as it comes and fed
// to a headless terminal (the screen worker) for snapshots and hashes.
import { AppProcess } from './app-process.js';
import type { HomeFiles } from './home-files.js';
import type { HomeUploads } from './home-uploads.js';
import type { ProcessClocks } from './lockstep-clock.js';
import { processOptions, type Display, type DisplayOptions } from './display.js';
import { TermiosWatch, termiosWatchHelper } from './termios-watch.js';
import type { EchoMode, Thumbnail } from '../../shared/protocol/index.js';

/**
 * Input is first applied once the app has started: it printed something and then
 * stayed quiet this long (or STARTUP_MAX_MS passed). Every replica waits the same way,
 * so none of them echoes early keystrokes before the app's banner while another
 * echoes them after it: replicas start in step.
 */
const STARTUP_QUIET_MS = 30;
const STARTUP_MAX_MS = 600;

/** What a terminal display takes beyond any display's options. */
export interface TerminalDisplayOptions extends DisplayOptions {
  /** How the app's keystrokes come back changed (once followEcho() was called). */
  onEcho?: (mode: EchoMode) => void;
  log?: (message: string, fields: Record<string, unknown>) => void;
}

/** A node without the built termios watcher says so once, not once per session. */
let toldNoWatcher = false;

export class TerminalDisplay implements Display {
  readonly kind = 'terminal';
  private readonly process: AppProcess;
  private readonly spawnedAt = performance.now();
  private lastOutputAt = 0;
  /** Follows the PTY's termios, on a primary (followEcho); null before, or without the helper. */
  private echoWatch: TermiosWatch | null = null;

  constructor(private readonly options: TerminalDisplayOptions) {
    const { screens, sessionId } = options;
    screens.open(sessionId, options.cols, options.rows);
    screens.onProgress(sessionId, options.onProgress);
    this.process = new AppProcess({
      ...processOptions(options),
      onOutput: (data) => {
        this.lastOutputAt = performance.now();
        // Output leaving is when a password prompt that turned echo off is seen.
        this.echoWatch?.outputSeen();
        screens.write(sessionId, data);
        options.onOutput(data);
      },
      onExit: options.onExit,
    });
  }

  get pid(): number {
    return this.process.pid;
  }

  get sound(): { socket: string; uid: number | null } | null {
    return this.process.soundSocket ? { socket: this.process.soundSocket, uid: this.process.uid } : null;
  }

  ready(): boolean {
    const now = performance.now();
    return (this.lastOutputAt > 0 && now - this.lastOutputAt >= STARTUP_QUIET_MS) || now - this.spawnedAt >= STARTUP_MAX_MS;
  }

  checkInput(): string | null {
    return null;
  }

  write(data: Uint8Array): void {
    this.process.write(data);
  }

  homeDigest(): Promise<string | null> {
    return this.process.homeDigest();
  }

  get clocks(): ProcessClocks | null {
    return this.process.clocks;
  }

  get homeFiles(): HomeFiles {
    return this.process.homeFiles;
  }

  get homeUploads(): HomeUploads {
    return this.process.homeUploads;
  }

  setClock(timeUs: number, inputBytes: number): void {
    // Input is written to the app's terminal as it came.
    this.process.setClock(timeUs, inputBytes);
  }

  resize(cols: number, rows: number): void {
    this.process.resize(cols, rows);
    this.options.screens.resize(this.options.sessionId, cols, rows);
  }

  hold(): void {
    this.process.hold();
  }

  release(): void {
    this.process.release();
  }

  backlog(): number {
    return this.options.screens.backlog(this.options.sessionId);
  }

  async snapshot(): Promise<string> {
    return (await this.options.screens.snapshot(this.options.sessionId))?.data ?? '';
  }

  hash(): Promise<string | null> {
    return this.options.screens.hash(this.options.sessionId);
  }

  async thumbnail(): Promise<Thumbnail | null> {
    const screen = await this.options.screens.text(this.options.sessionId);
    return screen && { kind: 'text', cols: screen.cols, rows: screen.rows, text: screen.data };
  }

  attachViewer(): void {}

  detachViewer(): void {}

  viewerInput(): string | null {
    return 'RFB frames are for graphical sessions; this is a terminal session';
  }

  followEcho(): void {
    const { onEcho, log } = this.options;
    if (this.echoWatch || !onEcho) return;
    const terminalFd = this.process.terminalFd;
    if (terminalFd === null) return;
    const helper = termiosWatchHelper();
    if (!helper) {
      if (!toldNoWatcher) log?.('no termios watcher (dist/broker/holdfast-termios-watch is not built): clients are not told how terminal apps echo', {});
      toldNoWatcher = true;
      return;
    }
    this.echoWatch = new TermiosWatch({ helper, terminalFd, onMode: onEcho, onFailure: (message) => log?.(message, { session: this.options.sessionId }) });
  }

  get echo(): EchoMode | null {
    return this.echoWatch?.mode ?? null;
  }

  kill(): void {
    this.echoWatch?.close();
    this.process.kill();
  }

  close(): void {
    this.echoWatch?.close();
    this.options.screens.close(this.options.sessionId);
  }
}
