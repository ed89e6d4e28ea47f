// A replica's output on its way to the attached client: batching into OUTPUT frames,
// the output offsets the resume protocol rests on, and flow control. Invariants:
// offsets count every byte once, in order; output read after an entry that has not
// settled is held until it has (the output rule); the app is held back while the
// client has more than `window` bytes unacknowledged, or the screen model is too far
// behind, and released at half of that; with no client at all, once it has written its
// detached allowance (detached-allowance.ts).
import { OUTPUT_HEADER, encodeOutput, writeOutputHeader } from '../../shared/protocol/index.js';
import { DETACHED_RATE, DetachedAllowance } from './detached-allowance.js';
import type { SessionPeer } from './peer.js';

/** Where the log stands: which output may be shown, and the input it acknowledges. */
export interface LogPosition {
  readonly appliedIndex: number;
  readonly settledIndex: number;
  readonly inputSeq: number;
}

/** What flow control acts on: the display's reads, and its screen model's backlog. */
export interface FlowSource {
  readonly kind: 'terminal' | 'rfb';
  hold(): void;
  release(): void;
  backlog(): number;
}

export interface OutputFlowOptions {
  position: LogPosition;
  source: FlowSource;
  /** Unacknowledged output bytes a client may have before the app is held back. */
  window: number;
  /** False while this node must not act as a primary: nothing is shown until it may. */
  mayAct: () => boolean;
  /** Who else is shown the output from `offset` once it counts as sent (to the client, or to nobody): the session's watchers (watchers.ts). */
  watchers?: { readonly size: number; output(data: Uint8Array, offset: number): void };
  /** Told what is sent to the client and what it acknowledged: how fast its link is (a GUI stream's link-governor.ts). */
  link?: { sentThrough(offset: number): void; ackedThrough(offset: number): void };
}

/** An input that produces no output is still acknowledged within this. */
const LONE_ACK_MS = 30;
/**
 * Output the screen worker may lag behind before the app is held back (released at
 * half). Two of the worker's pieces (it parses output in pieces of up to 4 MiB,
 * screen-worker.mjs): one is parsed while the next gathers, so a stream waits on the
 * worker's pace, never on its turn. It bounds what a session's screen holds in memory
 * — on a standby, which has no client to hold its app back, the only bound there is.
 */
export const SCREEN_BACKLOG = 8 * 1024 * 1024;
/** A detached app held back at its allowance is let go once this much more is allowed (a quarter second's worth). */
const DETACHED_RESUME = DETACHED_RATE / 4;
/** How long streaming output is gathered into one frame. */
const BATCH_MS = 2;
/** Largest OUTPUT frame payload: far below any client's maxPayload. */
const MAX_FRAME_PAYLOAD = 256 * 1024;
/** How often held output is retried while this node may not act (no valid lease). */
const FENCED_RETRY_MS = 50;

export class OutputFlow {
  private client: SessionPeer | null = null;
  /** Output offset: bytes sent (or, with no client, counted as sent). */
  private sent = 0;
  private acked = 0;
  private outChunks: Buffer[] = [];
  /** For each gathered chunk, the log index its app had been given when it was read. */
  private outAfter: number[] = [];
  private outBytes = 0;
  private flushScheduled = false;
  private lastFlush = -Infinity;
  private inputSinceFlush = false;
  private loneAck: NodeJS.Timeout | undefined;
  private fencedTimer: NodeJS.Timeout | undefined;
  /** Snapshots under way: the app stays held until they are taken. */
  private suspended = 0;
  /** Nobody is attached and this replica acts for the session: what its app may still write (null otherwise). */
  private detached: DetachedAllowance | null = null;
  private refillTimer: NodeJS.Timeout | undefined;
  private held = false;

  constructor(private readonly options: OutputFlowOptions) {}

  get peer(): SessionPeer | null {
    return this.client;
  }

  /** The output offset a resuming client continues from. */
  get offset(): number {
    return this.sent;
  }

  /** Output bytes produced so far (sent or gathered). */
  get outputBytes(): number {
    return this.sent + this.outBytes;
  }

  /** This flow holds the app back (it may have output it has not been let write). */
  get holding(): boolean {
    return this.held;
  }

  /** Streams to `peer` from the current offset on (everything before counts as acknowledged). */
  attach(peer: SessionPeer): void {
    this.client = peer;
    this.acked = this.sent;
    this.detached = null;
    clearTimeout(this.refillTimer);
    this.refillTimer = undefined;
  }

  /** No client now (returned): output still counts, and only the screen keeps up with it. */
  detach(): SessionPeer | null {
    const peer = this.client;
    this.client = null;
    return peer;
  }

  /**
   * Nobody is attached, and this replica acts for the session (its client went, it was
   * promoted, or its client left while it started): from here the app may write only
   * its detached allowance, and a resuming client is shown the screen as it stands. A
   * standby never is: it follows its primary's log, and its output paces the replay.
   */
  unwatched(): void {
    if (this.client === null) this.detached ??= new DetachedAllowance();
  }

  /** While a snapshot is taken the app stays held: nothing releases it until `resume`. */
  suspend(): void {
    this.suspended += 1;
  }

  resume(): void {
    this.suspended -= 1;
  }

  /** Entries were applied on a primary: the next output is an answer, not a stream. */
  inputApplied(): void {
    this.inputSinceFlush = true;
  }

  /** Entries after `previous` settled: output held for them goes now; typed input is acknowledged soon. */
  settled(previous: number, typed: boolean): void {
    const held = this.outAfter.length > 0 && this.outAfter[this.outAfter.length - 1]! > previous;
    if (typed) {
      this.loneAck ??= setTimeout(() => {
        this.loneAck = undefined;
        if (this.outBytes === 0) this.client?.sendBinary(encodeOutput(this.options.position.inputSeq, this.sent, EMPTY));
      }, LONE_ACK_MS);
    }
    if (held) this.flush();
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
   *
   * Returns true when the socket still holds `data`'s memory (see DisplayOptions.onOutput).
   */
  push(data: Buffer, room = false): boolean {
    if (room) {
      // A GUI stream's read, in the display's own buffer: it goes out as it lies, under
      // a header written into the room in front of it — unless output before it is still
      // waiting (held for a commit, fenced), behind which it waits in a copy of its own.
      const peer = this.client;
      const position = this.options.position;
      if (this.outBytes === 0 && peer && position.appliedIndex <= position.settledIndex && this.options.mayAct()) {
        const frame = Buffer.from(data.buffer, data.byteOffset - OUTPUT_HEADER, OUTPUT_HEADER + data.length);
        writeOutputHeader(frame, position.inputSeq, this.sent);
        this.sent += data.length;
        this.sendFrame(frame);
        // Written through to the kernel, or queued on the socket (which then holds this memory).
        return peer.bufferedAmount > 0;
      }
      data = Buffer.from(data);
    }
    this.detached?.spend(data.length);
    this.outChunks.push(data);
    this.outAfter.push(this.options.position.appliedIndex);
    this.outBytes += data.length;
    if (this.outBytes >= MAX_FRAME_PAYLOAD || this.options.source.kind === 'rfb') this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      const streaming = !this.inputSinceFlush && performance.now() - this.lastFlush < BATCH_MS;
      if (streaming) setTimeout(this.flush, BATCH_MS);
      else setImmediate(this.flush);
    }
    return false;
  }

  /** After output was read: a client or screen that is behind, or an app with no client past its allowance, holds the app back. */
  checkBackpressure(): void {
    const peer = this.client;
    const window = this.options.window;
    const inFlight = this.sent + this.outBytes - this.acked;
    if ((peer && (inFlight > window || peer.bufferedAmount > window)) || this.options.source.backlog() > SCREEN_BACKLOG) {
      this.hold();
    } else if (this.detached !== null && this.detached.available <= 0) {
      this.hold();
      this.refillLater();
    }
  }

  /** The client acknowledged output through `offset`; returns an error text for an offset never sent. */
  ack(offset: number): string | null {
    if (offset > this.sent) return `acknowledged output offset ${offset} beyond what was sent (${this.sent})`;
    if (offset > this.acked) this.acked = offset;
    this.options.link?.ackedThrough(offset);
    this.maybeRelease();
    return null;
  }

  readonly flush = (): void => {
    this.flushScheduled = false;
    if (this.outBytes === 0) return;
    if (this.client && !this.options.mayAct()) {
      // Fenced: show nobody anything until this node's lease is valid again.
      this.hold();
      this.fencedTimer ??= setTimeout(() => {
        this.fencedTimer = undefined;
        this.flush();
        this.maybeRelease();
      }, FENCED_RETRY_MS);
      return;
    }
    // Output read after an entry the standbys do not hold yet waits for it (settle).
    const settledIndex = this.options.position.settledIndex;
    let count = this.outChunks.length;
    if (this.outAfter[count - 1]! > settledIndex) {
      count = 0;
      while (this.outAfter[count]! <= settledIndex) count += 1;
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
    if (!this.client) {
      // Nobody to send frames to: the bytes only count (a standby's whole stream goes this way).
      let bytes = 0;
      const watchers = this.options.watchers;
      for (const chunk of chunks) {
        if (watchers && watchers.size > 0) watchers.output(chunk, this.sent + bytes);
        bytes += chunk.length;
      }
      this.sent += bytes;
      this.outBytes -= bytes;
      this.acked = this.sent;
      this.noteSent();
      return;
    }
    // Frames of up to MAX_FRAME_PAYLOAD (output held for a commit can add up to more).
    const inputSeq = this.options.position.inputSeq;
    for (let first = 0; first < chunks.length; ) {
      let bytes = chunks[first]!.length;
      let end = first + 1;
      while (end < chunks.length && bytes + chunks[end]!.length <= MAX_FRAME_PAYLOAD) bytes += chunks[end++]!.length;
      const frame = Buffer.allocUnsafe(OUTPUT_HEADER + bytes);
      writeOutputHeader(frame, inputSeq, this.sent);
      let at = OUTPUT_HEADER;
      for (let i = first; i < end; i++) at += chunks[i]!.copy(frame, at);
      first = end;
      this.sent += bytes;
      this.outBytes -= bytes;
      this.sendFrame(frame);
    }
  };

  /** Output whose bytes `sent` already counts went (or, with no client, counts as gone). */
  private noteSent(): void {
    this.lastFlush = performance.now();
    this.inputSinceFlush = false;
    if (this.loneAck !== undefined) {
      clearTimeout(this.loneAck);
      this.loneAck = undefined;
    }
  }

  /** Sends an OUTPUT frame whose bytes `sent` already counts (with no client, they count as acknowledged). */
  private sendFrame(frame: Buffer): void {
    this.noteSent();
    const peer = this.client;
    if (!peer) {
      this.acked = this.sent;
      return;
    }
    // Only a socket that is backing up needs to report when it drains.
    const congested = peer.bufferedAmount > this.options.window / 4;
    peer.sendBinary(frame, congested ? () => this.maybeRelease() : undefined);
    this.options.link?.sentThrough(this.sent);
    // After the owner's frame is on its way: watchers never delay it (and with none, the keystroke path pays one check).
    const watchers = this.options.watchers;
    if (watchers && watchers.size > 0) watchers.output(frame.subarray(OUTPUT_HEADER), this.sent - (frame.length - OUTPUT_HEADER));
  }

  /**
   * Lets the app run again once the client and the screen have caught up to half their
   * limits — or, with no client, once some of its allowance is back.
   */
  maybeRelease(): void {
    if (this.suspended > 0) return;
    if (this.client && !this.options.mayAct()) return;
    const half = this.options.window / 2;
    const peer = this.client;
    if (peer && (this.sent - this.acked > half || peer.bufferedAmount > half)) return;
    if (this.options.source.backlog() > SCREEN_BACKLOG / 2) return;
    if (this.detached !== null && this.detached.available < DETACHED_RESUME) return this.refillLater();
    this.held = false;
    this.options.source.release();
  }

  private hold(): void {
    this.held = true;
    this.options.source.hold();
  }

  /** A detached app held at its allowance is looked at again once some is back. */
  private refillLater(): void {
    if (this.refillTimer !== undefined || this.detached === null) return;
    this.refillTimer = setTimeout(() => {
      this.refillTimer = undefined;
      this.maybeRelease();
    }, Math.max(1, this.detached.msUntil(DETACHED_RESUME)));
    // Like the hold timer: a held session does not keep the process alive.
    this.refillTimer.unref();
  }

  /** The session ended: what may be shown is sent, and timers stop. */
  close(): void {
    this.flush();
    clearTimeout(this.loneAck);
    clearTimeout(this.fencedTimer);
    clearTimeout(this.refillTimer);
  }
}

const EMPTY = new Uint8Array(0);
