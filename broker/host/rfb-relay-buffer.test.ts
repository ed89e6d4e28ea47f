import { afterEach, describe, expect, it, vi } from 'vitest';
import { OUTPUT_HEADER } from '../../shared/protocol/index.js';
import { RELAY_HOLD_MS, RelayBuffer, type RelaySend } from './rfb-relay-buffer.js';
import { RfbServerStream } from './rfb-server-stream.js';

const u16 = (n: number) => [n >> 8, n & 0xff];
const u32 = (n: number) => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
const serverInit = [...u16(640), ...u16(480), 32, 24, 0, 1, ...u16(255), ...u16(255), ...u16(255), 16, 8, 0, 0, 0, 0, ...u32(0)];
const handshake = Buffer.from([...Buffer.from('RFB 003.008\n', 'latin1'), 1, 1, ...u32(0), ...serverInit]);

/** A FramebufferUpdate of one Tight rectangle carrying `size` bytes of (patterned) JPEG. */
function update(size: number, seed: number): Buffer {
  const body = Buffer.alloc(size);
  for (let i = 0; i < size; i++) body[i] = (i * 31 + seed) & 0xff;
  const length = [0x80 | (size & 0x7f), 0x80 | ((size >> 7) & 0x7f), size >> 14];
  return Buffer.from([0, 0, ...u16(1), ...u16(0), ...u16(0), ...u16(64), ...u16(64), ...u32(7), 0x90, ...length, ...body]);
}

interface Sent {
  data: Buffer;
  copy: Buffer;
  held: boolean;
  released: () => void;
}

/** A relay over a fake socket that keeps a frame queued when `keep` says so, and releases frames when told. */
function relay(keep: () => boolean) {
  const frames: Sent[] = [];
  const by: RelaySend[] = [];
  const buffer = new RelayBuffer(new RfbServerStream(), {
    send: (data, released) => {
      // The header goes in the room in front, as the session writes it.
      Buffer.from(data.buffer, data.byteOffset - OUTPUT_HEADER, OUTPUT_HEADER).fill(0xee);
      const held = keep();
      frames.push({ data, copy: Buffer.from(data), held, released });
      if (!held) released();
      return held;
    },
    sent: (sentBy) => by.push(sentBy),
  });
  /** Reads `bytes` as the socket would: as much as fits in what next() offers, in pieces of at most `piece`. */
  const feed = (bytes: Buffer, piece: number) => {
    for (let at = 0; at < bytes.length; ) {
      const into = buffer.next();
      const n = Math.min(piece, into.length, bytes.length - at);
      bytes.copy(into, 0, at, at + n);
      buffer.read(n);
      at += n;
    }
  };
  return { buffer, frames, by, feed };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('RelayBuffer', () => {
  it('sends each update whole, as one frame, however it was read', () => {
    const r = relay(() => false);
    r.feed(handshake, 5);
    const updates = [update(20_000, 1), update(3000, 2), update(90_000, 3)];
    for (const u of updates) r.feed(u, 2900);
    expect(r.by).toEqual(['update', 'update', 'update', 'update']);
    expect(r.frames.map((f) => f.copy)).toEqual([handshake, ...updates]);
    r.buffer.close();
  });

  it('never writes over a frame the socket still holds, and delivers every byte in order', () => {
    vi.useFakeTimers();
    let n = 0;
    const r = relay(() => ++n % 3 !== 0);
    const input: Buffer[] = [handshake];
    r.feed(handshake, 7);
    for (let i = 0; i < 40; i++) {
      // Updates from 1 KiB to 600 KiB (larger than a slab), read in pieces of 1–9 KiB;
      // now and then the hold timer fires halfway through one.
      const u = update(1024 + ((i * 7919) % 600_000), i);
      input.push(u);
      const half = Math.floor(u.length / 2);
      r.feed(u.subarray(0, half), 1024 + ((i * 977) % 8192));
      if (i % 4 === 1) vi.advanceTimersByTime(RELAY_HOLD_MS);
      r.feed(u.subarray(half), 1024 + ((i * 977) % 8192));
      // Release some held frames (the socket drained), oldest first.
      for (const f of r.frames.filter((f) => f.held).slice(0, 2)) {
        expect(f.data.equals(f.copy), 'a queued frame’s memory is untouched until it is released').toBe(true);
        f.held = false;
        f.released();
      }
    }
    for (const f of r.frames.filter((f) => f.held)) expect(f.data.equals(f.copy)).toBe(true);
    expect(Buffer.concat(r.frames.map((f) => f.copy)).equals(Buffer.concat(input))).toBe(true);
    expect(r.by).toContain('timer');
    expect(r.by).toContain('full');
    expect(r.by).not.toContain('unfollowed');
    r.buffer.close();
  });

  it('sends what it holds after RELAY_HOLD_MS even mid-update', () => {
    vi.useFakeTimers();
    const r = relay(() => false);
    r.feed(handshake, 100);
    const u = update(50_000, 9);
    r.feed(u.subarray(0, 30_000), 3000);
    expect(r.frames).toHaveLength(1);
    vi.advanceTimersByTime(RELAY_HOLD_MS);
    expect(r.frames).toHaveLength(2);
    expect(r.frames[1]!.copy.equals(u.subarray(0, 30_000))).toBe(true);
    r.feed(u.subarray(30_000), 3000);
    expect(r.frames[2]!.copy.equals(u.subarray(30_000))).toBe(true);
    expect(r.by).toEqual(['update', 'timer', 'update']);
  });

  it('sends each read as it comes once it cannot follow the stream', () => {
    const r = relay(() => false);
    r.feed(handshake, 100);
    r.feed(Buffer.from([77, 1, 2, 3]), 100); // no such server message
    r.feed(Buffer.from([5, 6]), 100);
    expect(r.by.slice(1)).toEqual(['unfollowed', 'unfollowed']);
    expect(Buffer.concat(r.frames.map((f) => f.copy)).equals(Buffer.concat([handshake, Buffer.from([77, 1, 2, 3, 5, 6])]))).toBe(true);
  });
});
