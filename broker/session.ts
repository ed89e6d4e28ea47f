// A running session on this node: one app, its owner, and at most one attached
// client. Keeps the numbering the resume protocol rests on — inputs applied once each,
// in order; output offsets — and turns output acks into flow control. A session
// outlives its client for the hold time, and any client holding its resume token (or
// its signed-in owner) can attach again; the newer client wins.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { OUTPUT_HEADER, encodeOutput, writeOutputHeader } from '../shared/protocol/index.js';
import type { AppConfig, SandboxProfile } from './config/schema.js';
import { AppProcess, type AppExit } from './host/app-process.js';
import type { Screens } from './host/screens.js';

export interface SessionPeer {
  /** `drained`, if given, is called once the frame has been written to the socket. */
  sendBinary(frame: Uint8Array, drained?: () => void): void;
  readonly bufferedAmount: number;
  /** The session ended; `message` says why, for people. */
  ended(exit: AppExit | null, message: string): void;
  /** Another client attached: this one is no longer the session's. */
  displaced(): void;
}

export interface SessionOptions {
  owner: string;
  app: AppConfig;
  profile: SandboxProfile;
  stateDir: string;
  cols: number;
  rows: number;
  window: number;
  holdSeconds: number;
  screens: Screens;
  onEnd: (session: Session, message: string) => void;
}

export interface ResumePoint {
  snapshot: string;
  outputOffset: number;
  inputAck: number;
  cols: number;
  rows: number;
}

/** Exits this soon after launch, before any input, mean the app could not really start. */
const EARLY_EXIT_MS = 1500;
/** An input that produces no output is still acknowledged within this. */
const LONE_ACK_MS = 30;
/** Output the screen worker may lag behind before the app is held back (bursts run ahead). */
const SCREEN_BACKLOG = 64 * 1024 * 1024;
/** How long streaming output is gathered into one frame. */
const BATCH_MS = 2;
/** Largest OUTPUT frame payload: far below any client's maxPayload. */
const MAX_FRAME_PAYLOAD = 256 * 1024;

export class Session {
  /** Unguessable, but never the only proof: the resume token or the owner's sign-in is. */
  readonly id = randomBytes(16).toString('base64url');
  readonly resumeToken = randomBytes(24).toString('base64url');
  readonly owner: string;
  readonly app: AppConfig;
  readonly startedAt = Date.now();
  private readonly process: AppProcess;
  private readonly options: SessionOptions;
  private peer: SessionPeer | null = null;
  private inputSeq = 0;
  private sent = 0;
  private acked = 0;
  private loneAck: NodeJS.Timeout | undefined;
  private holdTimer: NodeJS.Timeout | undefined;
  private snapshotting = 0;
  private outChunks: Buffer[] = [];
  private outBytes = 0;
  private flushScheduled = false;
  private lastFlush = -Infinity;
  private inputSinceFlush = false;
  holdExpiresAt: number | null = null;
  cols: number;
  rows: number;
  endMessage: string | null = null;

  constructor(options: SessionOptions) {
    this.options = options;
    this.owner = options.owner;
    this.app = options.app;
    this.cols = options.cols;
    this.rows = options.rows;
    options.screens.open(this.id, options.cols, options.rows);
    options.screens.onProgress(this.id, () => this.maybeRelease());
    this.process = new AppProcess({
      app: options.app,
      profile: options.profile,
      stateDir: options.stateDir,
      cols: options.cols,
      rows: options.rows,
      onOutput: (data) => this.output(data),
      onExit: (exit) => this.finish(exit, this.describeExit(exit)),
    });
  }

  get pid(): number {
    return this.process.pid;
  }

  get attached(): boolean {
    return this.peer !== null;
  }


  /** Makes `peer` the session's client (displacing any other) from the current output offset. */
  attach(peer: SessionPeer): void {
    const previous = this.peer;
    this.peer = peer;
    if (previous && previous !== peer) previous.displaced();
    clearTimeout(this.holdTimer);
    this.holdExpiresAt = null;
    this.acked = this.sent;
    this.maybeRelease();
  }

  /**
   * Everything a resuming client needs, consistent with one output offset: output is
   * held while the snapshot is taken, and the caller attaches before releasing it.
   */
  async resumePoint(cols: number, rows: number): Promise<ResumePoint> {
    this.snapshotting += 1;
    this.process.hold();
    try {
      if (cols !== this.cols || rows !== this.rows) this.resize(cols, rows);
      this.flushOutput();
      const snapshot = await this.options.screens.snapshot(this.id);
      return { snapshot: snapshot?.data ?? '', outputOffset: this.sent, inputAck: this.inputSeq, cols: this.cols, rows: this.rows };
    } finally {
      this.snapshotting -= 1;
    }
  }

  /** The connection went away: keep the app running for the hold time. */
  detach(peer: SessionPeer): void {
    if (this.peer !== peer || this.endMessage !== null) return;
    this.peer = null;
    const hold = this.options.holdSeconds;
    this.holdExpiresAt = Date.now() + hold * 1000;
    this.holdTimer = setTimeout(() => this.end(`Your session ended: no client reconnected within ${formatDuration(hold)} (the hold time).`), hold * 1000);
    this.holdTimer.unref();
    // Nobody is reading now; the app runs on and only the screen keeps up with it.
    this.maybeRelease();
  }

  /** Applies input `seq` exactly once; returns an error text for out-of-order input. */
  input(seq: number, data: Uint8Array): string | null {
    if (seq <= this.inputSeq) return null; // a duplicate, resent after a reconnect: already applied
    if (seq !== this.inputSeq + 1) return `input ${seq} arrived before input ${this.inputSeq + 1}`;
    this.inputSeq = seq;
    this.inputSinceFlush = true;
    this.process.write(data);
    this.loneAck ??= setTimeout(() => {
      this.loneAck = undefined;
      if (this.outBytes === 0) this.peer?.sendBinary(encodeOutput(this.inputSeq, this.sent, EMPTY));
    }, LONE_ACK_MS);
    return null;
  }

  outputAck(offset: number): string | null {
    if (offset > this.sent) return `acknowledged output offset ${offset} beyond what was sent (${this.sent})`;
    if (offset > this.acked) this.acked = offset;
    this.maybeRelease();
    return null;
  }

  resize(cols: number, rows: number): void {
    this.cols = cols;
    this.rows = rows;
    this.process.resize(cols, rows);
    this.options.screens.resize(this.id, cols, rows);
  }

  /** Ends the session on purpose (the person, the hold timer, or the node stopping). */
  end(message: string): void {
    if (this.endMessage !== null) return;
    this.finish(null, message);
    this.process.kill();
  }

  /**
   * A PTY read yields at most 4 KiB (the kernel's line-discipline buffer), so a busy
   * app produces tens of thousands of reads a second, each in its own turn of the
   * event loop. Output after a quiet spell (a keystroke's echo) goes out right after
   * the I/O phase; output that follows a frame sent under BATCH_MS ago is a stream,
   * and is gathered for BATCH_MS into one frame (up to 256 KiB) — one frame, one
   * socket write and one client-side write instead of dozens.
   */
  private output(data: Buffer): void {
    this.options.screens.write(this.id, data);
    this.outChunks.push(data);
    this.outBytes += data.length;
    if (this.outBytes >= MAX_FRAME_PAYLOAD) this.flushOutput();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      const streaming = !this.inputSinceFlush && performance.now() - this.lastFlush < BATCH_MS;
      if (streaming) setTimeout(this.flushOutput, BATCH_MS);
      else setImmediate(this.flushOutput);
    }
    const peer = this.peer;
    const inFlight = this.sent + this.outBytes - this.acked;
    if ((peer && (inFlight > this.options.window || peer.bufferedAmount > this.options.window)) || this.options.screens.backlog(this.id) > SCREEN_BACKLOG) {
      this.process.hold();
    }
  }

  private readonly flushOutput = (): void => {
    this.flushScheduled = false;
    if (this.outBytes === 0) return;
    this.lastFlush = performance.now();
    this.inputSinceFlush = false;
    const frame = Buffer.allocUnsafe(OUTPUT_HEADER + this.outBytes);
    writeOutputHeader(frame, this.inputSeq, this.sent);
    let at = OUTPUT_HEADER;
    for (const chunk of this.outChunks) at += chunk.copy(frame, at);
    this.sent += this.outBytes;
    this.outChunks = [];
    this.outBytes = 0;
    clearTimeout(this.loneAck);
    this.loneAck = undefined;
    const peer = this.peer;
    if (!peer) {
      this.acked = this.sent;
      return;
    }
    // Only a socket that is backing up needs to report when it drains.
    const congested = peer.bufferedAmount > this.options.window / 4;
    peer.sendBinary(frame, congested ? () => this.maybeRelease() : undefined);
  };

  private maybeRelease(): void {
    if (this.snapshotting > 0) return;
    const half = this.options.window / 2;
    const peer = this.peer;
    if (peer && (this.sent - this.acked > half || peer.bufferedAmount > half)) return;
    if (this.options.screens.backlog(this.id) > SCREEN_BACKLOG / 2) return;
    this.process.release();
  }

  private finish(exit: AppExit | null, message: string): void {
    if (this.endMessage !== null) return;
    this.flushOutput();
    this.endMessage = message;
    clearTimeout(this.holdTimer);
    clearTimeout(this.loneAck);
    this.holdExpiresAt = null;
    this.options.screens.close(this.id);
    const peer = this.peer;
    this.peer = null;
    peer?.ended(exit, message);
    this.options.onEnd(this, message);
  }

  private describeExit(exit: AppExit): string {
    const name = this.app.name;
    if (exit.signal) return `${name} was stopped by signal ${exit.signal}.`;
    if (exit.exitCode === 0) return `${name} exited.`;
    if (this.inputSeq === 0 && Date.now() - this.startedAt < EARLY_EXIT_MS) {
      return `${name} stopped right after it started (exit code ${exit.exitCode}). Its last output is shown; if it says the command was not found, ask your administrator to check the app's command.`;
    }
    return `${name} exited with code ${exit.exitCode}.`;
  }
}

const EMPTY = new Uint8Array(0);

/** Constant-time comparison of a presented token with the real one. */
export function tokensEqual(presented: string, actual: string): boolean {
  const a = Buffer.from(presented);
  const b = Buffer.from(actual);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function formatDuration(seconds: number): string {
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}
