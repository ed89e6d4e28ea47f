// The server's half of RFB (RFC 6143 and the community extensions TigerVNC speaks),
// followed without decoding a pixel: where each message starts and ends.
//
// The host's relay uses it to send a display's output as whole updates: Xvnc writes a
// FramebufferUpdate in dozens of pieces of a few KiB, and one WebSocket message per
// update costs the host, the network and the viewer less than one per piece
// (docs/performance.md, RFB). It only ever decides *when* bytes go out, never what:
// a stream it cannot follow makes it give up (`failed`), and the relay then sends each
// piece as it comes, as before.
//
// Incremental and synchronous: a structural element (a header, a Tight palette, a
// Hextile tile's header) is looked at once all of it is here; payloads of known length
// are skipped as they stream past, never buffered.

/** What decides the size of pixels on the wire (from ServerInit, then each SetPixelFormat). */
export interface PixelFormat {
  bitsPerPixel: number;
  depth: number;
  trueColour: boolean;
  redMax: number;
  greenMax: number;
  blueMax: number;
}

export const ServerEncoding = {
  raw: 0,
  copyRect: 1,
  rre: 2,
  hextile: 5,
  tight: 7,
  zrle: 16,
  desktopSize: -223,
  lastRect: -224,
  cursor: -239,
  xCursor: -240,
  qemuKeyEvent: -258,
  ledState: -261,
  desktopName: -307,
  extendedDesktopSize: -308,
  cursorWithAlpha: -314,
  vmwareCursor: 0x574d5664,
  vmwareLedState: 0x574d5304,
} as const;

/** Tight sends smaller payloads than this uncompressed, without a length. */
const TIGHT_MIN_TO_COMPRESS = 12;
const MAX_NAME = 1 << 20;
const MAX_FENCE = 64;

type State =
  | { k: 'version' }
  | { k: 'security' }
  | { k: 'result' }
  | { k: 'init' }
  | { k: 'message' }
  | { k: 'rect'; left: number }
  | { k: 'tight'; left: number; w: number; h: number }
  | { k: 'hextile'; left: number; w: number; h: number; tx: number; ty: number }
  | { k: 'zrle'; left: number }
  | { k: 'rre'; left: number }
  | { k: 'vmwareCursor'; left: number; w: number; h: number }
  | { k: 'cursorWithAlpha'; left: number; w: number; h: number }
  | { k: 'extendedDesktopSize'; left: number }
  | { k: 'desktopName'; left: number };

export class RfbServerStream {
  /** Why the stream could not be followed; once set, the stream stays failed. */
  failed: string | null = null;
  private state: State = { k: 'version' };
  private minor = 8;
  /** Bytes of the wire pixel, and of Tight's pixel (3 for 32 bpp 8-8-8 true colour). */
  private bpp = 4;
  private tpixel = 3;
  /** An element that arrived in part; what is left of a payload being skipped. */
  private pending: Buffer | null = null;
  private skip = 0;

  /** At a message boundary outside any update: everything pushed so far is whole messages. */
  get atBoundary(): boolean {
    return this.failed === null && this.skip === 0 && this.pending === null && this.state.k === 'message';
  }

  /** The version the viewer answered with (3.7 has no SecurityResult after None). */
  clientVersion(bytes: Uint8Array): void {
    const minor = Number(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1', 8, 11));
    if (Number.isInteger(minor)) this.minor = minor;
  }

  /** The viewer's SetPixelFormat (the whole 20-byte message): updates after it use that format. */
  setPixelFormat(message: Uint8Array): void {
    if (message.length < 20) return;
    this.usePixelFormat(readPixelFormat(message, 4));
  }

  push(chunk: Buffer): void {
    if (this.failed) return;
    let data = chunk;
    if (this.skip > 0) {
      if (this.skip >= data.length) {
        this.skip -= data.length;
        return;
      }
      data = data.subarray(this.skip);
      this.skip = 0;
    }
    if (this.pending) {
      data = Buffer.concat([this.pending, data]);
      this.pending = null;
    }
    try {
      let at = 0;
      for (;;) {
        const used = this.step(data, at);
        if (used < 0) break;
        at += used;
        if (this.skip > 0) {
          const n = Math.min(this.skip, data.length - at);
          this.skip -= n;
          at += n;
        }
      }
      // An element not all here (a few bytes, up to a Tight palette's 769) waits for the rest.
      if (at < data.length) this.pending = Buffer.from(data.subarray(at));
    } catch (error) {
      this.failed = (error as Error).message;
      this.pending = null;
    }
  }

  private usePixelFormat(pf: PixelFormat): void {
    if (![8, 16, 32].includes(pf.bitsPerPixel)) throw new Error(`${pf.bitsPerPixel} bits per pixel`);
    this.bpp = pf.bitsPerPixel / 8;
    const is888 = pf.trueColour && pf.bitsPerPixel === 32 && pf.depth === 24 && pf.redMax === 255 && pf.greenMax === 255 && pf.blueMax === 255;
    this.tpixel = is888 ? 3 : this.bpp;
  }

  /** Takes one element at `at`: the bytes it used (a payload after it is left in `skip`), or -1 if it is not all here. */
  private step(b: Buffer, at: number): number {
    const avail = b.length - at;
    const s = this.state;
    switch (s.k) {
      case 'version': {
        if (avail < 12) return -1;
        if (b.toString('latin1', at, at + 4) !== 'RFB ') throw new Error('not RFB');
        this.state = { k: 'security' };
        return 12;
      }
      case 'security': {
        if (avail < 1) return -1;
        const count = b[at]!;
        if (count === 0) throw new Error('the display refused the viewer');
        if (avail < 1 + count) return -1;
        this.state = this.minor >= 8 ? { k: 'result' } : { k: 'init' };
        return 1 + count;
      }
      case 'result':
        if (avail < 4) return -1;
        if (b.readUInt32BE(at) !== 0) throw new Error('the display refused the security handshake');
        this.state = { k: 'init' };
        return 4;
      case 'init': {
        if (avail < 24) return -1;
        const nameLength = b.readUInt32BE(at + 20);
        if (nameLength > MAX_NAME) throw new Error(`a desktop name of ${nameLength} bytes`);
        this.usePixelFormat(readPixelFormat(b, at + 4));
        this.state = { k: 'message' };
        this.skip = nameLength;
        return 24;
      }
      case 'message':
        return this.message(b, at, avail);
      case 'rect':
        return this.rect(b, at, avail, s.left);
      case 'tight':
        return this.tight(b, at, avail, s);
      case 'hextile':
        return this.hextile(b, at, avail, s);
      case 'zrle':
        if (avail < 4) return -1;
        this.state = { k: 'rect', left: s.left };
        this.skip = b.readUInt32BE(at);
        return 4;
      case 'rre':
        if (avail < 4) return -1;
        this.state = { k: 'rect', left: s.left };
        this.skip = this.bpp + b.readUInt32BE(at) * (this.bpp + 8);
        return 4;
      case 'vmwareCursor': {
        if (avail < 2) return -1;
        const type = b[at]!;
        if (type > 1) throw new Error(`VMware cursor type ${type}`);
        this.state = { k: 'rect', left: s.left };
        this.skip = type === 0 ? 2 * s.w * s.h * this.bpp : s.w * s.h * 4;
        return 2;
      }
      case 'cursorWithAlpha': {
        if (avail < 4) return -1;
        const encoding = b.readInt32BE(at);
        if (encoding !== ServerEncoding.raw) throw new Error(`an alpha cursor in encoding ${encoding}`);
        this.state = { k: 'rect', left: s.left };
        this.skip = s.w * s.h * 4;
        return 4;
      }
      case 'extendedDesktopSize':
        if (avail < 4) return -1;
        this.state = { k: 'rect', left: s.left };
        this.skip = b[at]! * 16;
        return 4;
      case 'desktopName':
        if (avail < 4) return -1;
        this.state = { k: 'rect', left: s.left };
        this.skip = b.readUInt32BE(at);
        if (this.skip > MAX_NAME) throw new Error(`a desktop name of ${this.skip} bytes`);
        return 4;
    }
  }

  private message(b: Buffer, at: number, avail: number): number {
    if (avail < 1) return -1;
    switch (b[at]) {
      case 0: // FramebufferUpdate
        if (avail < 4) return -1;
        this.state = { k: 'rect', left: b.readUInt16BE(at + 2) };
        return 4;
      case 1: // SetColourMapEntries
        if (avail < 6) return -1;
        this.skip = 6 * b.readUInt16BE(at + 4);
        return 6;
      case 2: // Bell
      case 150: // EndOfContinuousUpdates
        return 1;
      case 3: // ServerCutText (a negative length is the extended clipboard's)
        if (avail < 8) return -1;
        this.skip = Math.abs(b.readInt32BE(at + 4));
        return 8;
      case 248: {
        // Fence
        if (avail < 9) return -1;
        const length = b[at + 8]!;
        if (length > MAX_FENCE) throw new Error(`a fence with ${length} bytes`);
        this.skip = length;
        return 9;
      }
      case 250: // xvp
        return avail < 4 ? -1 : 4;
      default:
        throw new Error(`server message type ${b[at]}`);
    }
  }

  private rect(b: Buffer, at: number, avail: number, count: number): number {
    if (count === 0) {
      this.state = { k: 'message' };
      return 0;
    }
    if (avail < 12) return -1;
    const w = b.readUInt16BE(at + 4);
    const h = b.readUInt16BE(at + 6);
    const encoding = b.readInt32BE(at + 8);
    const left = count - 1;
    let next: State = { k: 'rect', left };
    switch (encoding) {
      case ServerEncoding.raw:
        this.skip = w * h * this.bpp;
        break;
      case ServerEncoding.copyRect:
        this.skip = 4;
        break;
      case ServerEncoding.rre:
        next = { k: 'rre', left };
        break;
      case ServerEncoding.hextile:
        next = { k: 'hextile', left, w, h, tx: 0, ty: 0 };
        break;
      case ServerEncoding.tight:
        next = { k: 'tight', left, w, h };
        break;
      case ServerEncoding.zrle:
        next = { k: 'zrle', left };
        break;
      case ServerEncoding.lastRect:
        next = { k: 'message' };
        break;
      case ServerEncoding.desktopSize:
      case ServerEncoding.qemuKeyEvent:
        break;
      case ServerEncoding.cursor:
        this.skip = w * h * this.bpp + ((w + 7) >> 3) * h;
        break;
      case ServerEncoding.xCursor:
        this.skip = w * h > 0 ? 6 + 2 * ((w + 7) >> 3) * h : 0;
        break;
      case ServerEncoding.cursorWithAlpha:
        next = { k: 'cursorWithAlpha', left, w, h };
        break;
      case ServerEncoding.ledState:
        this.skip = 1;
        break;
      case ServerEncoding.vmwareLedState:
        this.skip = 4;
        break;
      case ServerEncoding.vmwareCursor:
        next = { k: 'vmwareCursor', left, w, h };
        break;
      case ServerEncoding.extendedDesktopSize:
        next = { k: 'extendedDesktopSize', left };
        break;
      case ServerEncoding.desktopName:
        next = { k: 'desktopName', left };
        break;
      default:
        throw new Error(`a rectangle in encoding ${encoding}`);
    }
    this.state = next;
    return 12;
  }

  private tight(b: Buffer, at: number, avail: number, s: Extract<State, { k: 'tight' }>): number {
    if (avail < 1) return -1;
    const control = b[at]!;
    const kind = control >> 4;
    const next: State = { k: 'rect', left: s.left };
    if (kind === 8) {
      // Fill: one pixel.
      if (avail < 1 + this.tpixel) return -1;
      this.state = next;
      return 1 + this.tpixel;
    }
    if (kind === 9) {
      // JPEG: a compact length, then the image.
      const length = compact(b, at + 1);
      if (!length) return -1;
      this.state = next;
      this.skip = length[0];
      return 1 + length[1];
    }
    if (kind > 9) throw new Error(`Tight compression control 0x${control.toString(16)}`);
    let used = 1;
    let filter = 0;
    if (control & 0x40) {
      if (avail < 2) return -1;
      filter = b[at + 1]!;
      used = 2;
    }
    let size: number;
    if (filter === 0 || filter === 2) {
      size = s.w * s.h * this.tpixel;
    } else if (filter === 1) {
      if (avail < used + 1) return -1;
      const colours = b[at + used]! + 1;
      used += 1 + colours * this.tpixel;
      if (avail < used) return -1;
      size = colours === 2 ? ((s.w + 7) >> 3) * s.h : s.w * s.h;
    } else {
      throw new Error(`Tight filter ${filter}`);
    }
    if (size < TIGHT_MIN_TO_COMPRESS) {
      this.state = next;
      this.skip = size;
      return used;
    }
    const length = compact(b, at + used);
    if (!length) return -1;
    this.state = next;
    this.skip = length[0];
    return used + length[1];
  }

  private hextile(b: Buffer, at: number, avail: number, s: Extract<State, { k: 'hextile' }>): number {
    if (s.ty >= s.h) {
      this.state = { k: 'rect', left: s.left };
      return 0;
    }
    const tw = Math.min(16, s.w - s.tx);
    const th = Math.min(16, s.h - s.ty);
    if (avail < 1) return -1;
    const sub = b[at]!;
    let used = 1;
    if (sub & 1) {
      this.skip = tw * th * this.bpp;
    } else {
      if (sub & 2) used += this.bpp;
      if (sub & 4) used += this.bpp;
      if (sub & 8) {
        if (avail < used + 1) return -1;
        const n = b[at + used]!;
        used += 1 + n * (sub & 16 ? this.bpp + 2 : 2);
      }
      if (avail < used) return -1;
    }
    s.tx += 16;
    if (s.tx >= s.w) {
      s.tx = 0;
      s.ty += 16;
    }
    return used;
  }
}

function readPixelFormat(b: Uint8Array, at: number): PixelFormat {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return {
    bitsPerPixel: b[at]!,
    depth: b[at + 1]!,
    trueColour: b[at + 3] !== 0,
    redMax: view.getUint16(at + 4),
    greenMax: view.getUint16(at + 6),
    blueMax: view.getUint16(at + 8),
  };
}

/** Tight's compact length at `at`: [value, bytes it took], or null if not all here. */
function compact(b: Buffer, at: number): [number, number] | null {
  if (b.length < at + 1) return null;
  const b0 = b[at]!;
  let value = b0 & 0x7f;
  if (!(b0 & 0x80)) return [value, 1];
  if (b.length < at + 2) return null;
  const b1 = b[at + 1]!;
  value |= (b1 & 0x7f) << 7;
  if (!(b1 & 0x80)) return [value, 2];
  if (b.length < at + 3) return null;
  return [value | (b[at + 2]! << 14), 3];
}
