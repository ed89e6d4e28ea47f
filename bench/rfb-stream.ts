// The server's side of RFB as the bench's viewers read it: every message boundary of
// the stream (FramebufferUpdate rects in each encoding, Tight's lengths, palettes and
// filters, LastRect, Bell, ServerCutText, colour maps), counted, pixels never decoded.
import { setEncodings, setPixelFormatBgrx } from '../shared/protocol/rfb.js';
import { ENC, ENCODINGS, ENCODING_NAMES, MAX_FENCE_PAYLOAD } from './rfb-messages.js';
import { StreamReader } from './rfb-reader.js';

/** Tight sends pixels as 3 bytes (TPIXEL) for 32 bpp, depth 24, true colour, max 255 each: our format. */
const TPIXEL = 3;
const BPP = 4;
const TIGHT_MIN_TO_COMPRESS = 12;
const MAX_SERVER_CUT_TEXT = 16 * 1024 * 1024;

export interface UpdateInfo {
  /** RFB bytes of the whole FramebufferUpdate message. */
  bytes: number;
  rects: number;
  /** Pixels its rects cover (pseudo-encodings not counted). */
  pixels: number;
  /** performance.now() when its first byte was parsed / when it had fully arrived. */
  startedAt: number;
  at: number;
}

type State =
  | { k: 'version' }
  | { k: 'secCount' }
  | { k: 'secResult' }
  | { k: 'init' }
  | { k: 'msg' }
  | { k: 'rect'; left: number }
  | { k: 'zrle'; left: number }
  | { k: 'tight'; left: number; w: number; h: number }
  | { k: 'hextile'; left: number; w: number; h: number; tx: number; ty: number };

/**
 * The server's side of RFB, cut into messages without decoding pixels. Synchronous
 * and incremental: a structural element (a header, a Tight palette, a Hextile tile's
 * header) is parsed once all of it is here; payloads of known length are skipped as
 * they stream past, never buffered.
 */
export class ServerStream extends StreamReader {
  width = 0;
  height = 0;
  name = '';
  bells = 0;
  cutTexts = 0;
  colourMaps = 0;
  readonly rectsByEncoding: Record<string, number> = {};
  readonly bytesByEncoding: Record<string, number> = {};
  readonly tightKinds = { fill: 0, jpeg: 0, copy: 0, palette2: 0, palette: 0, gradient: 0, uncompressed: 0 };
  private state: State = { k: 'version' };
  private update: { start: number; startedAt: number; rects: number; pixels: number } | null = null;
  private rect: { encoding: string; start: number } | null = null;

  constructor(
    private readonly on: {
      send(bytes: Uint8Array): void;
      ready(): void;
      update(info: UpdateInfo): void;
      error(error: Error): void;
      /** EndOfContinuousUpdates (type 150): the server speaks them, or stopped them. */
      endOfContinuous?(): void;
      /** A server fence (type 248): its flags and payload. */
      fence?(flags: number, payload: Uint8Array): void;
    },
    private readonly encodings: number[] = ENCODINGS,
  ) {
    super();
  }

  protected failedWith(error: Error): void {
    this.on.error(error);
  }

  /** Parses one element; false when it needs more bytes. */
  protected step(): boolean {
    const s = this.state;
    switch (s.k) {
      case 'version': {
        if (this.avail < 12) return false;
        const version = this.buf.toString('latin1', this.pos, this.pos + 12);
        if (!/^RFB 003\.\d{3}\n$/.test(version)) throw new Error(`the server does not speak RFB: ${JSON.stringify(version)}`);
        this.take(12);
        this.on.send(Buffer.from('RFB 003.008\n', 'latin1'));
        this.state = { k: 'secCount' };
        return true;
      }
      case 'secCount': {
        if (this.avail < 1) return false;
        const n = this.buf[this.pos]!;
        if (n === 0) throw new Error('the server refused the connection');
        if (this.avail < 1 + n) return false;
        const types = [...this.buf.subarray(this.pos + 1, this.pos + 1 + n)];
        if (!types.includes(1)) throw new Error(`the server offers no security None (${types.join(', ')})`);
        this.take(1 + n);
        this.on.send(Uint8Array.of(1));
        this.state = { k: 'secResult' };
        return true;
      }
      case 'secResult':
        if (this.avail < 4) return false;
        if (this.u32(0) !== 0) throw new Error('the server refused the security handshake');
        this.take(4);
        this.on.send(Uint8Array.of(1)); // ClientInit: shared
        this.state = { k: 'init' };
        return true;
      case 'init': {
        if (this.avail < 24) return false;
        const nameLength = this.u32(20);
        if (nameLength > 4096) throw new Error('implausible desktop name');
        if (this.avail < 24 + nameLength) return false;
        this.width = this.u16(0);
        this.height = this.u16(2);
        this.name = this.buf.toString('utf8', this.pos + 24, this.pos + 24 + nameLength);
        this.take(24 + nameLength);
        this.on.send(setPixelFormatBgrx());
        this.on.send(setEncodings(this.encodings));
        this.state = { k: 'msg' };
        this.on.ready();
        return true;
      }
      case 'msg': {
        if (this.avail < 1) return false;
        const type = this.buf[this.pos]!;
        switch (type) {
          case 0:
            if (this.avail < 4) return false;
            this.update = { start: this.consumed, startedAt: performance.now(), rects: 0, pixels: 0 };
            this.state = { k: 'rect', left: this.u16(2) };
            this.take(4);
            return true;
          case 1: {
            if (this.avail < 6) return false;
            const n = this.u16(4);
            this.take(6);
            this.colourMaps += 1;
            this.skipBytes(6 * n);
            return true;
          }
          case 2:
            this.take(1);
            this.bells += 1;
            return true;
          case 3: {
            if (this.avail < 8) return false;
            const length = this.u32(4);
            if (length > MAX_SERVER_CUT_TEXT) throw new Error(`ServerCutText of ${length} bytes`);
            this.take(8);
            this.cutTexts += 1;
            this.skipBytes(length);
            return true;
          }
          case 150:
            if (!this.encodings.includes(ENC.continuousUpdates)) throw new Error('EndOfContinuousUpdates, which was not asked for');
            this.take(1);
            this.on.endOfContinuous?.();
            return true;
          case 248: {
            if (!this.encodings.includes(ENC.fence)) throw new Error('a fence, which was not asked for');
            if (this.avail < 9) return false;
            const length = this.buf[this.pos + 8]!;
            if (length > MAX_FENCE_PAYLOAD) throw new Error(`a fence with a ${length}-byte payload`);
            if (this.avail < 9 + length) return false;
            const flags = this.u32(4);
            const payload = Uint8Array.from(this.buf.subarray(this.pos + 9, this.pos + 9 + length));
            this.take(9 + length);
            this.on.fence?.(flags, payload);
            return true;
          }
          default:
            throw new Error(`unexpected server message type ${type}`);
        }
      }
      case 'rect': {
        this.endRect();
        if (s.left === 0) {
          this.finishUpdate();
          return true;
        }
        if (this.avail < 12) return false;
        const w = this.u16(4);
        const h = this.u16(6);
        const encoding = this.buf.readInt32BE(this.pos + 8);
        const name = ENCODING_NAMES[encoding] ?? String(encoding);
        this.rectsByEncoding[name] = (this.rectsByEncoding[name] ?? 0) + 1;
        this.rect = { encoding: name, start: this.consumed };
        this.take(12);
        const left = s.left - 1;
        this.update!.rects += 1;
        if (encoding >= 0) this.update!.pixels += w * h;
        switch (encoding) {
          case ENC.raw:
            this.state = { k: 'rect', left };
            this.skipBytes(w * h * BPP);
            return true;
          case ENC.copyRect:
            this.state = { k: 'rect', left };
            this.skipBytes(4);
            return true;
          case ENC.zrle:
            this.state = { k: 'zrle', left };
            return true;
          case ENC.tight:
            this.state = { k: 'tight', left, w, h };
            return true;
          case ENC.hextile:
            this.state = { k: 'hextile', left, w, h, tx: 0, ty: 0 };
            return true;
          case ENC.desktopSize:
            this.width = w;
            this.height = h;
            this.state = { k: 'rect', left };
            return true;
          case ENC.lastRect:
            this.endRect();
            this.finishUpdate();
            return true;
          default:
            throw new Error(`the server sent encoding ${encoding}, which was not asked for`);
        }
      }
      case 'zrle': {
        if (this.avail < 4) return false;
        const length = this.u32(0);
        this.take(4);
        this.state = { k: 'rect', left: s.left };
        this.skipBytes(length);
        return true;
      }
      case 'tight':
        return this.tight(s);
      case 'hextile':
        return this.hextile(s);
    }
  }

  private tight(s: Extract<State, { k: 'tight' }>): boolean {
    if (this.avail < 1) return false;
    const control = this.buf[this.pos]!;
    const kind = control >> 4;
    const next: State = { k: 'rect', left: s.left };
    if (kind === 8) {
      if (this.avail < 1 + TPIXEL) return false;
      this.take(1 + TPIXEL);
      this.tightKinds.fill += 1;
      this.state = next;
      return true;
    }
    if (kind === 9) {
      const length = this.compact(1);
      if (!length) return false;
      this.take(1 + length[1]);
      this.tightKinds.jpeg += 1;
      this.state = next;
      this.skipBytes(length[0]);
      return true;
    }
    if (kind > 9) throw new Error(`Tight compression control 0x${control.toString(16)} (not asked for)`);
    let at = 1;
    let filter = 0;
    if (control & 0x40) {
      if (this.avail < 2) return false;
      filter = this.buf[this.pos + 1]!;
      at = 2;
    }
    let size: number;
    if (filter === 0) {
      size = s.w * s.h * TPIXEL;
      this.tightKinds.copy += 1;
    } else if (filter === 1) {
      if (this.avail < at + 1) return false;
      const colours = this.buf[this.pos + at]! + 1;
      at += 1 + colours * TPIXEL;
      if (this.avail < at) return false;
      size = colours === 2 ? ((s.w + 7) >> 3) * s.h : s.w * s.h;
      if (colours === 2) this.tightKinds.palette2 += 1;
      else this.tightKinds.palette += 1;
    } else if (filter === 2) {
      size = s.w * s.h * TPIXEL;
      this.tightKinds.gradient += 1;
    } else throw new Error(`Tight filter ${filter}`);
    if (size < TIGHT_MIN_TO_COMPRESS) {
      if (this.avail < at + size) return false;
      this.take(at + size);
      this.tightKinds.uncompressed += 1;
      this.state = next;
      return true;
    }
    const length = this.compact(at);
    if (!length) return false;
    this.take(at + length[1]);
    this.state = next;
    this.skipBytes(length[0]);
    return true;
  }

  private hextile(s: Extract<State, { k: 'hextile' }>): boolean {
    if (s.ty >= s.h) {
      this.state = { k: 'rect', left: s.left };
      return true;
    }
    const tw = Math.min(16, s.w - s.tx);
    const th = Math.min(16, s.h - s.ty);
    if (this.avail < 1) return false;
    const sub = this.buf[this.pos]!;
    const advance = () => {
      s.tx += 16;
      if (s.tx >= s.w) {
        s.tx = 0;
        s.ty += 16;
      }
    };
    if (sub & 1) {
      this.take(1);
      advance();
      this.skipBytes(tw * th * BPP);
      return true;
    }
    let at = 1;
    if (sub & 2) at += BPP;
    if (sub & 4) at += BPP;
    if (sub & 8) {
      if (this.avail < at + 1) return false;
      const n = this.buf[this.pos + at]!;
      at += 1 + n * (sub & 16 ? BPP + 2 : 2);
    }
    if (this.avail < at) return false;
    this.take(at);
    advance();
    return true;
  }

  private endRect(): void {
    if (!this.rect) return;
    this.bytesByEncoding[this.rect.encoding] = (this.bytesByEncoding[this.rect.encoding] ?? 0) + this.consumed - this.rect.start;
    this.rect = null;
  }

  private finishUpdate(): void {
    const u = this.update!;
    this.update = null;
    this.state = { k: 'msg' };
    this.on.update({ bytes: this.consumed - u.start, rects: u.rects, pixels: u.pixels, startedAt: u.startedAt, at: performance.now() });
  }
}
