// The client's half of RFB (RFC 6143), split into whole messages. A GUI session's
// viewer (noVNC) writes one byte stream; both ends cut it here, the same way:
//
//   - input messages (KeyEvent, PointerEvent, ClientCutText, SetDesktopSize and
//     QEMU's extended KeyEvent) change the app's state. The client sends each as one
//     numbered INPUT frame, so it goes through the session's input log: applied once,
//     in order, on every replica, and resent after a reconnect.
//   - everything else (the handshake, SetPixelFormat, SetEncodings, update requests,
//     fences, continuous updates) only shapes what this one viewer is sent; it travels
//     unnumbered in RFB frames and is dropped with the connection.
//
// Anything else — an unknown type, a length beyond the limits, a handshake we do not
// speak — is refused with a reason; nothing malformed reaches the display.

export const RFB_VERSION = 'RFB 003.008\n';
/** The only security type a viewer may pick: the session's own sign-in is the gate. */
export const SECURITY_NONE = 1;

export const RfbType = {
  setPixelFormat: 0,
  setEncodings: 2,
  updateRequest: 3,
  keyEvent: 4,
  pointerEvent: 5,
  clientCutText: 6,
  enableContinuousUpdates: 150,
  clientFence: 248,
  setDesktopSize: 251,
  qemu: 255,
} as const;

/** Pseudo-encoding for the extended clipboard, which the host strips: text goes as plain ClientCutText. */
export const EXTENDED_CLIPBOARD = 0xc0a1e5ce | 0;

export interface RfbLimits {
  /** Longest ClientCutText the viewer may send (bytes of Latin-1 text). */
  maxCutText: number;
}

/** Clipboard text is capped at this many bytes each way, so it always fits one frame. */
export const MAX_CUT_TEXT = 32 * 1024;
/** The largest desktop a viewer may ask for. */
export const MAX_DESKTOP = 8192;
const MAX_ENCODINGS = 64;
const MAX_FENCE = 64;
const MAX_SCREENS = 16;

export interface RfbMessage {
  kind: 'handshake' | 'viewer' | 'input';
  /** The message type (handshake: -1). */
  type: number;
  bytes: Uint8Array;
}

type Phase = 'version' | 'security' | 'init' | 'messages';

/** Splits a viewer's byte stream into whole messages; refuses anything malformed. */
export class RfbClientParser {
  private phase: Phase = 'version';
  private buffer: Uint8Array = new Uint8Array(0);

  constructor(private readonly limits: RfbLimits = { maxCutText: MAX_CUT_TEXT }) {}

  /** For message-only streams (input frames): start past the handshake. */
  skipHandshake(): this {
    this.phase = 'messages';
    return this;
  }

  /** Bytes of an incomplete message held back. */
  buffered(): number {
    return this.buffer.length;
  }

  /** Takes more of the stream; returns the messages it completes, or why the stream is refused. */
  push(chunk: Uint8Array): RfbMessage[] | string {
    this.buffer = this.buffer.length === 0 ? chunk.slice() : concat(this.buffer, chunk);
    const out: RfbMessage[] = [];
    for (;;) {
      const length = this.nextLength();
      if (typeof length === 'string') return length;
      if (length === null || this.buffer.length < length) return out;
      const bytes = this.buffer.slice(0, length);
      this.buffer = this.buffer.subarray(length);
      if (this.phase !== 'messages') {
        const problem = this.handshake(bytes);
        if (problem) return problem;
        out.push({ kind: 'handshake', type: -1, bytes });
        continue;
      }
      const problem = checkMessage(bytes);
      if (problem) return problem;
      out.push({ kind: isInput(bytes[0]!) ? 'input' : 'viewer', type: bytes[0]!, bytes });
    }
  }

  /** How long the next message is: a number once enough of it is here to tell, null before. */
  private nextLength(): number | string | null {
    const b = this.buffer;
    switch (this.phase) {
      case 'version':
        return 12;
      case 'security':
      case 'init':
        return 1;
      case 'messages':
        break;
    }
    if (b.length === 0) return null;
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    switch (b[0]) {
      case RfbType.setPixelFormat:
        return 20;
      case RfbType.setEncodings: {
        if (b.length < 4) return null;
        const count = view.getUint16(2);
        if (count > MAX_ENCODINGS) return `SetEncodings lists ${count} encodings (at most ${MAX_ENCODINGS})`;
        return 4 + 4 * count;
      }
      case RfbType.updateRequest:
        return 10;
      case RfbType.keyEvent:
        return 8;
      case RfbType.pointerEvent:
        return 6;
      case RfbType.clientCutText: {
        if (b.length < 8) return null;
        const length = view.getInt32(4);
        if (length < 0) return 'extended clipboard messages are not supported: send the text as plain ClientCutText';
        if (length > this.limits.maxCutText) return `clipboard text of ${length} bytes is over the limit of ${this.limits.maxCutText}`;
        return 8 + length;
      }
      case RfbType.enableContinuousUpdates:
        return 10;
      case RfbType.clientFence: {
        if (b.length < 9) return null;
        const length = b[8]!;
        if (length > MAX_FENCE) return `fence payload of ${length} bytes is over the limit of ${MAX_FENCE}`;
        return 9 + length;
      }
      case RfbType.setDesktopSize: {
        if (b.length < 8) return null;
        const screens = b[6]!;
        if (screens < 1 || screens > MAX_SCREENS) return `SetDesktopSize with ${screens} screens (1 to ${MAX_SCREENS})`;
        return 8 + 16 * screens;
      }
      case RfbType.qemu:
        if (b.length < 2) return null;
        if (b[1] !== 0) return `QEMU message subtype ${b[1]} is not supported (only the extended key event)`;
        return 12;
      default:
        return `unknown RFB message type ${b[0]}`;
    }
  }

  private handshake(bytes: Uint8Array): string | null {
    switch (this.phase) {
      case 'version': {
        const text = String.fromCharCode(...bytes);
        if (!/^RFB 003\.00[78]\n$/.test(text)) return `unsupported RFB version ${JSON.stringify(text)} (speak RFB 3.8)`;
        this.phase = 'security';
        return null;
      }
      case 'security':
        if (bytes[0] !== SECURITY_NONE) return `security type ${bytes[0]} is not offered (the session's sign-in is the gate: choose None, 1)`;
        this.phase = 'init';
        return null;
      default:
        this.phase = 'messages';
        return null;
    }
  }
}

function isInput(type: number): boolean {
  return type === RfbType.keyEvent || type === RfbType.pointerEvent || type === RfbType.clientCutText || type === RfbType.setDesktopSize || type === RfbType.qemu;
}

/** Checks the fields of a whole message (its length is right already). */
function checkMessage(bytes: Uint8Array): string | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (bytes[0]) {
    case RfbType.setPixelFormat: {
      const bpp = bytes[4]!;
      const depth = bytes[5]!;
      if (bpp !== 8 && bpp !== 16 && bpp !== 32) return `SetPixelFormat: ${bpp} bits per pixel (8, 16 or 32)`;
      if (depth < 1 || depth > bpp) return `SetPixelFormat: depth ${depth} does not fit ${bpp} bits per pixel`;
      if (bytes[7]! > 1) return 'SetPixelFormat: true-colour flag must be 0 or 1';
      return null;
    }
    case RfbType.updateRequest:
    case RfbType.enableContinuousUpdates: {
      const [x, y, w, h] = [view.getUint16(2), view.getUint16(4), view.getUint16(6), view.getUint16(8)];
      if (x + w > MAX_DESKTOP || y + h > MAX_DESKTOP) return 'update request outside any desktop';
      return null;
    }
    case RfbType.setDesktopSize: {
      const [w, h] = [view.getUint16(2), view.getUint16(4)];
      if (w < 1 || h < 1 || w > MAX_DESKTOP || h > MAX_DESKTOP) return `SetDesktopSize to ${w}×${h} (1 to ${MAX_DESKTOP} each way)`;
      // Each screen (a monitor of the person's) lies within the desktop: Xvnc would refuse
      // the layout anyway, but the log keeps only what a display can take.
      for (let i = 0; i < bytes[6]!; i++) {
        const at = 8 + 16 * i;
        const [x, y, sw, sh] = [view.getUint16(at + 4), view.getUint16(at + 6), view.getUint16(at + 8), view.getUint16(at + 10)];
        if (sw < 1 || sh < 1 || x + sw > w || y + sh > h) return `SetDesktopSize screen ${i + 1} at ${x},${y} ${sw}×${sh} is not within the ${w}×${h} desktop`;
      }
      return null;
    }
    default:
      return null;
  }
}

/**
 * Checks that `bytes` is exactly one input message (what one INPUT frame of a GUI
 * session carries); returns why not, or null.
 */
export function checkInputMessage(bytes: Uint8Array, limits: RfbLimits = { maxCutText: MAX_CUT_TEXT }): string | null {
  const parser = new RfbClientParser(limits).skipHandshake();
  const messages = parser.push(bytes);
  if (typeof messages === 'string') return messages;
  if (messages.length !== 1 || parser.buffered() > 0) return 'an input frame must hold exactly one whole RFB input message';
  if (messages[0]!.kind !== 'input') return `RFB message type ${messages[0]!.type} is not an input (send it in an RFB frame)`;
  return null;
}

// ---- encoders (the host's own viewer, tests and benchmarks) -----------------------

export function keyEvent(down: boolean, keysym: number): Uint8Array {
  const bytes = new Uint8Array(8);
  const view = new DataView(bytes.buffer);
  bytes[0] = RfbType.keyEvent;
  bytes[1] = down ? 1 : 0;
  view.setUint32(4, keysym);
  return bytes;
}

const KEYSYM_RETURN = 0xff0d;
const KEYSYM_TAB = 0xff09;
/** X11's Unicode keysyms: 0x01000000 + the code point, for any character beyond Latin-1. */
const KEYSYM_UNICODE = 0x01000000;

/**
 * The X11 keysym that types one character (one code point): a Latin-1 character's
 * keysym is its code point, any other's is X11's Unicode keysym (0x01000000 + the
 * code point, which Xvnc maps to a spare keycode on the fly and xterm, in a UTF-8
 * locale, types as that character). A line break is Return, a tab Tab; other control
 * characters have no key that types them (null).
 */
export function keysymFor(char: string): number | null {
  const code = char.codePointAt(0);
  if (code === undefined) return null;
  if (code === 0x0a || code === 0x0d) return KEYSYM_RETURN;
  if (code === 0x09) return KEYSYM_TAB;
  if (code < 0x20 || (code >= 0x7f && code < 0xa0)) return null;
  return code <= 0xff ? code : KEYSYM_UNICODE + code;
}

/** The keysyms that type `text`, one press and release each (CR LF counts as one line break). */
export function keysymsFor(text: string): number[] {
  const keysyms: number[] = [];
  for (const char of text.replace(/\r\n?/g, '\n')) {
    const keysym = keysymFor(char);
    if (keysym !== null) keysyms.push(keysym);
  }
  return keysyms;
}

export function pointerEvent(buttons: number, x: number, y: number): Uint8Array {
  const bytes = new Uint8Array(6);
  const view = new DataView(bytes.buffer);
  bytes[0] = RfbType.pointerEvent;
  bytes[1] = buttons;
  view.setUint16(2, x);
  view.setUint16(4, y);
  return bytes;
}

/** ClientCutText; RFB's text is Latin-1, so other characters become "?". */
export function clientCutText(text: string): Uint8Array {
  const bytes = new Uint8Array(8 + text.length);
  bytes[0] = RfbType.clientCutText;
  new DataView(bytes.buffer).setUint32(4, text.length);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    bytes[8 + i] = code < 256 ? code : 0x3f;
  }
  return bytes;
}

export function updateRequest(incremental: boolean, x: number, y: number, width: number, height: number): Uint8Array {
  const bytes = new Uint8Array(10);
  const view = new DataView(bytes.buffer);
  bytes[0] = RfbType.updateRequest;
  bytes[1] = incremental ? 1 : 0;
  view.setUint16(2, x);
  view.setUint16(4, y);
  view.setUint16(6, width);
  view.setUint16(8, height);
  return bytes;
}

export function setEncodings(encodings: number[]): Uint8Array {
  const bytes = new Uint8Array(4 + 4 * encodings.length);
  const view = new DataView(bytes.buffer);
  bytes[0] = RfbType.setEncodings;
  view.setUint16(2, encodings.length);
  encodings.forEach((encoding, i) => view.setInt32(4 + 4 * i, encoding));
  return bytes;
}

/** 32 bits per pixel, depth 24, little-endian, true colour, red at bit 16: BGRX in memory. */
export function setPixelFormatBgrx(): Uint8Array {
  return setTrueColour32([16, 8, 0]);
}

/** noVNC's pixel format, which its decoders assume: the same with red at bit 0 (RGBX in memory). */
export function setPixelFormatRgbx(): Uint8Array {
  return setTrueColour32([0, 8, 16]);
}

/** SetPixelFormat for 32 bits per pixel, depth 24, little-endian, true colour, 8 bits a channel at these shifts (red, green, blue). */
function setTrueColour32(shifts: [number, number, number]): Uint8Array {
  const bytes = new Uint8Array(20);
  const view = new DataView(bytes.buffer);
  bytes[0] = RfbType.setPixelFormat;
  bytes.set([32, 24, 0, 1], 4);
  view.setUint16(8, 255);
  view.setUint16(10, 255);
  view.setUint16(12, 255);
  bytes.set(shifts, 14);
  return bytes;
}

/** One monitor's part of a desktop (RFB's ExtendedDesktopSize screen): Xvnc makes it a RandR monitor. */
export interface DesktopScreen {
  id: number;
  x: number;
  y: number;
  width: number;
  height: number;
}

/** SetDesktopSize: the desktop's size and its screens (by default one, the whole desktop). */
export function setDesktopSize(width: number, height: number, screens: readonly DesktopScreen[] = [{ id: 0, x: 0, y: 0, width, height }]): Uint8Array {
  const bytes = new Uint8Array(8 + 16 * screens.length);
  const view = new DataView(bytes.buffer);
  bytes[0] = RfbType.setDesktopSize;
  view.setUint16(2, width);
  view.setUint16(4, height);
  bytes[6] = screens.length;
  screens.forEach((screen, i) => {
    const at = 8 + 16 * i;
    view.setUint32(at, screen.id);
    view.setUint16(at + 4, screen.x);
    view.setUint16(at + 6, screen.y);
    view.setUint16(at + 8, screen.width);
    view.setUint16(at + 10, screen.height);
  });
  return bytes;
}

/** The host's rewrite of SetEncodings: the same list without the extended clipboard. */
export function withoutExtendedClipboard(message: Uint8Array): Uint8Array {
  const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
  const kept: number[] = [];
  for (let at = 4; at < message.length; at += 4) {
    const encoding = view.getInt32(at);
    if (encoding !== EXTENDED_CLIPBOARD) kept.push(encoding);
  }
  return kept.length * 4 + 4 === message.length ? message : setEncodings(kept);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a);
  joined.set(b, a.length);
  return joined;
}
