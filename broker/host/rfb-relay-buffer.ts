// Where a GUI relay reads its display's output, and how that output leaves.
//
// Xvnc writes a FramebufferUpdate in dozens of pieces of a few KiB, and the relay's
// socket reads each on its own. The pieces are read one after another into one buffer
// (a slab), behind room for the frame header, and go out from there as one frame once
// the update is whole — RfbServerStream follows the messages to say when. So a read
// costs no allocation or copy, and an update costs one WebSocket message instead of one
// per piece (docs/performance.md, RFB).
//
// A slab is never written while a frame built on it may still be queued on the client's
// socket: after such a frame the relay reads into another slab, and the first becomes a
// spare only once every frame on it is released.
import { OUTPUT_HEADER } from '../../shared/protocol/index.js';
import type { RfbServerStream } from './rfb-server-stream.js';

/** A slab's size… */
export const RELAY_SLAB_BYTES = 256 * 1024;
/** …and what it holds is sent once less than this is left for the next read. */
export const RELAY_MIN_READ = 32 * 1024;
/** Output goes out at most this long after it was read, whether or not its update is whole. */
export const RELAY_HOLD_MS = 8;
/** Output smaller than this goes out in a copy of its own (a keystroke's echo), so that a queued small frame never holds a slab. */
export const RELAY_COPY_BELOW = 16 * 1024;
/** Released slabs kept for reuse; more are left to the garbage collector. */
const SPARE_SLABS = 2;

/** What sent a frame: a whole message read, the slab full, the hold timer, or a stream the relay could not follow. */
export type RelaySend = 'update' | 'full' | 'timer' | 'unfollowed';

export interface RelayOut {
  /**
   * Sends `data`, which has OUTPUT_HEADER bytes of room in front of it. Returns true when
   * the memory is still held after the call; calls `released` once it no longer is.
   */
  send(data: Buffer, released: () => void): boolean;
  /** Counts a frame by what sent it. */
  sent?(sentBy: RelaySend): void;
}

interface Slab {
  bytes: Buffer;
  /** Frames built on it and not yet released. */
  frames: number;
}

export class RelayBuffer {
  private slab: Slab = newSlab();
  private readonly spares: Slab[] = [];
  /** The slab holds unsent output in [base, end); the next read lands at `end`. */
  private base = OUTPUT_HEADER;
  private end = OUTPUT_HEADER;
  /** The timer sent a frame the socket still holds; the read already under way lands next to it, and moves. */
  private moved = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly stream: RfbServerStream,
    private readonly out: RelayOut,
  ) {}

  /** Where the next read goes. */
  next(): Buffer {
    return this.slab.bytes.subarray(this.end);
  }

  /** `count` bytes were read into what next() returned. */
  read(count: number): void {
    if (this.moved) {
      // Copy the read away from the queued frame's slab (its header room would overlap).
      const fresh = this.take();
      this.slab.bytes.copy(fresh.bytes, OUTPUT_HEADER, this.end, this.end + count);
      this.slab = fresh;
      this.base = this.end = OUTPUT_HEADER;
      this.moved = false;
    }
    const start = this.end;
    this.end += count;
    this.stream.push(this.slab.bytes.subarray(start, this.end));
    const stream = this.stream;
    const sentBy: RelaySend | null = stream.atBoundary ? 'update' : stream.failed !== null ? 'unfollowed' : this.slab.bytes.length - this.end < RELAY_MIN_READ ? 'full' : null;
    if (sentBy) {
      if (this.send(sentBy)) this.slab = this.take();
      this.base = this.end = OUTPUT_HEADER;
    } else {
      this.timer ??= setTimeout(this.sendLater, RELAY_HOLD_MS);
    }
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private readonly sendLater = (): void => {
    this.timer = undefined;
    // The next read already lands at `end`: it stays, and moves if this frame is queued.
    if (this.send('timer')) this.moved = true;
  };

  /** Sends [base, end); true when the socket holds the slab's memory. */
  private send(sentBy: RelaySend): boolean {
    clearTimeout(this.timer);
    this.timer = undefined;
    const { base, end } = this;
    if (base === end) return false;
    this.base = end;
    this.out.sent?.(sentBy);
    if (end - base < RELAY_COPY_BELOW) {
      const copy = Buffer.allocUnsafe(OUTPUT_HEADER + end - base);
      this.slab.bytes.copy(copy, OUTPUT_HEADER, base, end);
      this.out.send(copy.subarray(OUTPUT_HEADER), () => {});
      return false;
    }
    const slab = this.slab;
    slab.frames += 1;
    return this.out.send(slab.bytes.subarray(base, end), () => {
      slab.frames -= 1;
      if (slab.frames === 0 && slab !== this.slab && this.spares.length < SPARE_SLABS) this.spares.push(slab);
    });
  }

  private take(): Slab {
    return this.spares.pop() ?? newSlab();
  }
}

function newSlab(): Slab {
  return { bytes: Buffer.allocUnsafeSlow(RELAY_SLAB_BYTES), frames: 0 };
}
