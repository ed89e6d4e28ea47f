import { describe, expect, it } from 'vitest';
import {
  RfbClientParser,
  checkInputMessage,
  clientCutText,
  keyEvent,
  keysymFor,
  keysymsFor,
  pointerEvent,
  setDesktopSize,
  setEncodings,
  setPixelFormatBgrx,
  updateRequest,
  withoutExtendedClipboard,
  EXTENDED_CLIPBOARD,
} from './rfb.js';

const handshake = new Uint8Array([...new TextEncoder().encode('RFB 003.008\n'), 1, 1]);

describe('RfbClientParser', () => {
  it('splits a viewer stream into handshake, viewer and input messages, across any chunking', () => {
    const stream = new Uint8Array([
      ...handshake,
      ...setPixelFormatBgrx(),
      ...setEncodings([7, 16, 0, -223]),
      ...updateRequest(false, 0, 0, 800, 600),
      ...keyEvent(true, 0x61),
      ...pointerEvent(1, 10, 20),
      ...clientCutText('hello'),
      ...setDesktopSize(1024, 768),
      // Two monitors side by side.
      ...setDesktopSize(1800, 700, [{ id: 1, x: 0, y: 0, width: 1000, height: 700 }, { id: 2, x: 1000, y: 0, width: 800, height: 600 }]),
    ]);
    for (const size of [1, 3, 7, stream.length]) {
      const parser = new RfbClientParser();
      const kinds: string[] = [];
      for (let at = 0; at < stream.length; at += size) {
        const out = parser.push(stream.subarray(at, at + size));
        if (typeof out === 'string') throw new Error(out);
        kinds.push(...out.map((m) => `${m.kind}:${m.type}`));
      }
      expect(kinds).toEqual(['handshake:-1', 'handshake:-1', 'handshake:-1', 'viewer:0', 'viewer:2', 'viewer:3', 'input:4', 'input:5', 'input:6', 'input:251', 'input:251']);
      expect(parser.buffered()).toBe(0);
    }
  });

  it('refuses what it does not speak, with a reason', () => {
    const refuse = (bytes: number[], skip = true) => {
      const parser = new RfbClientParser({ maxCutText: 100 });
      if (skip) parser.skipHandshake();
      return parser.push(new Uint8Array(bytes));
    };
    expect(refuse([...new TextEncoder().encode('RFB 003.003\n')], false)).toMatch(/unsupported RFB version/);
    expect(refuse([...new TextEncoder().encode('RFB 003.008\n'), 2], false)).toMatch(/security type 2/);
    expect(refuse([99])).toMatch(/unknown RFB message type 99/);
    expect(refuse([...clientCutText('x'.repeat(101))])).toMatch(/over the limit of 100/);
    expect(refuse([6, 0, 0, 0, 0xff, 0xff, 0xff, 0xf0])).toMatch(/extended clipboard/);
    expect(refuse([2, 0, 0xff, 0xff])).toMatch(/65535 encodings/);
    expect(refuse([...setDesktopSize(0, 10)])).toMatch(/SetDesktopSize to 0×10/);
    expect(refuse([...setDesktopSize(1800, 700, [{ id: 1, x: 0, y: 0, width: 1000, height: 700 }, { id: 2, x: 1000, y: 0, width: 900, height: 600 }])])).toMatch(/screen 2 at 1000,0 900×600 is not within the 1800×700 desktop/);
    expect(refuse([0, 0, 0, 0, 24, 8, 0, 1, ...new Array(12).fill(0)])).toMatch(/24 bits per pixel/);
    expect(refuse([255, 1])).toMatch(/subtype 1/);
  });
});

describe('checkInputMessage', () => {
  it('takes exactly one whole input message', () => {
    expect(checkInputMessage(keyEvent(true, 0x61))).toBeNull();
    expect(checkInputMessage(new Uint8Array([...keyEvent(true, 0x61), ...keyEvent(false, 0x61)]))).toMatch(/exactly one/);
    expect(checkInputMessage(keyEvent(true, 0x61).subarray(0, 5))).toMatch(/exactly one/);
    expect(checkInputMessage(updateRequest(true, 0, 0, 10, 10))).toMatch(/not an input/);
    expect(checkInputMessage(new Uint8Array(0))).toMatch(/exactly one/);
  });
});

it('strips only the extended clipboard from SetEncodings', () => {
  const plain = setEncodings([7, 0]);
  expect(withoutExtendedClipboard(plain)).toBe(plain);
  expect([...withoutExtendedClipboard(setEncodings([7, EXTENDED_CLIPBOARD, 0]))]).toEqual([...setEncodings([7, 0])]);
});

describe('keysymFor', () => {
  it('gives Latin-1 characters their code point, others X11’s Unicode keysym, line breaks Return', () => {
    expect(keysymFor('a')).toBe(0x61);
    expect(keysymFor('é')).toBe(0xe9);
    expect(keysymFor('ÿ')).toBe(0xff);
    expect(keysymFor('€')).toBe(0x010020ac);
    expect(keysymFor('日')).toBe(0x010065e5);
    expect(keysymFor('😀')).toBe(0x0101f600); // beyond the BMP: the whole code point, not a surrogate
    expect(keysymFor('\n')).toBe(0xff0d);
    expect(keysymFor('\t')).toBe(0xff09);
    expect(keysymFor('\u0007')).toBeNull();
    expect(keysymFor('\u0085')).toBeNull();
  });

  it('types text one code point at a time, CR LF as one Return, skipping controls no key types', () => {
    expect(keysymsFor('hé\r\n日😀\u0000')).toEqual([0x68, 0xe9, 0xff0d, 0x010065e5, 0x0101f600]);
  });
});
