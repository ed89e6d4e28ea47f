// The inputs of one session that its host has not acknowledged yet, as a client keeps them:
// numbered 1, 2, 3… in the order typed, kept until the host reports them applied, and resent
// in that order after a reconnect (the host drops duplicates). Input that would take the kept
// bytes past the cap is refused whole — never dropped silently, never half-kept.
import { encodeInput } from '../protocol/index.js';

/** Typed text is cut into frames of at most this many bytes, so one paste is not one huge frame. */
export const MAX_INPUT_FRAME = 16 * 1024;
/** Unacknowledged input kept for resending; typing past this is refused, not dropped silently. */
export const MAX_PENDING_BYTES = 1024 * 1024;

export interface InputQueueOptions {
  /**
   * Whether this client knows where the session's input numbering stands: true for a
   * session it launches; false when attaching, until the host's count is learned.
   */
  numbered: boolean;
  /** Sends a newly numbered frame at once — if there is a link to send it on. */
  send: (frame: Uint8Array) => void;
  /** Defaults to MAX_PENDING_BYTES. */
  maxBytes?: number;
}

export class InputQueue {
  /** Unacknowledged frames, oldest (lowest seq) first. */
  private readonly kept: Array<{ seq: number; frame: Uint8Array }> = [];
  private keptBytes = 0;
  private seq = 0;
  private numbered: boolean;
  private readonly send: (frame: Uint8Array) => void;
  private readonly maxBytes: number;

  constructor(options: InputQueueOptions) {
    this.numbered = options.numbered;
    this.send = options.send;
    this.maxBytes = options.maxBytes ?? MAX_PENDING_BYTES;
  }

  /** Inputs typed and not yet applied by the host. */
  get size(): number {
    return this.kept.length;
  }

  /** The number of the last input typed: what a resume tells the host it has sent. */
  get lastSeq(): number {
    return this.seq;
  }

  /** Keystrokes or pasted text, cut into frames; false (and nothing kept) if past the cap. */
  addTyped(bytes: Uint8Array): boolean {
    if (this.keptBytes + bytes.length > this.maxBytes) return false;
    for (let at = 0; at < bytes.length; at += MAX_INPUT_FRAME) this.add(bytes.subarray(at, at + MAX_INPUT_FRAME));
    return true;
  }

  /** One input message that must stay whole (an RFB event); false if past the cap. */
  addMessage(message: Uint8Array): boolean {
    if (this.keptBytes + message.length > this.maxBytes) return false;
    this.add(message);
    return true;
  }

  /**
   * On joining the session (every resume or attach): the first time, when this client
   * attached, the session's inputs are numbered already — anything typed meanwhile is
   * renumbered to continue after the host's count. Later calls change nothing.
   */
  joined(hostApplied: number): void {
    if (this.numbered) return;
    this.seq = hostApplied;
    for (const entry of this.kept) {
      entry.seq = ++this.seq;
      // The seq sits at byte 1 of an input frame (encodeInput): rewrite it in place.
      new DataView(entry.frame.buffer, entry.frame.byteOffset).setUint32(1, entry.seq);
    }
    this.numbered = true;
  }

  /** The host applied every input up to `seq`: stop keeping them. Returns how many went. */
  applied(seq: number): number {
    let dropped = 0;
    while (this.kept.length > 0 && this.kept[0]!.seq <= seq) {
      this.keptBytes -= this.kept.shift()!.frame.length;
      dropped += 1;
    }
    return dropped;
  }

  /** Every kept frame, oldest first, to `send` (after a resume, on the new link). */
  resendAll(send: (frame: Uint8Array) => void): void {
    for (const { frame } of this.kept) send(frame);
  }

  private add(bytes: Uint8Array): void {
    this.seq += 1;
    const frame = encodeInput(this.seq, bytes);
    this.kept.push({ seq: this.seq, frame });
    this.keptBytes += frame.length;
    this.send(frame);
  }
}
