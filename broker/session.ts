// One replica of a session on this node: one sandboxed app, its input log and its
// screen. The primary replica has at most one attached client; it keeps the numbering
// the resume protocol rests on — inputs applied once each, in order; output offsets —
// and turns output acks into flow control. Every input (and resize) becomes an entry
// in the session's log; with standbys, an entry is applied only once every voting
// standby holds it (the output rule), and standbys apply entries as they arrive. A
// session outlives its client for the hold time; a standby is promoted when its
// primary dies.
import { randomBytes } from 'node:crypto';
import { OUTPUT_HEADER, encodeOutput, writeOutputHeader } from '../shared/protocol/index.js';
import type { LogEntry } from './cluster/peer-protocol.js';
import type { AppConfig, SandboxProfile } from './config/schema.js';
import type { AppExit } from './host/app-process.js';
import type { Display } from './host/display.js';
import { RfbDisplay } from './host/rfb-display.js';
import type { Screens } from './host/screens.js';
import type { SandboxHost } from './host/sandbox-host.js';
import { TerminalDisplay } from './host/terminal-display.js';

export interface SessionPeer {
  /** `drained`, if given, is called once the frame has been written to the socket. */
  sendBinary(frame: Uint8Array, drained?: () => void): void;
  readonly bufferedAmount: number;
  /** The session ended; `message` says why, for people. */
  ended(exit: AppExit | null, message: string): void;
  /** Another client attached: this one is no longer the session's. */
  displaced(): void;
  /** The session is carried on by another replica: the client should resume (elsewhere). */
  /** `planned`: a drain or an administrator's move (the client may resume at once). */
  moved(planned: boolean): void;
}

/** Where a primary's log entries go; `append` returns true when the entry must wait for acks. */
export interface ReplicationSink {
  append(entry: LogEntry): boolean;
  /** The primary applied these entries (each with the output it followed): standbys follow. */
  applied(entries: LogEntry[]): void;
}

export interface SessionOptions {
  /** Given for a standby (the primary chose them); fresh ones for a new session. */
  id?: string;
  resumeToken?: string;
  startedAt?: number;
  role: 'primary' | 'standby';
  epoch: number;
  owner: string;
  app: AppConfig;
  profile: SandboxProfile;
  stateDir: string;
  sandbox: SandboxHost;
  cols: number;
  rows: number;
  window: number;
  holdSeconds: number;
  screens: Screens;
  /** A home that outlives the app (failover: restart). */
  homeDir?: string;
  /**
   * Keep applied entries' bytes (a replica set needs the whole log to start new
   * standbys). A session that will never have a standby drops them once applied.
   */
  keepLog: boolean;
  /** Input numbering continues after this (a restarted app: the client's earlier inputs went to the old one). */
  inputBase?: number;
  /** False while this node must not act as a primary (its control-plane lease is not valid). */
  mayAct: () => boolean;
  onEnd: (session: Session, message: string, exit: AppExit | null) => void;
  /** Operator-facing warnings (a GUI display that failed). */
  warn: (message: string, fields: Record<string, unknown>) => void;
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

/**
 * A standby applies an entry once its app has produced as much output as the primary's
 * had when the primary applied it (`LogEntry.after`), or after this long at most (an
 * app whose output is not deterministic never gets there).
 */
const REPLAY_MAX_WAIT_MS = 1500;
/** How often input waiting for the app to start (Display.ready) checks again. */
const STARTUP_POLL_MS = 30;
/** How often deferred work is retried while this node may not act (no valid lease). */
const FENCED_RETRY_MS = 50;

export class Session {
  /** Unguessable, but never the only proof: the resume token or the owner's sign-in is. */
  readonly id: string;
  readonly resumeToken: string;
  readonly owner: string;
  readonly app: AppConfig;
  readonly startedAt: number;
  role: 'primary' | 'standby';
  epoch: number;
  /** The whole input log (inputs and resizes), index 1 first. */
  readonly log: LogEntry[] = [];
  replication: ReplicationSink | null = null;
  /** Entries up to here have been written to this replica's app. */
  appliedIndex = 0;
  /**
   * Entries up to here are applied and committed (every voting standby holds them):
   * only their input is acknowledged to the client, and only output read after them
   * may be shown. A primary applies ahead of this (see pump); a standby never does.
   */
  private settledIndex = 0;
  lastOutputAt = 0;
  private readonly display: Display;
  private readonly options: SessionOptions;
  private peer: SessionPeer | null = null;
  /** Highest client input accepted into the log (for order and duplicate checks). */
  private acceptedSeq = 0;
  /** Highest client input applied and committed (settled): what the client is told (inputAck). */
  private inputSeq = 0;
  private commitIndex = 0;
  private pumpTimer: NodeJS.Timeout | undefined;
  /** Since when the next entry has waited for its app's output to catch up. */
  private waitingSince: number | undefined;
  /** The output count that entry waits for: output reaching it applies the entry at once. */
  private waitingFor: number | undefined;
  private fencedTimer: NodeJS.Timeout | undefined;
  private readonly applyWaiters: Array<{ index: number; resolve: () => void }> = [];
  private readonly settleWaiters: Array<{ index: number; resolve: () => void }> = [];
  private started = false;
  private sent = 0;
  private acked = 0;
  private loneAck: NodeJS.Timeout | undefined;
  private holdTimer: NodeJS.Timeout | undefined;
  private snapshotting = 0;
  private outChunks: Buffer[] = [];
  /** For each gathered chunk, the log index its app had been given when it was read. */
  private outAfter: number[] = [];
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
    this.id = options.id ?? randomBytes(16).toString('base64url');
    this.resumeToken = options.resumeToken ?? randomBytes(24).toString('base64url');
    this.startedAt = options.startedAt ?? Date.now();
    this.role = options.role;
    this.epoch = options.epoch;
    this.owner = options.owner;
    this.acceptedSeq = this.inputSeq = options.inputBase ?? 0;
    this.app = options.app;
    this.cols = options.cols;
    this.rows = options.rows;
    const display = {
      sessionId: this.id,
      app: options.app,
      profile: options.profile,
      stateDir: options.stateDir,
      sandbox: options.sandbox,
      homeDir: options.homeDir,
      cols: options.cols,
      rows: options.rows,
      screens: options.screens,
      onOutput: (data: Buffer, room?: boolean) => this.output(data, room),
      onExit: (exit: AppExit) => this.exited(exit),
      onProgress: () => this.maybeRelease(),
    };
    this.display =
      options.app.display === 'rfb'
        ? new RfbDisplay({ ...display, onViewerLost: () => this.dropClient(), log: options.warn })
        : new TerminalDisplay(display);
  }

  /** The size the app was started at (a new standby starts there and replays the resizes). */
  get initialSize(): { cols: number; rows: number } {
    return { cols: this.options.cols, rows: this.options.rows };
  }

  /** Output bytes produced so far (sent or gathered). */
  get outputBytes(): number {
    return this.sent + this.outBytes;
  }

  get pid(): number {
    return this.display.pid;
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
    this.display.attachViewer();
    this.maybeRelease();
  }

  /**
   * Everything a resuming client needs, consistent with one output offset: output is
   * held while the snapshot is taken, and the caller attaches before releasing it.
   */
  async resumePoint(cols: number, rows: number): Promise<ResumePoint> {
    this.snapshotting += 1;
    // A GUI viewer starts a fresh RFB stream: the old one must not run on into it.
    this.display.detachViewer();
    this.display.hold();
    try {
      if (this.display.kind === 'terminal' && (cols !== this.cols || rows !== this.rows)) await this.whenApplied(this.resize(cols, rows));
      // The screen holds all output read so far: it must all be sent before the
      // snapshot, so none of it may still wait for its input's commit.
      while (this.settledIndex < this.appliedIndex && this.endMessage === null) await this.whenSettled(this.appliedIndex);
      this.flushOutput();
      const snapshot = await this.display.snapshot();
      return { snapshot, outputOffset: this.sent, inputAck: this.inputSeq, cols: this.cols, rows: this.rows };
    } finally {
      this.snapshotting -= 1;
    }
  }

  /** The connection went away: keep the app running for the hold time. */
  detach(peer: SessionPeer): void {
    if (this.peer !== peer || this.endMessage !== null) return;
    this.peer = null;
    this.display.detachViewer();
    this.startHold();
  }

  /** Waits for a client for the hold time (after a detach, or a promotion). */
  startHold(): void {
    clearTimeout(this.holdTimer);
    const hold = this.options.holdSeconds;
    this.holdExpiresAt = Date.now() + hold * 1000;
    this.holdTimer = setTimeout(() => this.end(`Your session ended: no client reconnected within ${formatDuration(hold)} (the hold time).`), hold * 1000);
    this.holdTimer.unref();
    // Nobody is reading now; the app runs on and only the screen keeps up with it.
    this.maybeRelease();
  }

  /** The app has started and settled: input may be applied (what the sandbox launch time measures to). */
  get displayReady(): boolean {
    return this.display.ready();
  }

  /** Takes input `seq` exactly once; returns an error text for out-of-order input. */
  input(seq: number, data: Uint8Array): string | null {
    if (seq <= this.acceptedSeq) return null; // a duplicate, resent after a reconnect: already taken
    if (seq !== this.acceptedSeq + 1) return `input ${seq} arrived before input ${this.acceptedSeq + 1}`;
    const problem = this.display.checkInput(data);
    if (problem) return `input ${seq}: ${problem}`;
    this.acceptedSeq = seq;
    // Copied: the caller's buffer is the socket's, and the log keeps entries.
    this.submit({ index: this.log.length + 1, seq, data: Buffer.from(data), cols: 0, rows: 0 });
    return null;
  }

  /** A GUI client's own viewer stream (RFB frames); returns why it is refused, or null. */
  viewer(data: Uint8Array): string | null {
    if (this.role !== 'primary') return 'this replica is not the session\'s primary';
    return this.display.viewerInput(data);
  }

  /** Resizes the app (through the log, like input); returns the entry's index. */
  resize(cols: number, rows: number): number {
    this.cols = cols;
    this.rows = rows;
    return this.submit({ index: this.log.length + 1, seq: 0, data: null, cols, rows });
  }

  /**
   * Appends a primary's entry to the log, sends it to the standbys and applies it at
   * once; what the app answers is shown once the standbys hold the entry (settle).
   */
  private submit(entry: LogEntry): number {
    this.log.push(entry);
    const wait = this.replication?.append(entry) ?? false;
    if (!wait) this.commitThrough(entry.index);
    else this.pump();
    return entry.index;
  }

  /**
   * Entries up to `index` are committed: on a primary, every voting standby holds
   * them; on a standby, the primary applied them (COMMIT), or they come from a replay.
   * A standby applies them now; a primary has, and may now show what they caused.
   */
  commitThrough(index: number): void {
    if (index > this.commitIndex) this.commitIndex = Math.min(index, this.log.length);
    this.pump();
    this.settle();
  }

  /**
   * The output rule, in VMware FT's form: a primary applies an entry before its
   * standbys hold it — the app's answer and the round trip to the standbys overlap —
   * and holds back the output read after it until they do. Until then the client is
   * not told the input was applied, so after a failover it sends it again, and the
   * new primary (which never had it) applies it once. Entries settled here are
   * reported to the standbys (COMMIT), which apply them in step.
   */
  private settle(): void {
    const through = Math.min(this.appliedIndex, this.commitIndex);
    if (through <= this.settledIndex) return;
    const settled = this.log.slice(this.settledIndex, through);
    // Output read after an entry that was not settled: held, and released below.
    const held = this.outAfter.length > 0 && this.outAfter[this.outAfter.length - 1]! > this.settledIndex;
    this.settledIndex = through;
    let typed = false;
    for (const entry of settled) {
      if (entry.seq > this.inputSeq) this.inputSeq = entry.seq;
      if (entry.data) typed = true;
    }
    while (this.settleWaiters.length > 0 && this.settleWaiters[0]!.index <= this.settledIndex) this.settleWaiters.shift()!.resolve();
    if (this.role !== 'primary') return;
    this.replication?.applied(settled);
    if (typed) {
      this.loneAck ??= setTimeout(() => {
        this.loneAck = undefined;
        if (this.outBytes === 0) this.peer?.sendBinary(encodeOutput(this.inputSeq, this.sent, EMPTY));
      }, LONE_ACK_MS);
    }
    if (held) this.flushOutput();
  }

  /**
   * Applies committed entries in order. An entry that carries `after` (the output its
   * app had produced when the primary applied it) waits until this replica's app has
   * produced as much, at most REPLAY_MAX_WAIT_MS: so the app's answers fall between
   * the same keystrokes on every replica, and screens stay equal. A primary's own new
   * entries carry no `after` and go at once.
   */
  private pump(): void {
    // A primary applies what it has logged (settle holds the output back); a standby, what is committed.
    const limit = this.role === 'primary' ? this.log.length : this.commitIndex;
    if (this.pumpTimer !== undefined || this.appliedIndex >= limit || this.endMessage !== null) return;
    const retry = (ms: number) => {
      this.pumpTimer = setTimeout(() => {
        this.pumpTimer = undefined;
        this.pump();
      }, ms);
    };
    if (!this.started) {
      if (!this.display.ready()) return retry(STARTUP_POLL_MS);
      this.started = true;
    }
    // Fenced: this node's lease is not known to be valid. A primary applies nothing until it is.
    if (this.role === 'primary' && !this.options.mayAct()) return retry(FENCED_RETRY_MS);
    let typed = false;
    while (this.appliedIndex < limit) {
      const entry = this.log[this.appliedIndex]!;
      // A GUI app's output is its viewer's stream, which says nothing of the app's progress.
      if (entry.after !== undefined && this.display.kind === 'terminal' && this.outputBytes < entry.after) {
        this.waitingSince ??= performance.now();
        const waited = performance.now() - this.waitingSince;
        if (waited < REPLAY_MAX_WAIT_MS) {
          this.waitingFor = entry.after;
          retry(REPLAY_MAX_WAIT_MS - waited);
          break;
        }
      }
      this.waitingSince = this.waitingFor = undefined;
      this.apply(entry);
      if (entry.data) typed = true;
      if (!this.options.keepLog) entry.data = entry.data ? APPLIED : null;
    }
    if (typed && this.role === 'primary') this.inputSinceFlush = true;
    this.settle();
  }

  private apply(entry: LogEntry): void {
    this.appliedIndex = entry.index;
    entry.after = this.outputBytes;
    if (entry.data) {
      this.display.write(entry.data);
    } else {
      this.display.resize(entry.cols, entry.rows);
      if (this.role === 'standby') {
        this.cols = entry.cols;
        this.rows = entry.rows;
      }
    }
    while (this.applyWaiters.length > 0 && this.applyWaiters[0]!.index <= this.appliedIndex) this.applyWaiters.shift()!.resolve();
  }

  /** Resolves once the entry at `index` is applied and committed here (or the session ended). */
  private whenSettled(index: number): Promise<void> {
    if (index <= this.settledIndex || this.endMessage !== null) return Promise.resolve();
    return new Promise((resolve) => {
      this.settleWaiters.push({ index, resolve });
      this.settleWaiters.sort((a, b) => a.index - b.index);
    });
  }

  /** Resolves once the entry at `index` has been applied here. */
  whenApplied(index: number): Promise<void> {
    if (index <= this.appliedIndex || this.endMessage !== null) return Promise.resolve();
    return new Promise((resolve) => {
      this.applyWaiters.push({ index, resolve });
      this.applyWaiters.sort((a, b) => a.index - b.index);
    });
  }

  /**
   * A standby holds entries from its primary, in order; returns the index it holds
   * (what it acknowledges). They are applied once the primary reports it applied them
   * (`committed`, with the output each followed), or at once when `committed` is true
   * (a replay of the log, which carries those figures already).
   */
  appendFromPrimary(entries: LogEntry[], committed = false): number {
    for (const entry of entries) {
      if (entry.index !== this.log.length + 1) continue; // a resend of what is held already
      this.log.push({ ...entry, data: entry.data ? Buffer.from(entry.data) : null });
      if (entry.seq > this.acceptedSeq) this.acceptedSeq = entry.seq;
    }
    if (committed) this.commitThrough(this.log.length);
    return this.log.length;
  }

  /** The primary applied entries `first`… with these output figures: apply them here, in step. */
  primaryApplied(first: number, after: number[]): void {
    after.forEach((value, i) => {
      const entry = this.log[first - 1 + i];
      if (entry && entry.index > this.appliedIndex) entry.after = value;
    });
    this.commitThrough(first + after.length - 1);
  }

  /** Resolves once this replica has applied every entry it holds now. */
  replayed(): Promise<void> {
    return this.whenApplied(this.log.length);
  }

  /** Entries after `index`, for a standby catching up. */
  entriesAfter(index: number): LogEntry[] {
    return this.log.slice(index);
  }

  /** This standby becomes the primary in `epoch` (its primary died); the client resumes here. */
  promote(epoch: number): void {
    this.role = 'primary';
    this.epoch = epoch;
    this.acceptedSeq = this.log.reduce((max, e) => Math.max(max, e.seq), 0);
    this.commitThrough(this.log.length);
    this.startHold();
  }

  /** The hash of this replica's screen once it has applied every entry it holds. */
  async screenHash(): Promise<{ index: number; hash: string | null }> {
    const index = this.appliedIndex;
    this.flushOutput();
    return { index, hash: await this.display.hash() };
  }

  outputAck(offset: number): string | null {
    if (offset > this.sent) return `acknowledged output offset ${offset} beyond what was sent (${this.sent})`;
    if (offset > this.acked) this.acked = offset;
    this.maybeRelease();
    return null;
  }

  /** The person's client must move elsewhere (this replica was superseded, or moved on purpose): close it without ending. */
  dropClient(planned = false): void {
    const peer = this.peer;
    this.peer = null;
    this.display.detachViewer();
    peer?.moved(planned);
  }

  /** Ends the session on purpose (the person, the hold timer, or the node stopping). */
  end(message: string): void {
    if (this.endMessage !== null) return;
    this.finish(null, message);
    this.display.kill();
  }

  /**
   * A PTY read yields at most 4 KiB (the kernel's line-discipline buffer), so a busy
   * app produces tens of thousands of reads a second, each in its own turn of the
   * event loop. Output after a quiet spell (a keystroke's echo) goes out right after
   * the I/O phase; output that follows a frame sent under BATCH_MS ago is a stream,
   * and is gathered for BATCH_MS into one frame (up to 256 KiB) — one frame, one
   * socket write and one client-side write instead of dozens.
   *
   * A GUI display's stream goes out as it is read: a read of its socket holds what
   * Xvnc wrote (kilobytes, not a PTY's dribble), and a viewer asks for its next
   * update only once the last byte of this one is in, so a BATCH_MS timer on the
   * tail of every update costs frames per second (docs/performance.md, RFB).
   */
  private output(data: Buffer, room = false): boolean {
    this.lastOutputAt = performance.now();
    if (room) {
      // A GUI stream's read, in the display's own buffer: it goes out as it lies, under
      // a header written into the room in front of it — unless output before it is still
      // waiting (held for a commit, fenced), behind which it waits in a copy of its own.
      const peer = this.peer;
      if (this.outBytes === 0 && peer && this.appliedIndex <= this.settledIndex && this.options.mayAct()) {
        const frame = Buffer.from(data.buffer, data.byteOffset - OUTPUT_HEADER, OUTPUT_HEADER + data.length);
        writeOutputHeader(frame, this.inputSeq, this.sent);
        this.sent += data.length;
        this.sendFrame(frame);
        // Written through to the kernel, or queued on the socket (which then holds this memory).
        const kept = peer.bufferedAmount > 0;
        this.afterOutput();
        return kept;
      }
      data = Buffer.from(data);
    }
    this.outChunks.push(data);
    this.outAfter.push(this.appliedIndex);
    this.outBytes += data.length;
    if (this.outBytes >= MAX_FRAME_PAYLOAD || this.display.kind === 'rfb') this.flushOutput();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      const streaming = !this.inputSinceFlush && performance.now() - this.lastFlush < BATCH_MS;
      if (streaming) setTimeout(this.flushOutput, BATCH_MS);
      else setImmediate(this.flushOutput);
    }
    this.afterOutput();
    return false;
  }

  /** What any output read does: an entry waiting for it is applied; a client or screen that is behind holds the app back. */
  private afterOutput(): void {
    if (this.waitingFor !== undefined && this.outputBytes >= this.waitingFor) {
      // The app has answered what came before the waiting entry: apply it now.
      this.waitingFor = undefined;
      clearTimeout(this.pumpTimer);
      this.pumpTimer = undefined;
      this.pump();
    }
    const peer = this.peer;
    const inFlight = this.sent + this.outBytes - this.acked;
    if ((peer && (inFlight > this.options.window || peer.bufferedAmount > this.options.window)) || this.display.backlog() > SCREEN_BACKLOG) {
      this.display.hold();
    }
  }

  private readonly flushOutput = (): void => {
    this.flushScheduled = false;
    if (this.outBytes === 0) return;
    if (this.peer && !this.options.mayAct()) {
      // Fenced: show nobody anything until this node's lease is valid again.
      this.display.hold();
      this.fencedTimer ??= setTimeout(() => {
        this.fencedTimer = undefined;
        this.flushOutput();
        this.maybeRelease();
      }, FENCED_RETRY_MS);
      return;
    }
    // Output read after an entry the standbys do not hold yet waits for it (settle).
    let count = this.outChunks.length;
    if (this.outAfter[count - 1]! > this.settledIndex) {
      count = 0;
      while (this.outAfter[count]! <= this.settledIndex) count += 1;
      if (count === 0) return;
    }
    const chunks = this.outChunks;
    if (count === chunks.length) {
      this.outChunks = [];
      this.outAfter = [];
    } else {
      this.outChunks = chunks.splice(count);
      this.outAfter.splice(0, count);
    }
    // Frames of up to MAX_FRAME_PAYLOAD (output held for a commit can add up to more).
    for (let first = 0; first < chunks.length; ) {
      let bytes = chunks[first]!.length;
      let end = first + 1;
      while (end < chunks.length && bytes + chunks[end]!.length <= MAX_FRAME_PAYLOAD) bytes += chunks[end++]!.length;
      const frame = Buffer.allocUnsafe(OUTPUT_HEADER + bytes);
      writeOutputHeader(frame, this.inputSeq, this.sent);
      let at = OUTPUT_HEADER;
      for (let i = first; i < end; i++) at += chunks[i]!.copy(frame, at);
      first = end;
      this.sent += bytes;
      this.outBytes -= bytes;
      this.sendFrame(frame);
    }
  };

  /** Sends an OUTPUT frame whose bytes `sent` already counts (with no client, they count as acknowledged). */
  private sendFrame(frame: Buffer): void {
    this.lastFlush = performance.now();
    this.inputSinceFlush = false;
    if (this.loneAck !== undefined) {
      clearTimeout(this.loneAck);
      this.loneAck = undefined;
    }
    const peer = this.peer;
    if (!peer) {
      this.acked = this.sent;
      return;
    }
    // Only a socket that is backing up needs to report when it drains.
    const congested = peer.bufferedAmount > this.options.window / 4;
    peer.sendBinary(frame, congested ? () => this.maybeRelease() : undefined);
  }

  private maybeRelease(): void {
    if (this.snapshotting > 0) return;
    if (this.peer && !this.options.mayAct()) return;
    const half = this.options.window / 2;
    const peer = this.peer;
    if (peer && (this.sent - this.acked > half || peer.bufferedAmount > half)) return;
    if (this.display.backlog() > SCREEN_BACKLOG / 2) return;
    this.display.release();
  }

  /**
   * The app exited. Its last output may be waiting for the standbys to hold the input
   * before it (settle): the session ends once that is shown — or once they are given
   * up on, which commits too.
   */
  private exited(exit: AppExit): void {
    if (this.settledIndex >= this.appliedIndex) return this.finish(exit, this.describeExit(exit));
    void this.whenSettled(this.appliedIndex).then(() => this.finish(exit, this.describeExit(exit)));
  }

  private finish(exit: AppExit | null, message: string): void {
    if (this.endMessage !== null) return;
    this.flushOutput();
    this.endMessage = message;
    clearTimeout(this.holdTimer);
    clearTimeout(this.loneAck);
    clearTimeout(this.pumpTimer);
    clearTimeout(this.fencedTimer);
    for (const waiter of this.applyWaiters.splice(0)) waiter.resolve();
    for (const waiter of this.settleWaiters.splice(0)) waiter.resolve();
    this.holdExpiresAt = null;
    this.display.close();
    const peer = this.peer;
    this.peer = null;
    peer?.ended(exit, message);
    this.options.onEnd(this, message, exit);
  }

  private describeExit(exit: AppExit): string {
    const name = this.app.name;
    if (exit.outOfMemoryMiB !== undefined) {
      return `${name} ran out of memory: it reached the ${exit.outOfMemoryMiB} MiB its sandbox allows and was stopped. Start it again; if it needs more, ask your administrator to raise maxMemoryMiB in its sandbox profile ("${this.app.sandbox}").`;
    }
    if (exit.signal) return `${name} was stopped by signal ${exit.signal}.`;
    if (exit.exitCode === 0) return `${name} exited.`;
    if (this.inputSeq === 0 && Date.now() - this.startedAt < EARLY_EXIT_MS) {
      if (this.display instanceof RfbDisplay) {
        const said = this.display.lastWords();
        return `${name} stopped right after it started (exit code ${exit.exitCode})${said ? `: “${said}”` : ''}. Ask your administrator to check the app's command and its display.`;
      }
      return `${name} stopped right after it started (exit code ${exit.exitCode}). Its last output is shown; if it says the command was not found, ask your administrator to check the app's command.`;
    }
    const said = this.display instanceof RfbDisplay ? this.display.lastWords() : null;
    return `${name} exited with code ${exit.exitCode}${said ? `: “${said}”` : ''}.`;
  }
}

const EMPTY = new Uint8Array(0);
/** What an applied input's bytes become in a log nobody will replay. */
const APPLIED = new Uint8Array(0);

export function formatDuration(seconds: number): string {
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}
