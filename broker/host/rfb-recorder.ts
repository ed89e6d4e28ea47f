// A recorded graphical session's own connection to its display (every replica opens
// one to its own Xvnc): it does the RFB handshake, asks for what noVNC decodes, and
// hands every byte the display sends — from the version string on — to the recording,
// as it comes. The bytes are Xvnc's own encoding of the screen (ZRLE, CopyRect): the
// recording is a stream a player feeds to noVNC, which then shows exactly what a viewer
// saw (docs/operations.md, "Recording": why the stream and not frames).
//
// It asks for an update only once the last one has come whole, and at most every
// UPDATE_INTERVAL_MS (200 ms: five a second): while the screen is still Xvnc sends
// nothing; while it is busy (a scrolling terminal, an animation) Xvnc gathers what
// changed between two requests and sends only where the screen ended up. A recording is
// for audit — what was shown and typed — not smooth motion: five pictures a second show
// every word as it is typed, and a full-screen scroll costs half what 100 ms did
// (docs/operations.md, "Recording", has the figures: a 1024×700 xterm scrolling without pause, about
// 19 MiB a minute at 200 ms against 36 MiB at 100 ms; an idle one nothing). It asks
// nothing more while the recording's file is behind (the disk is slow): the next update
// then holds everything changed since.
//
// The display runs beside the app, so what it says is not trusted: the recorder reads
// only the headers that say how long a message is (payloads are passed on, never
// decoded), every length is bounded, and anything unexpected ends the recording — never
// the display or the session.
import { takeBytes } from './rfb-viewer.js';
import { MAX_DESKTOP, RFB_VERSION, SECURITY_NONE, setEncodings, setPixelFormatRgbx, updateRequest } from '../../shared/protocol/index.js';

/** The least time between two update requests (see above). */
export const UPDATE_INTERVAL_MS = 200;
const ENCODING_RAW = 0;
const ENCODING_COPY_RECT = 1;
const ENCODING_ZRLE = 16;
const ENCODING_DESKTOP_SIZE = -223;
const ENCODING_LAST_RECT = -224;
const ENCODING_CURSOR = -239;
const ENCODING_EXTENDED_DESKTOP_SIZE = -308;
/**
 * What the recording asks for: ZRLE (zlib over run-length tiles: small for text and
 * flat colour, and one of noVNC's decoders), CopyRect (a scroll or a moved window costs
 * 4 bytes), and the desktop's size changes. No cursor encoding: Xvnc then draws the
 * pointer into the picture, so the replay shows where it was. No continuous updates
 * and no fences: the recorder paces the updates itself.
 */
const ENCODINGS = [ENCODING_ZRLE, ENCODING_COPY_RECT, ENCODING_RAW, ENCODING_EXTENDED_DESKTOP_SIZE, ENCODING_DESKTOP_SIZE];
/** A ZRLE rectangle larger than this is not believed (a whole 8192² screen, zlib's worst case, is less). */
const MAX_ZRLE_BYTES = 300 * 1024 * 1024;
const MAX_SERVER_CUT_TEXT = 16 * 1024 * 1024;

/** noVNC's pixel format (shared/protocol/rfb.ts): what a recording is played back with. */
export const setPixelFormatNoVnc = setPixelFormatRgbx;

export interface RecorderSink {
  /** Bytes the display sent, as they came. */
  output(bytes: Uint8Array): void;
  /** Its file is behind: ask for nothing more for now. */
  readonly behind: boolean;
}

export interface RfbRecorderOptions {
  /** Sends bytes to the display. */
  send(bytes: Uint8Array): void;
  sink: RecorderSink;
  intervalMs?: number;
}

export class RfbRecorder {
  /** Updates received whole. */
  updates = 0;
  /** Settles when the recorder stops, with why (close() gives "closed"). */
  readonly done: Promise<Error>;
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  private waiter: { bytes: number; skip: boolean; resolve: (data: Uint8Array) => void; reject: (error: Error) => void } | null = null;
  private closed: Error | null = null;
  private width = 0;
  private height = 0;
  private lastRequestAt = -Infinity;
  private timer: NodeJS.Timeout | undefined;
  private readonly intervalMs: number;

  constructor(private readonly options: RfbRecorderOptions) {
    this.intervalMs = options.intervalMs ?? UPDATE_INTERVAL_MS;
    this.done = this.run().then(
      () => new Error('stopped'),
      (error: Error) => {
        this.stop(error);
        return this.closed ?? error;
      },
    );
  }

  /** Bytes from the display: to the recording at once, then read for where messages end. */
  push(chunk: Uint8Array): void {
    if (this.closed) return;
    this.options.sink.output(chunk);
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    this.satisfy();
  }

  /** The display's side ended. */
  end(why = 'the display closed the connection'): void {
    this.stop(new Error(why));
  }

  close(): void {
    this.stop(new Error('closed'));
  }

  private async run(): Promise<void> {
    const version = new TextDecoder().decode(await this.read(12));
    if (!/^RFB 003\.\d{3}\n$/.test(version)) throw new Error(`the display does not speak RFB (${JSON.stringify(version)})`);
    this.options.send(new TextEncoder().encode(RFB_VERSION));
    const count = (await this.read(1))[0]!;
    if (count === 0) throw new Error('the display refused the connection');
    if (!(await this.read(count)).includes(SECURITY_NONE)) throw new Error('the display asks for a password');
    this.options.send(new Uint8Array([SECURITY_NONE]));
    if (u32(await this.read(4), 0) !== 0) throw new Error('the display refused the security handshake');
    this.options.send(new Uint8Array([1])); // shared: never push other viewers off
    // The encodings go with ClientInit, not after ServerInit: Xvnc closes a connection
    // whose encodings it does not know yet when the desktop's size changes, and a
    // session's first SetDesktopSize comes right as it starts (a loaded node took long
    // enough to answer ServerInit that its recordings held no picture).
    this.options.send(setPixelFormatNoVnc());
    this.options.send(setEncodings(ENCODINGS));
    const init = await this.read(24);
    this.size(u16(init, 0), u16(init, 2));
    const nameLength = u32(init, 20);
    if (nameLength > 4096) throw new Error('the display sent an implausible desktop name');
    await this.skip(nameLength);
    this.request(false);
    for (;;) {
      const type = (await this.read(1))[0]!;
      switch (type) {
        case 0:
          await this.update();
          this.updates += 1;
          this.schedule();
          break;
        case 1: // colour map entries (never for true colour, but well-formed)
          await this.skip(6 * u16(await this.read(5), 3));
          break;
        case 2: // bell
          break;
        case 3: {
          const length = u32(await this.read(7), 3);
          if (length > MAX_SERVER_CUT_TEXT) throw new Error(`the display sent ${length} bytes of clipboard text`);
          await this.skip(length);
          break;
        }
        default:
          throw new Error(`the display sent an unknown message type ${type}`);
      }
    }
  }

  /** One FramebufferUpdate after its type byte: each rectangle's header, its payload skipped. */
  private async update(): Promise<void> {
    const count = u16(await this.read(3), 1);
    for (let i = 0; i < count; i++) {
      const rect = await this.read(12);
      const [x, y, w, h] = [u16(rect, 0), u16(rect, 2), u16(rect, 4), u16(rect, 6)];
      const encoding = new DataView(rect.buffer, rect.byteOffset, 12).getInt32(8);
      switch (encoding) {
        case ENCODING_LAST_RECT:
          return;
        case ENCODING_DESKTOP_SIZE:
          this.size(w, h);
          continue;
        case ENCODING_EXTENDED_DESKTOP_SIZE: {
          const screens = (await this.read(4))[0]!;
          await this.skip(16 * screens);
          if (x === 0 || y === 0) this.size(w, h); // x=0: a change (not the refusal of a request, which the recorder never makes)
          continue;
        }
        case ENCODING_CURSOR:
          if (w > 256 || h > 256) throw new Error(`the display sent a ${w}×${h} pointer`);
          await this.skip(w * h * 4 + Math.floor((w + 7) / 8) * h);
          continue;
      }
      if (x + w > this.width || y + h > this.height) throw new Error('the display sent a rectangle outside its screen');
      if (encoding === ENCODING_RAW) await this.skip(w * h * 4);
      else if (encoding === ENCODING_COPY_RECT) await this.skip(4);
      else if (encoding === ENCODING_ZRLE) {
        const length = u32(await this.read(4), 0);
        if (length > MAX_ZRLE_BYTES) throw new Error(`the display sent a ZRLE rectangle of ${length} bytes`);
        await this.skip(length);
      } else throw new Error(`the display sent encoding ${encoding}, which was not asked for`);
    }
  }

  /** The next incremental request: UPDATE_INTERVAL_MS after the last, and not while the file is behind. */
  private schedule(): void {
    if (this.closed) return;
    const wait = Math.max(0, this.lastRequestAt + this.intervalMs - performance.now());
    this.timer = setTimeout(() => {
      if (this.options.sink.behind) return this.schedule();
      this.request(true);
    }, this.options.sink.behind ? this.intervalMs : wait);
  }

  private request(incremental: boolean): void {
    if (this.closed) return;
    this.lastRequestAt = performance.now();
    this.options.send(updateRequest(incremental, 0, 0, this.width, this.height));
  }

  private size(width: number, height: number): void {
    if (width < 1 || height < 1 || width > MAX_DESKTOP || height > MAX_DESKTOP) throw new Error(`the display is ${width}×${height}, outside 1…${MAX_DESKTOP}`);
    this.width = width;
    this.height = height;
  }

  private read(bytes: number): Promise<Uint8Array> {
    return this.wait(bytes, false);
  }

  /** Passes over `bytes` without keeping them (a rectangle's payload may be megabytes). */
  private async skip(bytes: number): Promise<void> {
    if (bytes > 0) await this.wait(bytes, true);
  }

  private wait(bytes: number, skip: boolean): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(this.closed);
    return new Promise((resolve, reject) => {
      this.waiter = { bytes, skip, resolve, reject };
      this.satisfy();
    });
  }

  private satisfy(): void {
    const waiter = this.waiter;
    if (!waiter) return;
    if (waiter.skip) {
      // Drops whole chunks as they come: a payload is never held.
      while (waiter.bytes > 0 && this.chunks.length > 0) {
        const chunk = this.chunks[0]!;
        const take = Math.min(chunk.length, waiter.bytes);
        if (take === chunk.length) this.chunks.shift();
        else this.chunks[0] = chunk.subarray(take);
        waiter.bytes -= take;
        this.buffered -= take;
      }
      if (waiter.bytes > 0) return;
      this.waiter = null;
      return waiter.resolve(EMPTY);
    }
    if (this.buffered < waiter.bytes) return;
    this.waiter = null;
    const out = takeBytes(this.chunks, waiter.bytes);
    this.buffered -= waiter.bytes;
    waiter.resolve(out);
  }

  private stop(error: Error): void {
    if (this.closed) return;
    this.closed = error;
    clearTimeout(this.timer);
    this.chunks = [];
    this.waiter?.reject(error);
    this.waiter = null;
  }
}

const EMPTY = new Uint8Array(0);
const u16 = (b: Uint8Array, at: number) => (b[at]! << 8) | b[at + 1]!;
const u32 = (b: Uint8Array, at: number) => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(at);
