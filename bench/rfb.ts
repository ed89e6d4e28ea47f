// GUI (RFB) benchmark: what a viewer of a Holdfast GUI session gets, against Debian's
// noVNC stack (websockify relaying a WebSocket to the display's Unix socket) talking to
// the SAME Xvnc in the same run. Bundled and run by scripts/bench.mjs (`--only=rfb`).
//
// One client, two transports. The client (this file) speaks RFB 3.8 the way noVNC
// does: security None, shared ClientInit, SetPixelFormat 32 bpp true colour, and one
// SetEncodings list on both paths (ENCODINGS below: noVNC's list without H.264 and
// without the pseudo-encodings it would have to parse — cursor and extended desktop
// size; the continuous-mode viewers add fences and continuous updates, and answer
// fences as noVNC does). It does not decode pixels; it finds every message
// boundary of the server's stream (FramebufferUpdate rects in each announced encoding,
// Tight's compact lengths / filters / palettes, LastRect; Bell, ServerCutText,
// SetColourMapEntries), which is all a frame count and a byte count need.
//   holdfast:  the session's WebSocket (holdfast.v1): the viewer's own RFB stream in
//              RFB frames, each input message in its own numbered INPUT frame, the
//              server's bytes from OUTPUT frames (acknowledged as the bench's protocol
//              client does, every window/4 bytes or after 50 ms).
//   reference: `websockify --unix-target=<the session's rfb.sock> 127.0.0.1:PORT`,
//              subprotocol `binary`, raw RFB both ways: what Debian's noVNC talks to.
// Both viewers are connected to the display throughout; only one has an update request
// outstanding at a time (Xvnc sends only on request, so the idle one costs nothing).
//
// What is measured, paths alternated in blocks in ABBA order:
//   fps:      app `gui-scroll` (xterm, 1280×800, `seq` scrolling forever). Per block,
//             one incremental update request is always outstanding (the next is sent
//             the moment an update has fully arrived); the block's first update (the
//             damage piled up while this viewer was idle) is not counted, then updates
//             completed within the block's time are. Reported: updates/s, bytes per
//             update (the RFB bytes of the counted updates / their number; for
//             holdfast that is the OUTPUT payload) and MB/s.
//   fps, continuous: the same app in a second session, as noVNC really runs against
//             TigerVNC: the viewers announce fences and continuous updates, and each
//             block turns continuous updates on (Xvnc sends unasked, paced by its
//             frame rate and congestion control, which times its fences' round
//             trips) and off again. This is what a person gets; the request mode
//             above lays bare the per-update round trip.
//   latency:  app `gui-echo` (xterm running cat, idle). Per press: an incremental
//             request is outstanding and the screen has been quiet for QUIET_MS; the
//             clock starts just before the KeyEvent down is sent (then up), and stops
//             when the first FramebufferUpdate after it has fully arrived. Every
//             RETURN_EVERY presses a Return (not timed) keeps the line short.
// Budget (the issue): holdfast fps ≥ the reference's AND bytes/update ≤ the reference's,
// against noVNC as it runs: with continuous updates. The request mode is reported
// beside it, the same way, as a diagnostic (noVNC never runs so against TigerVNC).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { encodeRfb } from '../shared/protocol/frames.js';
import { keyEvent, setEncodings, setPixelFormatBgrx, updateRequest } from '../shared/protocol/rfb.js';
import { freePort } from '../support/etcd.js';
import type { StatsHelpers } from './failover.js';

/** A launched GUI session on the bench's protocol client (scripts/bench.mjs, ProtoSession). */
export interface HoldfastRfbSession {
  sessionId: string;
  /** Where the server's bytes (OUTPUT payloads) go. */
  onOutput(receiver: (data: Uint8Array) => void): void;
  /** One numbered INPUT frame holding `bytes`. */
  input(bytes: Uint8Array): void;
  /** Sends a whole binary frame. */
  sendFrame(frame: Uint8Array): void;
  /** What went wrong on the connection so far (error messages, unexpected frames). */
  problems(): string[];
  close(): Promise<unknown>;
}

export interface RfbOptions extends StatsHelpers {
  launch(appId: string): Promise<HoldfastRfbSession>;
  /** The node's stateDir: rfb sockets are at <stateDir>/sandboxes/<id>/display/rfb.sock. */
  stateDir: string;
  fpsBlocks: number;
  fpsBlockMs: number;
  keyPresses: number;
  keyBlocks: number;
  websockify?: string;
  /** The broker node's pid: its CPU time is the holdfast relay's cost (websockify's is the reference's). */
  nodePid?: number;
  /** The bench's process bookkeeping, so an interrupted run still ends websockify. */
  track?(pid: number, label: string, kill: (signal: NodeJS.Signals) => void): void;
  untrack?(pid: number): void;
  progress?(line: string): void;
}

export const RFB_APPS = {
  scroll: 'gui-scroll',
  echo: 'gui-echo',
} as const;

const ENC = {
  raw: 0,
  copyRect: 1,
  hextile: 5,
  tight: 7,
  zrle: 16,
  desktopSize: -223,
  lastRect: -224,
  fence: -312,
  continuousUpdates: -313,
} as const;
/** noVNC's preference order (CopyRect, Tight, …, Raw), ZRLE in where noVNC 1.7 has it; quality 6, compression 2 (noVNC's defaults). */
const QUALITY = 6;
const COMPRESSION = 2;
const ENCODINGS = [ENC.copyRect, ENC.tight, ENC.zrle, ENC.hextile, ENC.raw, -32 + QUALITY, -256 + COMPRESSION, ENC.desktopSize, ENC.lastRect];
/**
 * What noVNC really announces to TigerVNC besides: fences and continuous updates. On the
 * first EndOfContinuousUpdates noVNC turns them on and stops asking for updates; Xvnc
 * then pushes them at its own pace, held back by its congestion control (which times
 * the round trip of its fences). The continuous-mode viewers announce these too.
 */
const ENCODINGS_CONTINUOUS = [...ENCODINGS, ENC.fence, ENC.continuousUpdates];
/** Fence flags (RFB community spec): the three a client may echo back, and "this is a request". */
const FENCE_ECHOED_FLAGS = 0b111;
const FENCE_REQUEST = 0x8000_0000;
const MAX_FENCE_PAYLOAD = 64;
const ENCODING_NAMES: Record<number, string> = { 0: 'Raw', 1: 'CopyRect', 5: 'Hextile', 7: 'Tight', 16: 'ZRLE', [-223]: 'DesktopSize', [-224]: 'LastRect' };

/** Tight sends pixels as 3 bytes (TPIXEL) for 32 bpp, depth 24, true colour, max 255 each: our format. */
const TPIXEL = 3;
const BPP = 4;
const TIGHT_MIN_TO_COMPRESS = 12;
const MAX_SERVER_CUT_TEXT = 16 * 1024 * 1024;
const KEY_A = 0x61;
const KEY_RETURN = 0xff0d;
const QUIET_MS = 40;
const RETURN_EVERY = 40;
const UPDATE_TIMEOUT_MS = 5000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** EnableContinuousUpdates (client message 150): on/off and the region. */
function enableContinuousUpdates(enable: boolean, x: number, y: number, width: number, height: number): Uint8Array {
  const b = Buffer.alloc(10);
  b[0] = 150;
  b[1] = enable ? 1 : 0;
  b.writeUInt16BE(x, 2);
  b.writeUInt16BE(y, 4);
  b.writeUInt16BE(width, 6);
  b.writeUInt16BE(height, 8);
  return b;
}

/** ClientFence (client message 248): flags and a payload of up to 64 bytes. */
function clientFence(flags: number, payload: Uint8Array): Uint8Array {
  const b = Buffer.alloc(9 + payload.length);
  b[0] = 248;
  b.writeUInt32BE(flags >>> 0, 4);
  b[8] = payload.length;
  b.set(payload, 9);
  return b;
}

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
class ServerStream {
  width = 0;
  height = 0;
  name = '';
  /** Stream bytes consumed (parsed or skipped) so far. */
  consumed = 0;
  bells = 0;
  cutTexts = 0;
  colourMaps = 0;
  readonly rectsByEncoding: Record<string, number> = {};
  readonly bytesByEncoding: Record<string, number> = {};
  readonly tightKinds = { fill: 0, jpeg: 0, copy: 0, palette2: 0, palette: 0, gradient: 0, uncompressed: 0 };
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  private skip = 0;
  private state: State = { k: 'version' };
  private update: { start: number; startedAt: number; rects: number; pixels: number } | null = null;
  private rect: { encoding: string; start: number } | null = null;
  private failed: Error | null = null;

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
  ) {}

  push(chunk: Uint8Array): void {
    if (this.failed) return;
    let c = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.skip > 0) {
      const n = Math.min(this.skip, c.length);
      this.skip -= n;
      this.consumed += n;
      c = c.subarray(n);
      if (this.skip > 0) return;
    }
    this.buf = this.pos < this.buf.length ? Buffer.concat([this.buf.subarray(this.pos), c]) : c;
    this.pos = 0;
    try {
      while (this.skip === 0 && this.step()) {
        /* next element */
      }
    } catch (error) {
      this.failed = error as Error;
      this.on.error(this.failed);
    }
  }

  private get avail(): number {
    return this.buf.length - this.pos;
  }

  private take(n: number): void {
    this.pos += n;
    this.consumed += n;
  }

  private skipBytes(n: number): void {
    const m = Math.min(n, this.avail);
    this.take(m);
    this.skip = n - m;
  }

  private u16(at: number): number {
    return this.buf.readUInt16BE(this.pos + at);
  }

  private u32(at: number): number {
    return this.buf.readUInt32BE(this.pos + at);
  }

  /** Tight's compact length at `at`: [value, bytes it took], or null if not all here. */
  private compact(at: number): [number, number] | null {
    if (this.avail < at + 1) return null;
    const b0 = this.buf[this.pos + at]!;
    let value = b0 & 0x7f;
    if (!(b0 & 0x80)) return [value, 1];
    if (this.avail < at + 2) return null;
    const b1 = this.buf[this.pos + at + 1]!;
    value |= (b1 & 0x7f) << 7;
    if (!(b1 & 0x80)) return [value, 2];
    if (this.avail < at + 3) return null;
    value |= this.buf[this.pos + at + 2]! << 14;
    return [value, 3];
  }

  /** Parses one element; false when it needs more bytes. */
  private step(): boolean {
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

/** The bench's RFB viewer: one ServerStream over a transport, with waits for updates. */
class Viewer {
  readonly stream: ServerStream;
  updates = 0;
  /** An update request is outstanding (sent, its update not yet fully here). */
  outstanding = false;
  /** performance.now() when the last update request was sent. */
  requestedAt = 0;
  lastUpdate: UpdateInfo | null = null;
  onUpdate: ((info: UpdateInfo) => void) | null = null;
  error: Error | null = null;
  readonly ready: Promise<void>;
  /** Continuous mode: EndOfContinuousUpdates seen so far, and fences answered. */
  endsOfContinuous = 0;
  fences = 0;
  /** WebSocket messages received: one per read of the display's socket by either relay. */
  messages = 0;
  private waiters: Array<{ resolve: (info: UpdateInfo) => void; reject: (error: Error) => void }> = [];
  private endWaiters: Array<() => void> = [];
  private resolveReady!: () => void;
  private rejectReady!: (error: Error) => void;

  constructor(
    readonly path: 'holdfast' | 'reference',
    private readonly transport: { viewer(bytes: Uint8Array): void; input(bytes: Uint8Array): void },
    readonly continuous = false,
  ) {
    this.ready = new Promise((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.ready.catch(() => {});
    this.stream = new ServerStream({
      send: (bytes) => transport.viewer(bytes),
      ready: () => this.resolveReady(),
      update: (info) => {
        this.updates += 1;
        this.outstanding = false;
        this.lastUpdate = info;
        this.onUpdate?.(info);
        for (const w of this.waiters.splice(0)) w.resolve(info);
      },
      error: (error) => this.fail(error),
      endOfContinuous: () => {
        this.endsOfContinuous += 1;
        for (const resolve of this.endWaiters.splice(0)) resolve();
      },
      // As noVNC answers a fence request: the same payload, only the flags it knows.
      fence: (flags, payload) => {
        if (!(flags & FENCE_REQUEST)) return;
        this.fences += 1;
        transport.viewer(clientFence(flags & FENCE_ECHOED_FLAGS, payload));
      },
    }, continuous ? ENCODINGS_CONTINUOUS : ENCODINGS);
  }

  /**
   * Turns continuous updates on for the whole screen (Xvnc then sends as the screen
   * changes, unasked) or off; off resolves once the server has said so (its
   * EndOfContinuousUpdates comes after the last update it sent), or after `ms`.
   */
  setContinuous(enable: boolean, ms = UPDATE_TIMEOUT_MS): Promise<boolean> {
    const ended = enable
      ? Promise.resolve(true)
      : Promise.race([new Promise<boolean>((resolve) => this.endWaiters.push(() => resolve(true))), sleep(ms).then(() => false)]);
    this.transport.viewer(enableContinuousUpdates(enable, 0, 0, this.stream.width, this.stream.height));
    return ended;
  }

  fail(error: Error): void {
    if (this.error) return;
    this.error = error;
    this.rejectReady(error);
    for (const w of this.waiters.splice(0)) w.reject(error);
  }

  request(incremental: boolean): void {
    this.outstanding = true;
    this.requestedAt = performance.now();
    this.transport.viewer(updateRequest(incremental, 0, 0, this.stream.width, this.stream.height));
  }

  key(keysym: number, down: boolean): void {
    this.transport.input(keyEvent(down, keysym));
  }

  /** The next update to fully arrive. */
  nextUpdate(ms = UPDATE_TIMEOUT_MS): Promise<UpdateInfo> {
    if (this.error) return Promise.reject(this.error);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(new Error(`${this.path}: no update within ${ms} ms`));
      }, ms);
      const done = (info: UpdateInfo) => {
        clearTimeout(timer);
        resolve(info);
      };
      this.waiters.push({
        resolve: done,
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
    });
  }

  /** One message of the relay's stream. */
  received(data: Uint8Array): void {
    this.messages += 1;
    this.stream.push(data);
  }

  /** Waits for the outstanding request's update, if any (bounded). */
  async settle(ms = UPDATE_TIMEOUT_MS): Promise<boolean> {
    if (!this.outstanding) return true;
    try {
      await this.nextUpdate(ms);
      return true;
    } catch {
      return false;
    }
  }
}

// ---- transports --------------------------------------------------------------------

function holdfastViewer(session: HoldfastRfbSession, continuous: boolean): Viewer {
  const viewer = new Viewer(
    'holdfast',
    {
      viewer: (bytes) => session.sendFrame(encodeRfb(bytes)),
      input: (bytes) => session.input(bytes),
    },
    continuous,
  );
  session.onOutput((data) => viewer.received(data));
  return viewer;
}

interface Reference {
  viewer: Viewer;
  ws: WebSocket;
  websockify: ChildProcess;
  /** websockify and the handler it forked for our connection. */
  pids(): number[];
  stderr: () => string;
  close(): Promise<void>;
}

async function referenceViewer(socketPath: string, options: RfbOptions, continuous: boolean): Promise<Reference> {
  const port = await freePort();
  // Its own process group, so the handler it forks per connection ends with it.
  const child = spawn(options.websockify ?? '/usr/bin/websockify', [`--unix-target=${socketPath}`, `127.0.0.1:${port}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  const pid = child.pid!;
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pid, signal);
    } catch {
      /* gone */
    }
  };
  options.track?.(pid, 'websockify', killGroup);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString('utf8')).slice(-4096)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let exitedNow = false;
  void exited.then(() => (exitedNow = true));
  const stop = async () => {
    killGroup('SIGTERM');
    await Promise.race([exited, sleep(3000)]);
    killGroup('SIGKILL');
    await Promise.race([exited, sleep(2000)]);
    options.untrack?.(pid);
  };
  try {
    const deadline = performance.now() + 10_000;
    let ws: WebSocket | null = null;
    while (!ws) {
      if (exitedNow) throw new Error(`websockify exited: ${stderr.trim().split('\n').at(-1) ?? ''}`);
      if (performance.now() > deadline) throw new Error(`websockify did not listen within 10 s: ${stderr.trim().split('\n').at(-1) ?? ''}`);
      const attempt = new WebSocket(`ws://127.0.0.1:${port}/`, ['binary'], { perMessageDeflate: false, maxPayload: 64 << 20 });
      attempt.binaryType = 'nodebuffer';
      const ok = await new Promise<boolean>((resolve) => {
        attempt.once('open', () => resolve(true));
        attempt.once('error', () => resolve(false));
      });
      if (ok) ws = attempt;
      else {
        attempt.terminate();
        await sleep(50);
      }
    }
    const socket = ws;
    const send = (bytes: Uint8Array) => {
      if (socket.readyState === WebSocket.OPEN) socket.send(bytes);
    };
    const viewer = new Viewer('reference', { viewer: send, input: send }, continuous);
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) viewer.received(data);
      else viewer.fail(new Error('websockify sent a text frame'));
    });
    socket.on('close', () => viewer.fail(new Error('the websockify connection closed')));
    socket.on('error', (error) => viewer.fail(error));
    return {
      viewer,
      ws: socket,
      websockify: child,
      pids: () => [pid, ...childrenOf(pid)],
      stderr: () => stderr,
      async close() {
        if (socket.readyState === WebSocket.OPEN) socket.close(1000);
        await Promise.race([new Promise((resolve) => socket.once('close', resolve)), sleep(2000)]);
        socket.terminate();
        await stop();
      },
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * CPU seconds used so far by these processes: `total` to the nanosecond (the scheduler's
 * run time of every thread), and `system`, the kernel's part, in 10 ms ticks.
 */
function cpuSeconds(pids: number[]): { total: number; system: number } {
  let ns = 0;
  let system = 0;
  for (const pid of pids) {
    try {
      const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
      system += Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[12]);
      for (const task of readdirSync(`/proc/${pid}/task`)) {
        try {
          ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
        } catch {
          /* the thread ended */
        }
      }
    } catch {
      /* gone */
    }
  }
  return { total: ns / 1e9, system: system / 100 };
}

/** Read and write system calls made so far by these processes (every thread; /proc/PID/io). */
function ioCalls(pids: number[]): { reads: number; writes: number } {
  let reads = 0;
  let writes = 0;
  for (const pid of pids) {
    try {
      const text = readFileSync(`/proc/${pid}/io`, 'utf8');
      reads += Number(/^syscr: (\d+)/m.exec(text)?.[1] ?? 0);
      writes += Number(/^syscw: (\d+)/m.exec(text)?.[1] ?? 0);
    } catch {
      /* gone */
    }
  }
  return { reads, writes };
}

function rfbSockets(stateDir: string): Set<string> {
  const dir = join(stateDir, 'sandboxes');
  const out = new Set<string>();
  if (!existsSync(dir)) return out;
  for (const id of readdirSync(dir)) {
    const path = join(dir, id, 'display', 'rfb.sock');
    if (existsSync(path)) out.add(path);
  }
  return out;
}

interface Pair {
  holdfast: Viewer;
  reference: Viewer;
  /** The processes relaying each path (broker node / websockify), for their CPU time. */
  relayPids: { holdfast: () => number[]; reference: () => number[] };
  socketPath: string;
  geometry: string;
  desktopName: string;
}

/**
 * Launches `appId` as a holdfast session, finds its display's socket, and connects both
 * viewers (`continuous`: viewers that announce fences and continuous updates, as noVNC does).
 */
async function openPair(appId: string, options: RfbOptions, cleanup: Array<() => Promise<unknown>>, continuous = false): Promise<Pair> {
  const before = rfbSockets(options.stateDir);
  const session = await options.launch(appId);
  cleanup.push(() => session.close());
  const holdfast = holdfastViewer(session, continuous);
  let socketPath: string | undefined;
  const deadline = performance.now() + 15_000;
  while (!socketPath) {
    const fresh = [...rfbSockets(options.stateDir)].filter((p) => !before.has(p));
    if (fresh.length > 1) throw new Error(`more than one new rfb socket under ${options.stateDir}: ${fresh.join(', ')}`);
    socketPath = fresh[0];
    if (!socketPath) {
      if (performance.now() > deadline) throw new Error(`no rfb.sock appeared for ${appId} within 15 s (${session.problems().join('; ')})`);
      await sleep(20);
    }
  }
  const reference = await referenceViewer(socketPath, options, continuous);
  cleanup.push(() => reference.close());
  const ready = (v: Viewer, what: string) =>
    Promise.race([v.ready, sleep(15_000).then(() => Promise.reject(new Error(`${what}: no RFB handshake within 15 s`)))]);
  await ready(holdfast, `holdfast (${session.problems().join('; ')})`);
  await ready(reference.viewer, `reference (websockify: ${reference.stderr().trim().split('\n').at(-1) ?? ''})`);
  // A whole frame for each, one after the other, so nothing is left pending.
  await fullFrame(holdfast);
  await fullFrame(reference.viewer);
  return {
    holdfast,
    reference: reference.viewer,
    relayPids: { holdfast: () => (options.nodePid ? [options.nodePid] : []), reference: () => reference.pids() },
    socketPath,
    geometry: `${holdfast.stream.width}x${holdfast.stream.height}`,
    desktopName: holdfast.stream.name,
  };
}

// ---- measurements --------------------------------------------------------------------

/** Asks for the whole screen (non-incremental) and returns its update. */
async function fullFrame(v: Viewer): Promise<UpdateInfo> {
  await v.settle();
  const next = v.nextUpdate();
  v.request(false);
  return next;
}

const fullFrames = async (pair: Pair) => ({ holdfast: (await fullFrame(pair.holdfast)).bytes, reference: (await fullFrame(pair.reference)).bytes });

interface FpsBlock {
  path: string;
  updates: number;
  bytes: number;
  pixels: number;
  /** Sums over the counted updates: request sent → first byte, first byte → fully here (ms). */
  waitMs: number;
  transferMs: number;
  relayCpuSeconds: number;
  /** The part of it spent in the kernel (system calls, the loopback's TCP). */
  relaySystemSeconds: number;
  /** Messages the viewer received meanwhile: each relay sends one per read of the display's socket. */
  relayMessages: number;
  /** CPU this process (the viewers, and the bench around them) used meanwhile. */
  viewerCpuSeconds: number;
  /** Read and write system calls the relay made meanwhile (/proc/PID/io syscr, syscw). */
  relayReads: number;
  relayWrites: number;
  seconds: number;
  drainBytes: number;
  settled: boolean;
}

/** What one block counts of its updates, and what the relay spent meanwhile (from now until `stop`). */
function blockTally(v: Viewer, relay: () => number[]) {
  const pids = relay();
  const cpu0 = cpuSeconds(pids);
  const io0 = ioCalls(pids);
  const messages0 = v.messages;
  const viewer0 = process.cpuUsage();
  const counts = { updates: 0, bytes: 0, pixels: 0, waitMs: 0, transferMs: 0 };
  return {
    counts,
    count(info: UpdateInfo, waitedMs: number): void {
      counts.updates += 1;
      counts.bytes += info.bytes;
      counts.pixels += info.pixels;
      counts.waitMs += waitedMs;
      counts.transferMs += info.at - info.startedAt;
    },
    stop() {
      const io = ioCalls(pids);
      const cpu = cpuSeconds(pids);
      const viewer = process.cpuUsage(viewer0);
      return { viewerCpuSeconds: (viewer.user + viewer.system) / 1e6, relayMessages: v.messages - messages0, relayCpuSeconds: cpu.total - cpu0.total, relaySystemSeconds: cpu.system - cpu0.system, relayReads: io.reads - io0.reads, relayWrites: io.writes - io0.writes };
    },
  };
}

/** One block: a request always outstanding for `ms`; the first update (idle damage) not counted. */
async function fpsBlock(v: Viewer, ms: number, relay: () => number[] = () => []): Promise<FpsBlock> {
  const first = v.nextUpdate();
  v.request(true);
  const drain = await first;
  const tally = blockTally(v, relay);
  const end = performance.now() + ms;
  let finished!: () => void;
  const done = new Promise<void>((resolve) => (finished = resolve));
  v.onUpdate = (info) => {
    if (info.at <= end) {
      tally.count(info, info.startedAt - v.requestedAt);
      if (performance.now() < end) {
        v.request(true);
        return;
      }
    }
    finished();
  };
  v.request(true);
  await Promise.race([done, sleep(ms + UPDATE_TIMEOUT_MS)]);
  v.onUpdate = null;
  const spent = tally.stop();
  const settled = await v.settle();
  if (v.error) throw v.error;
  return { path: v.path, ...tally.counts, ...spent, seconds: ms / 1000, drainBytes: drain.bytes, settled };
}

/**
 * One block as noVNC runs against TigerVNC: continuous updates on for `ms` (none asked
 * for; Xvnc sends as the screen changes, paced by its frame rate and its congestion
 * control), the first update (the damage piled up while this viewer was off) not
 * counted, then off again, waiting for Xvnc's EndOfContinuousUpdates. `waitMs` here is
 * the gap from an update's last byte to the next one's first.
 */
async function fpsBlockContinuous(v: Viewer, ms: number, relay: () => number[] = () => []): Promise<FpsBlock> {
  const first = v.nextUpdate();
  await v.setContinuous(true);
  const drain = await first;
  const tally = blockTally(v, relay);
  let lastAt = drain.at;
  const end = performance.now() + ms;
  v.onUpdate = (info) => {
    if (info.at > end) return;
    tally.count(info, Math.max(0, info.startedAt - lastAt));
    lastAt = info.at;
  };
  await sleep(ms);
  v.onUpdate = null;
  const spent = tally.stop();
  const settled = await v.setContinuous(false);
  if (v.error) throw v.error;
  return { path: v.path, ...tally.counts, ...spent, seconds: ms / 1000, drainBytes: drain.bytes, settled };
}

/** updates/s, bytes, CPU and timings of one path over its blocks. */
function fpsOf(blocks: FpsBlock[], path: string, pair: Pair) {
  const mine = blocks.filter((x) => x.path === path);
  const updates = mine.reduce((s, x) => s + x.updates, 0);
  const bytes = mine.reduce((s, x) => s + x.bytes, 0);
  const seconds = mine.reduce((s, x) => s + x.seconds, 0);
  const pixels = mine.reduce((s, x) => s + x.pixels, 0);
  const cpu = mine.reduce((s, x) => s + x.relayCpuSeconds, 0);
  const system = mine.reduce((s, x) => s + x.relaySystemSeconds, 0);
  const messages = mine.reduce((s, x) => s + x.relayMessages, 0);
  const viewerCpu = mine.reduce((s, x) => s + x.viewerCpuSeconds, 0);
  const relayReads = mine.reduce((s, x) => s + x.relayReads, 0);
  const relayWrites = mine.reduce((s, x) => s + x.relayWrites, 0);
  const waitMs = mine.reduce((s, x) => s + x.waitMs, 0);
  const transferMs = mine.reduce((s, x) => s + x.transferMs, 0);
  return {
    updatesPerSecond: r(updates / seconds, 2),
    bytesPerUpdate: r(bytes / Math.max(1, updates), 0),
    MBs: r(bytes / seconds / 2 ** 20, 2),
    /** Mean share of the screen an update covers (its rects' area / the screen's). */
    screenPerUpdate: r(pixels / Math.max(1, updates) / (pair.holdfast.stream.width * pair.holdfast.stream.height), 3),
    /** CPU the relay used (broker node / websockify), as a share of one core, while this path was measured. */
    relayCpuShare: r(cpu / seconds, 3),
    /**
     * The relay's read and write system calls per update (null where none were counted:
     * /proc/PID/io counts read/write/readv/writev, which the node uses, but not the
     * recvfrom/sendto of websockify's Python sockets), and its CPU per update (µs).
     */
    relayReadsPerUpdate: relayReads > 0 ? r(relayReads / Math.max(1, updates), 1) : null,
    relayWritesPerUpdate: relayWrites > 0 ? r(relayWrites / Math.max(1, updates), 1) : null,
    relayCpuUsPerUpdate: r((cpu * 1e6) / Math.max(1, updates), 0),
    /** The kernel's part of relayCpuUsPerUpdate (the rest is the relay's own code, in user space). */
    relaySystemUsPerUpdate: r((system * 1e6) / Math.max(1, updates), 0),
    /**
     * Messages relayed per update (each relay sends one per read of the display's
     * socket, so this counts websockify's reads too), and the relay's CPU per message:
     * what one wake-up of the relay costs, whatever the updates' sizes.
     */
    relayMessagesPerUpdate: r(messages / Math.max(1, updates), 1),
    relayCpuUsPerMessage: r((cpu * 1e6) / Math.max(1, messages), 1),
    /** The viewer's own CPU per update (this process: the holdfast path parses and acknowledges OUTPUT frames too). */
    viewerCpuUsPerUpdate: r((viewerCpu * 1e6) / Math.max(1, updates), 0),
    /** Mean time from sending the request (continuous mode: from the last update's last byte) to the update's first byte, and from its first byte to its last. */
    requestToFirstByteMs: r(waitMs / Math.max(1, updates), 2),
    firstToLastByteMs: r(transferMs / Math.max(1, updates), 2),
    updates,
    bytes,
    seconds,
    perBlock: mine.map((x) => ({ relayCpuShare: r(x.relayCpuSeconds / x.seconds, 3), updatesPerSecond: r(x.updates / x.seconds, 2), bytesPerUpdate: r(x.bytes / Math.max(1, x.updates), 0), skippedFirstUpdateBytes: x.drainBytes, settled: x.settled })),
  };
}

/** Waits until the viewer's outstanding request has gone unanswered for QUIET_MS (bounded). */
async function quiet(v: Viewer): Promise<boolean> {
  const deadline = performance.now() + 3000;
  while (performance.now() < deadline) {
    if (!v.outstanding) v.request(true);
    const seen = v.updates;
    await sleep(QUIET_MS);
    if (v.updates === seen) return true;
  }
  return false;
}

async function keyBlock(v: Viewer, presses: number, counter: { n: number }, samples: number[]): Promise<{ notQuiet: number; lost: number }> {
  let notQuiet = 0;
  let lost = 0;
  for (let i = 0; i < presses; i++) {
    counter.n += 1;
    if (counter.n % RETURN_EVERY === 0) {
      v.key(KEY_RETURN, true);
      v.key(KEY_RETURN, false);
      await sleep(QUIET_MS);
    }
    if (!(await quiet(v))) notQuiet += 1;
    const keysym = KEY_A + (counter.n % 26);
    const next = v.nextUpdate(2000);
    const t0 = performance.now();
    v.key(keysym, true);
    v.key(keysym, false);
    try {
      const info = await next;
      samples.push(info.at - t0);
    } catch {
      if (v.error) throw v.error;
      lost += 1;
    }
  }
  return { notQuiet, lost };
}

const r = (v: number, d = 1) => (Number.isFinite(v) ? Math.round(v * 10 ** d) / 10 ** d : null);

type EncodingReport = ReturnType<typeof encodingReport>;

/** What was sent between two reports (counts only grow). */
function encodingDiff(after: EncodingReport, before: EncodingReport): EncodingReport {
  const sub = (a: Record<string, number>, b: Record<string, number>) => Object.fromEntries(Object.entries(a).map(([k, v]) => [k, v - (b[k] ?? 0)]));
  return {
    rects: sub(after.rects, before.rects),
    bytes: sub(after.bytes, before.bytes),
    tight: sub(after.tight, before.tight) as EncodingReport['tight'],
    bells: after.bells - before.bells,
    cutTexts: after.cutTexts - before.cutTexts,
    colourMaps: after.colourMaps - before.colourMaps,
  };
}

function encodingReport(v: Viewer) {
  const s = v.stream;
  return { rects: { ...s.rectsByEncoding }, bytes: { ...s.bytesByEncoding }, tight: { ...s.tightKinds }, bells: s.bells, cutTexts: s.cutTexts, colourMaps: s.colourMaps };
}

export async function run(options: RfbOptions): Promise<Record<string, unknown>> {
  const progress = options.progress ?? (() => {});
  const cleanup: Array<() => Promise<unknown>> = [];
  const closeAll = async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => {});
  };
  try {
    // ---- fps on the scrolling xterm
    const scroll = await openPair(RFB_APPS.scroll, options, cleanup);
    // Warm-up: both viewers, briefly, so xterm's loop and Xvnc are in their stride.
    await fpsBlock(scroll.holdfast, 1000);
    await fpsBlock(scroll.reference, 1000);
    const scrollFullFrame = await fullFrames(scroll);
    progress(`gui-scroll at ${scroll.geometry}; a whole frame while it scrolls: ${scrollFullFrame.holdfast} B (holdfast) / ${scrollFullFrame.reference} B (reference)`);
    const encodingsBefore = { holdfast: encodingReport(scroll.holdfast), reference: encodingReport(scroll.reference) };
    const blocks: FpsBlock[] = [];
    for (let b = 0; b < options.fpsBlocks; b++) {
      const order = b % 2 === 0 ? [scroll.holdfast, scroll.reference] : [scroll.reference, scroll.holdfast];
      for (const v of order) blocks.push(await fpsBlock(v, options.fpsBlockMs, scroll.relayPids[v.path]));
      progress(`fps block ${b + 1}/${options.fpsBlocks}: ${blocks.slice(-2).map((x) => `${x.path} ${(x.updates / x.seconds).toFixed(1)}/s ${Math.round(x.bytes / Math.max(1, x.updates))} B`).join(', ')}`);
    }
    const fpsEncodings = {
      holdfast: encodingDiff(encodingReport(scroll.holdfast), encodingsBefore.holdfast),
      reference: encodingDiff(encodingReport(scroll.reference), encodingsBefore.reference),
    };
    const fps = { holdfast: fpsOf(blocks, 'holdfast', scroll), reference: fpsOf(blocks, 'reference', scroll) };
    await closeAll();

    // ---- fps again, as noVNC really runs against TigerVNC: continuous updates and fences
    const flow = await openPair(RFB_APPS.scroll, options, cleanup, true);
    await fpsBlockContinuous(flow.holdfast, 1000);
    await fpsBlockContinuous(flow.reference, 1000);
    const continuousBlocks: FpsBlock[] = [];
    for (let b = 0; b < options.fpsBlocks; b++) {
      const order = b % 2 === 0 ? [flow.holdfast, flow.reference] : [flow.reference, flow.holdfast];
      for (const v of order) continuousBlocks.push(await fpsBlockContinuous(v, options.fpsBlockMs, flow.relayPids[v.path]));
      progress(`continuous fps block ${b + 1}/${options.fpsBlocks}: ${continuousBlocks.slice(-2).map((x) => `${x.path} ${(x.updates / x.seconds).toFixed(1)}/s ${Math.round(x.bytes / Math.max(1, x.updates))} B`).join(', ')}`);
    }
    const fpsContinuous = {
      holdfast: fpsOf(continuousBlocks, 'holdfast', flow),
      reference: fpsOf(continuousBlocks, 'reference', flow),
      fencesAnswered: { holdfast: flow.holdfast.fences, reference: flow.reference.fences },
    };
    await closeAll();

    // ---- key → frame latency on the idle xterm
    const echo = await openPair(RFB_APPS.echo, options, cleanup);
    const counter = { n: 0 };
    await keyBlock(echo.holdfast, 10, counter, []);
    await echo.holdfast.settle();
    await keyBlock(echo.reference, 10, counter, []);
    await echo.reference.settle();
    const echoFullFrame = await fullFrames(echo);
    progress(`gui-echo at ${echo.geometry}; a whole frame: ${echoFullFrame.holdfast} B (holdfast) / ${echoFullFrame.reference} B (reference)`);
    const ms: Record<'holdfast' | 'reference', number[]> = { holdfast: [], reference: [] };
    const trouble = { holdfast: { notQuiet: 0, lost: 0 }, reference: { notQuiet: 0, lost: 0 } };
    const per = Math.ceil(options.keyPresses / options.keyBlocks);
    for (let b = 0; b < options.keyBlocks; b++) {
      const order = b % 2 === 0 ? [echo.holdfast, echo.reference] : [echo.reference, echo.holdfast];
      for (const v of order) {
        const t = await keyBlock(v, per, counter, ms[v.path]);
        trouble[v.path].notQuiet += t.notQuiet;
        trouble[v.path].lost += t.lost;
        await v.settle();
      }
    }
    const latencyEncodings = { holdfast: encodingReport(echo.holdfast), reference: encodingReport(echo.reference) };
    await closeAll();

    const lh = options.stats(ms.holdfast);
    const lr = options.stats(ms.reference);
    const ratio = (a: number | null, b: number | null) => (a !== null && b !== null && b !== 0 ? r(a / b, 2) : null);
    type PathFps = ReturnType<typeof fpsOf>;
    const verdict = (f: { holdfast: PathFps; reference: PathFps }) => {
      const rawFps = (x: PathFps) => x.updates / x.seconds;
      const rawBpu = (x: PathFps) => x.bytes / Math.max(1, x.updates);
      return { fpsAtLeastReference: rawFps(f.holdfast) >= rawFps(f.reference), bytesPerUpdateAtMostReference: rawBpu(f.holdfast) <= rawBpu(f.reference) };
    };
    const ratios = (f: { holdfast: PathFps; reference: PathFps }) => ({
      ratioUpdatesPerSecond: ratio(f.holdfast.updatesPerSecond, f.reference.updatesPerSecond),
      ratioBytesPerUpdate: ratio(f.holdfast.bytesPerUpdate, f.reference.bytesPerUpdate),
      ratioMBs: ratio(f.holdfast.MBs, f.reference.MBs),
    });
    const requestVerdict = verdict(fps);
    const continuousVerdict = verdict(fpsContinuous);
    const met = (v: typeof requestVerdict) => v.fpsAtLeastReference && v.bytesPerUpdateAtMostReference;
    const preferred = (e: EncodingReport) =>
      Object.entries(e.bytes)
        .sort((a, b) => b[1] - a[1])
        .map(([k]) => k)[0] ?? null;
    return {
      method:
        'one Node RFB client (security None, shared, 32 bpp true colour, the same SetEncodings on both paths; parses every message boundary, decodes no pixels) over two transports to the same Xvnc: holdfast = the session\'s WebSocket (RFB/INPUT/OUTPUT frames, acked), reference = Debian\'s websockify --unix-target on the display\'s socket (what noVNC talks to). fps (request mode): one incremental request always outstanding on xterm scrolling `seq`, first update of each block (idle damage) not counted; fpsContinuous: a second session of the same app and viewers that also announce fences and continuous updates, as noVNC does, with continuous updates on for each block (fences answered as noVNC answers them), first update not counted; latency: KeyEvent down+up → first FramebufferUpdate fully received, on an idle xterm running cat, screen quiet before each press. Paths alternated in ABBA blocks; only one viewer has a request outstanding at a time.',
      encodingsAnnounced: ENCODINGS,
      geometry: scroll.geometry,
      /** One update request outstanding at a time: the per-update round trip laid bare. */
      fps: { holdfast: fps.holdfast, reference: fps.reference, ...ratios(fps) },
      /** Continuous updates and fences, as noVNC runs against TigerVNC: what a person gets. */
      fpsContinuous: { ...fpsContinuous, ...ratios(fpsContinuous) },
      keyToFrameMs: {
        holdfast: options.roundStats(lh, 2),
        reference: options.roundStats(lr, 2),
        ratioP50: ratio(lh.p50 ?? NaN, lr.p50 ?? NaN),
        ratioP99: ratio(lh.p99 ?? NaN, lr.p99 ?? NaN),
        notQuietBeforePress: trouble,
      },
      wholeFrameBytes: { scroll: scrollFullFrame, echo: echoFullFrame },
      encodingsSeen: {
        preferredByBytes: { holdfast: preferred(fpsEncodings.holdfast), reference: preferred(fpsEncodings.reference) },
        /** The fps blocks only (each block's first update included). */
        scroll: fpsEncodings,
        /** Everything on gui-echo: warm-up, presses, Returns, whole frames. */
        echo: latencyEncodings,
      },
      budget: { rule: 'holdfast updates/s ≥ reference AND holdfast bytes/update ≤ reference (same run, same Xvnc); judged with continuous updates, as noVNC runs against TigerVNC; the one-request mode is a diagnostic' },
      withinBudget: met(continuousVerdict),
      budgetParts: { continuous: continuousVerdict, request: requestVerdict },
      settings: { fpsBlocks: options.fpsBlocks, fpsBlockMs: options.fpsBlockMs, keyPresses: options.keyPresses, keyBlocks: options.keyBlocks, quietMs: QUIET_MS, returnEvery: RETURN_EVERY },
      samples: { keyToFrameMs: { holdfast: ms.holdfast.map((v) => r(v, 3)), reference: ms.reference.map((v) => r(v, 3)) } },
    };
  } finally {
    await closeAll();
  }
}
