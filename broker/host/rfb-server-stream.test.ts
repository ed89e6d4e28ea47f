import { describe, expect, it } from 'vitest';
import { setPixelFormatBgrx } from '../../shared/protocol/rfb.js';
import { RfbServerStream, ServerEncoding } from './rfb-server-stream.js';

const u16 = (n: number) => [n >> 8, n & 0xff];
const u32 = (n: number) => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
const fill = (n: number, byte = 0xab) => new Array<number>(n).fill(byte);
const rect = (w: number, h: number, encoding: number) => [...u16(0), ...u16(0), ...u16(w), ...u16(h), ...u32(encoding)];
const update = (...rects: number[][]) => [0, 0, ...u16(rects.length), ...rects.flat()];

/** ServerInit for a 32 bpp, depth 24, true-colour desktop called "desk". */
const serverInit = [...u16(1280), ...u16(800), 32, 24, 0, 1, ...u16(255), ...u16(255), ...u16(255), 16, 8, 0, 0, 0, 0, ...u32(4), ...'desk'.split('').map((c) => c.charCodeAt(0))];
const handshake = [...'RFB 003.008\n'.split('').map((c) => c.charCodeAt(0)), 1, 1, ...u32(0), ...serverInit];

/** One of every message and rectangle Xvnc sends, each with a payload of the right length. */
const messages: number[][] = [
  update(
    [...rect(10, 2, ServerEncoding.raw), ...fill(10 * 2 * 4)],
    [...rect(10, 10, ServerEncoding.copyRect), ...u16(5), ...u16(5)],
    [...rect(64, 64, ServerEncoding.tight), 0x80, 1, 2, 3], // fill: one 3-byte pixel
    [...rect(64, 64, ServerEncoding.tight), 0x90, 0x81, 0x01, ...fill(129)], // JPEG, a 2-byte compact length
    [...rect(3, 2, ServerEncoding.tight), 0x40, 1, 1, 0, 0, 0, 9, 9, 9, 0x40, 0x80], // 2-colour palette, 2 bytes: uncompressed
    [...rect(100, 100, ServerEncoding.tight), 0x40 | 0x10, 1, 3, ...fill(4 * 3), 0x85, 0x80, 0x01, ...fill(5 + (1 << 14))], // 4 colours, 3-byte compact
    [...rect(2, 1, ServerEncoding.tight), 0x00, ...fill(6)], // copy filter, 6 bytes: uncompressed
    [...rect(20, 20, ServerEncoding.tight), 0x40, 2, 0x0a, ...fill(10)], // gradient, compressed
    [...rect(20, 17, ServerEncoding.hextile), 1, ...fill(16 * 16 * 4), 2 | 8, ...fill(4), 1, 0x00, 0x11, 8 | 16, 2, ...fill(4 + 2), ...fill(4 + 2), 1, ...fill(4 * 1 * 4)],
    [...rect(32, 32, ServerEncoding.zrle), ...u32(7), ...fill(7)],
    [...rect(32, 32, ServerEncoding.rre), ...u32(2), ...fill(4), ...fill(2 * 12)],
    [...rect(1024, 768, ServerEncoding.desktopSize)],
    [...rect(9, 3, ServerEncoding.cursor), ...fill(9 * 3 * 4 + 2 * 3)],
    [...rect(8, 2, ServerEncoding.cursorWithAlpha), ...u32(0), ...fill(8 * 2 * 4)],
    [...rect(1280, 800, ServerEncoding.extendedDesktopSize), 2, 0, 0, 0, ...fill(32)],
    [...rect(0, 0, ServerEncoding.desktopName), ...u32(3), 1, 2, 3],
    [...rect(0, 0, ServerEncoding.ledState), 7],
    [...rect(0, 0, ServerEncoding.qemuKeyEvent)],
  ),
  // An update that ends early with LastRect (its count says 0xffff).
  [0, 0, 0xff, 0xff, ...rect(4, 4, ServerEncoding.copyRect), 0, 0, 0, 0, ...rect(0, 0, ServerEncoding.lastRect)],
  [2], // Bell
  [3, 0, 0, 0, ...u32(5), ...'hello'.split('').map((c) => c.charCodeAt(0))], // ServerCutText
  [3, 0, 0, 0, ...u32(-6 >>> 0), ...fill(6)], // ServerCutText, extended clipboard
  [248, 0, 0, 0, ...u32(0x80000003), 2, 7, 7], // Fence
  [1, 0, ...u16(0), ...u16(2), ...fill(12)], // SetColourMapEntries
  [150], // EndOfContinuousUpdates
  [250, 0, 1, 2], // xvp
];

/** Pushes `bytes` in pieces of `size`; the boundary after each piece. */
function follow(stream: RfbServerStream, bytes: number[], size: number): boolean[] {
  const out: boolean[] = [];
  for (let at = 0; at < bytes.length; at += size) {
    stream.push(Buffer.from(bytes.slice(at, at + size)));
    out.push(stream.atBoundary);
  }
  return out;
}

describe('RfbServerStream', () => {
  it('is at a boundary exactly where each of Xvnc’s messages ends, however the stream is cut', () => {
    for (const size of [1, 2, 3, 7, 100, 4096]) {
      const stream = new RfbServerStream();
      expect(follow(stream, handshake, size).at(-1)).toBe(true);
      for (const message of messages) {
        const seen = follow(stream, message, size);
        expect(stream.failed).toBeNull();
        // Inside a message it never says "whole"; after its last byte it does.
        expect(seen.slice(0, -1).every((whole) => !whole)).toBe(true);
        expect(seen.at(-1)).toBe(true);
      }
    }
  });

  it('follows a whole run of messages pushed as one read', () => {
    const stream = new RfbServerStream();
    stream.push(Buffer.from([...handshake, ...messages.flat()]));
    expect(stream.failed).toBeNull();
    expect(stream.atBoundary).toBe(true);
    stream.push(Buffer.from(messages[0]!.slice(0, 50)));
    expect(stream.atBoundary).toBe(false);
  });

  it('sizes pixels by the format the viewer set', () => {
    const stream = new RfbServerStream();
    stream.push(Buffer.from(handshake));
    const rgb565 = setPixelFormatBgrx();
    rgb565.set([16, 16, 0, 1], 4);
    rgb565.set([0, 31, 0, 63, 0, 31], 8);
    stream.setPixelFormat(rgb565);
    // Tight's fill pixel is now 2 bytes (3 only for 32 bpp 8-8-8); raw pixels 2 bytes.
    stream.push(Buffer.from(update([...rect(8, 8, ServerEncoding.tight), 0x80, 1, 2], [...rect(2, 2, ServerEncoding.raw), ...fill(8)])));
    expect(stream.failed).toBeNull();
    expect(stream.atBoundary).toBe(true);
  });

  it('skips RFB 3.7’s missing SecurityResult after None', () => {
    const stream = new RfbServerStream();
    stream.clientVersion(Buffer.from('RFB 003.007\n', 'latin1'));
    stream.push(Buffer.from([...'RFB 003.008\n'.split('').map((c) => c.charCodeAt(0)), 1, 1, ...serverInit, 2]));
    expect(stream.failed).toBeNull();
    expect(stream.atBoundary).toBe(true);
  });

  it('gives up, and stays given up, on what it cannot follow', () => {
    const stream = new RfbServerStream();
    stream.push(Buffer.from([...handshake, ...update([...rect(4, 4, 21)])]));
    expect(stream.failed).toMatch(/encoding 21/);
    expect(stream.atBoundary).toBe(false);
    stream.push(Buffer.from([2]));
    expect(stream.atBoundary).toBe(false);
    const other = new RfbServerStream();
    other.push(Buffer.from([...handshake, 99]));
    expect(other.failed).toMatch(/message type 99/);
  });
});
