// A minimal RFB viewer: the host's own view of an app's display (to apply logged input
// and hash the framebuffer), and the viewer tests and benchmarks drive through a
// session. It speaks RFB 3.8 with security None, asks for 32-bit BGRX pixels in Raw
// encoding (plus DesktopSize, and the pointer apart) and keeps the whole framebuffer. Updates come only when
// asked for, so an idle viewer costs Xvnc nothing.
//
// The display runs inside the app's sandbox, so what it sends is not trusted: every
// length is bounded and anything unexpected closes this viewer (never the node).
import { createHash } from 'node:crypto';
import {
  MAX_CUT_TEXT,
  MAX_DESKTOP,
  RFB_VERSION,
  SECURITY_NONE,
  clientCutText,
  keyEvent,
  keysymsFor,
  pointerEvent,
  setEncodings,
  setPixelFormatBgrx,
  updateRequest,
} from '../../shared/protocol/index.js';

/**
 * The hash of what a screen shows: its size and every pixel's colour. Not the fourth
 * byte of each 32-bit pixel, which is padding at depth 24: Xvnc leaves in it whatever
 * its drawing wrote there (xeyes's anti-aliased shapes leave different values on two
 * replicas whose pixels are identical), so hashing it called equal screens different.
 */
export function framebufferHash(width: number, height: number, pixels: Uint8Array): string {
  const colours = new Uint8Array(pixels);
  for (let i = 3; i < colours.length; i += 4) colours[i] = 0;
  return createHash('sha256').update(`${width}x${height}:`).update(colours).digest('hex');
}

export interface RfbTransport {
  /** Sends bytes to the display; `kind` says whether they are input (which a session numbers). */
  send(bytes: Uint8Array, kind: 'viewer' | 'input'): void;
  close(): void;
}

const ENCODING_RAW = 0;
const ENCODING_DESKTOP_SIZE = -223;
/** The pointer's shape comes apart, so the framebuffer holds only what the apps drew. */
const ENCODING_CURSOR = -239;
/** Clipboard text from the display longer than this closes the viewer (it could only be hostile). */
const MAX_SERVER_CUT_TEXT = 16 * 1024 * 1024;

export class RfbViewer {
  width = 0;
  height = 0;
  name = '';
  /** BGRX, row-major: width × height × 4 bytes. */
  framebuffer = new Uint8Array(0);
  /** Updates received so far. */
  updates = 0;
  onClipboard: ((text: string) => void) | undefined;
  readonly ready: Promise<void>;
  /** Settles when the viewer stops: with why, if it was refused or the stream broke. */
  readonly done: Promise<Error | null>;
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  private waiter: { bytes: number; resolve: (data: Uint8Array) => void; reject: (error: Error) => void } | null = null;
  private updateWaiters: Array<() => void> = [];
  private closed: Error | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly transport: RfbTransport) {
    const run = this.run();
    this.ready = run.then(() => undefined);
    this.ready.catch(() => {}); // a viewer closed before its handshake is not an unhandled error
    this.done = run.then(
      () => this.loop(),
      (error: Error) => error,
    ).then((error) => {
      this.stop(error ?? new Error('the display closed the connection'));
      return error;
    });
    this.done.catch(() => {});
  }

  /** Bytes from the display. */
  push(chunk: Uint8Array): void {
    if (this.closed) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    this.satisfy();
  }

  /** The display's side ended. */
  end(why = 'the display closed the connection'): void {
    this.stop(new Error(why));
  }

  key(keysym: number, down: boolean): void {
    this.transport.send(keyEvent(down, keysym), 'input');
  }

  /** Presses and releases each character's key (keysymFor: X11's Unicode keysyms beyond Latin-1, as the web client types them). */
  type(text: string): void {
    for (const keysym of keysymsFor(text)) {
      this.key(keysym, true);
      this.key(keysym, false);
    }
  }

  pointer(buttons: number, x: number, y: number): void {
    this.transport.send(pointerEvent(buttons, x, y), 'input');
  }

  cut(text: string): void {
    this.transport.send(clientCutText(text), 'input');
  }

  /** A logged input message, as it came from a client. */
  input(message: Uint8Array): void {
    this.transport.send(message, 'input');
  }

  /** Asks for the whole screen and resolves once it is here. */
  fullFrame(): Promise<Uint8Array> {
    return this.serial(() => this.request(false));
  }

  /** Resolves with the next change to the screen (after whatever this viewer has seen). */
  nextChange(): Promise<Uint8Array> {
    return this.serial(() => this.request(true));
  }

  /** A hash of the whole screen as it is now. */
  async frameHash(): Promise<string> {
    await this.fullFrame();
    return framebufferHash(this.width, this.height, this.framebuffer);
  }

  /**
   * Whether the app has drawn: more than 1 % of the screen is not black. The bare
   * display is black until the app maps a window (and a window's few dark pixels do not
   * count as drawn).
   */
  drawn(): boolean {
    const pixels = this.framebuffer;
    let lit = 0;
    for (let i = 0; i < pixels.length; i += 4) if ((pixels[i]! | pixels[i + 1]! | pixels[i + 2]!) !== 0) lit += 1;
    return lit > pixels.length / 4 / 100;
  }

  close(): void {
    this.stop(new Error('closed'));
    this.transport.close();
  }

  private serial<T>(task: () => Promise<T>): Promise<T> {
    const next = this.queue.then(task, task);
    this.queue = next.catch(() => {});
    return next;
  }

  private request(incremental: boolean): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(this.closed);
    return new Promise((resolve, reject) => {
      this.updateWaiters.push(() => (this.closed ? reject(this.closed) : resolve(this.framebuffer)));
      this.transport.send(updateRequest(incremental, 0, 0, this.width, this.height), 'viewer');
    });
  }

  private async run(): Promise<void> {
    const version = text(await this.read(12));
    if (!/^RFB 003\.\d{3}\n$/.test(version)) throw new Error(`the display does not speak RFB (${JSON.stringify(version)})`);
    this.transport.send(bytesOf(RFB_VERSION), 'viewer');
    const count = (await this.read(1))[0]!;
    if (count === 0) throw new Error(`the display refused the connection: ${text(await this.read(u32(await this.read(4), 0)))}`);
    const types = await this.read(count);
    if (!types.includes(SECURITY_NONE)) throw new Error('the display asks for a password (it must offer security type None)');
    this.transport.send(new Uint8Array([SECURITY_NONE]), 'viewer');
    if (u32(await this.read(4), 0) !== 0) throw new Error('the display refused the security handshake');
    this.transport.send(new Uint8Array([1]), 'viewer'); // shared: never push other viewers off
    // Sent with ClientInit, before ServerInit comes back: Xvnc closes a viewer whose
    // encodings it does not know yet when the desktop's size changes (rfb-recorder.ts).
    this.transport.send(setPixelFormatBgrx(), 'viewer');
    this.transport.send(setEncodings([ENCODING_RAW, ENCODING_DESKTOP_SIZE, ENCODING_CURSOR]), 'viewer');
    const init = await this.read(24);
    this.resize(u16(init, 0), u16(init, 2));
    const nameLength = u32(init, 20);
    if (nameLength > 4096) throw new Error('the display sent an implausible desktop name');
    this.name = text(await this.read(nameLength));
  }

  private async loop(): Promise<Error | null> {
    try {
      for (;;) {
        const type = (await this.read(1))[0]!;
        switch (type) {
          case 0:
            await this.update();
            break;
          case 1: {
            const header = await this.read(5);
            await this.read(6 * u16(header, 3));
            break;
          }
          case 2: // bell
            break;
          case 3: {
            const length = u32(await this.read(7), 3);
            if (length > MAX_SERVER_CUT_TEXT) throw new Error(`the display sent ${length} bytes of clipboard text`);
            const data = await this.read(length);
            if (length <= MAX_CUT_TEXT) this.onClipboard?.(latin1(data));
            break;
          }
          default:
            throw new Error(`the display sent an unknown message type ${type}`);
        }
      }
    } catch (error) {
      return this.closed ? null : (error as Error);
    }
  }

  private async update(): Promise<void> {
    const count = u16(await this.read(3), 1);
    for (let i = 0; i < count; i++) {
      const rect = await this.read(12);
      const [x, y, w, h] = [u16(rect, 0), u16(rect, 2), u16(rect, 4), u16(rect, 6)];
      const encoding = new DataView(rect.buffer, rect.byteOffset).getInt32(8);
      if (encoding === ENCODING_DESKTOP_SIZE) {
        this.resize(w, h);
        continue;
      }
      if (encoding === ENCODING_CURSOR) {
        if (w > 256 || h > 256) throw new Error(`the display sent a ${w}×${h} pointer`);
        await this.read(w * h * 4 + Math.floor((w + 7) / 8) * h);
        continue;
      }
      if (encoding !== ENCODING_RAW) throw new Error(`the display sent encoding ${encoding}, which was not asked for`);
      if (x + w > this.width || y + h > this.height) throw new Error('the display sent a rectangle outside its screen');
      const pixels = await this.read(w * h * 4);
      for (let row = 0; row < h; row++) {
        this.framebuffer.set(pixels.subarray(row * w * 4, (row + 1) * w * 4), ((y + row) * this.width + x) * 4);
      }
    }
    this.updates += 1;
    this.updateWaiters.shift()?.();
  }

  private resize(width: number, height: number): void {
    if (width < 1 || height < 1 || width > MAX_DESKTOP || height > MAX_DESKTOP) throw new Error(`the display is ${width}×${height}, outside 1…${MAX_DESKTOP}`);
    this.width = width;
    this.height = height;
    this.framebuffer = new Uint8Array(width * height * 4);
  }

  private read(bytes: number): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(this.closed);
    return new Promise((resolve, reject) => {
      this.waiter = { bytes, resolve, reject };
      this.satisfy();
    });
  }

  private satisfy(): void {
    const waiter = this.waiter;
    if (!waiter || this.buffered < waiter.bytes) return;
    this.waiter = null;
    const out = takeBytes(this.chunks, waiter.bytes);
    this.buffered -= waiter.bytes;
    waiter.resolve(out);
  }

  private stop(error: Error): void {
    if (this.closed) return;
    this.closed = error;
    this.waiter?.reject(error);
    this.waiter = null;
    for (const waiter of this.updateWaiters.splice(0)) waiter();
  }
}

const u16 = (b: Uint8Array, at: number) => (b[at]! << 8) | b[at + 1]!;
const u32 = (b: Uint8Array, at: number) => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(at);
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const latin1 = (b: Uint8Array) => String.fromCharCode(...b);
const bytesOf = (s: string) => new TextEncoder().encode(s);

/**
 * Takes the first `bytes` bytes off `chunks` (which hold at least that many, as read
 * from a socket): a view of the first chunk when it holds them all, else a copy.
 */
export function takeBytes(chunks: Uint8Array[], bytes: number): Uint8Array {
  const first = chunks[0];
  if (first && first.length >= bytes) {
    if (first.length === bytes) chunks.shift();
    else chunks[0] = first.subarray(bytes);
    return first.subarray(0, bytes);
  }
  const out = new Uint8Array(bytes);
  let at = 0;
  while (at < bytes) {
    const chunk = chunks[0]!;
    const take = Math.min(chunk.length, bytes - at);
    out.set(chunk.subarray(0, take), at);
    at += take;
    if (take === chunk.length) chunks.shift();
    else chunks[0] = chunk.subarray(take);
  }
  return out;
}
