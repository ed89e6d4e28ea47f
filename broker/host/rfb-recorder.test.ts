import { describe, expect, it } from 'vitest';
import { RfbRecorder, setPixelFormatNoVnc } from './rfb-recorder.js';

/** What Xvnc says before the first update: version, security None, OK, ServerInit of a 640×480 "x" desktop. */
function greeting(): Uint8Array[] {
  const init = new Uint8Array(25);
  const view = new DataView(init.buffer);
  view.setUint16(0, 640);
  view.setUint16(2, 480);
  view.setUint32(20, 1);
  init[24] = 0x78;
  return [new TextEncoder().encode('RFB 003.008\n'), new Uint8Array([1, 1]), new Uint8Array(4), init];
}

function rect(x: number, y: number, w: number, h: number, encoding: number, payload: number[] | Uint8Array = []): Uint8Array {
  const out = new Uint8Array(12 + payload.length);
  const view = new DataView(out.buffer);
  view.setUint16(0, x);
  view.setUint16(2, y);
  view.setUint16(4, w);
  view.setUint16(6, h);
  view.setInt32(8, encoding);
  out.set(payload, 12);
  return out;
}

function update(...rects: Uint8Array[]): Uint8Array {
  const head = new Uint8Array([0, 0, 0, rects.length]);
  const out = new Uint8Array(4 + rects.reduce((n, r) => n + r.length, 0));
  out.set(head);
  let at = 4;
  for (const r of rects) {
    out.set(r, at);
    at += r.length;
  }
  return out;
}

function zrle(size: number): number[] {
  return [(size >>> 24) & 255, (size >>> 16) & 255, (size >>> 8) & 255, size & 255, ...new Array<number>(size).fill(9)];
}

function recorder(intervalMs = 40) {
  const sent: Uint8Array[] = [];
  const recorded: Uint8Array[] = [];
  let behind = false;
  const r = new RfbRecorder({ send: (b) => sent.push(b), sink: { output: (b) => recorded.push(b), get behind() { return behind; } }, intervalMs });
  return { r, sent, recorded, setBehind: (b: boolean) => (behind = b), requests: () => sent.filter((b) => b[0] === 3).map((b) => b[1]) };
}

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('RfbRecorder', () => {
  it('does the handshake, asks for noVNC’s pixel format, ZRLE and CopyRect, and a whole first frame', async () => {
    const { r, sent, recorded } = recorder();
    for (const piece of greeting()) r.push(piece);
    await tick(5);
    expect(new TextDecoder().decode(sent[0])).toBe('RFB 003.008\n');
    expect([...sent[1]!, ...sent[2]!]).toEqual([1, 1]); // security None, shared
    expect([...sent[3]!]).toEqual([...setPixelFormatNoVnc()]);
    expect([...sent[3]!.subarray(4, 8)]).toEqual([32, 24, 0, 1]); // 32 bpp, depth 24, little-endian, true colour
    expect([...sent[3]!.subarray(14, 17)]).toEqual([0, 8, 16]); // red, green, blue shifts: noVNC's
    const encodings = new DataView(sent[4]!.buffer).getUint16(2);
    expect([...Array(encodings).keys()].map((i) => new DataView(sent[4]!.buffer).getInt32(4 + 4 * i))).toEqual([16, 1, 0, -308, -223]);
    expect([...sent[5]!]).toEqual([3, 0, 0, 0, 0, 0, 2, 128, 1, 224]); // non-incremental, 640×480
    // Every byte the display sent is recorded, as it came.
    expect(recorded.reduce((n, b) => n + b.length, 0)).toBe(greeting().reduce((n, b) => n + b.length, 0));
    r.close();
  });

  it('asks for the next update only once the last came whole, and no sooner than its interval after the last request', async () => {
    const { r, requests } = recorder(60);
    for (const piece of greeting()) r.push(piece);
    await tick(5);
    const whole = update(rect(0, 0, 64, 64, 16, zrle(5000)), rect(0, 0, 10, 10, 1, [0, 0, 0, 5]), rect(0, 0, 2, 2, 0, new Array<number>(16).fill(1)), rect(0, 0, 800, 600, -308, [1, 0, 0, 0, ...new Array<number>(16).fill(0)]));
    // In small pieces, as a socket reads: nothing is asked before the last byte.
    for (let at = 0; at < whole.length - 1; at += 700) r.push(whole.subarray(at, Math.min(at + 700, whole.length - 1)));
    await tick(80);
    expect(requests()).toEqual([0]);
    r.push(whole.subarray(whole.length - 1));
    await tick(5);
    expect(r.updates).toBe(1);
    // The first request went out 80 ms ago: the next goes at once, incremental, for the new 800×600 size.
    expect(requests()).toEqual([0, 1]);
    r.push(update(rect(0, 0, 1, 1, 1, [0, 0, 0, 0])));
    await tick(20);
    expect(requests()).toEqual([0, 1]);
    await tick(60);
    expect(requests()).toEqual([0, 1, 1]);
    // Clipboard text and a bell pass; the bytes are recorded, nothing is asked for them.
    r.push(new Uint8Array([3, 0, 0, 0, 0, 0, 0, 2, 0x68, 0x69, 2]));
    r.close();
  });

  it('waits while its file is behind', async () => {
    const { r, requests, setBehind } = recorder(20);
    for (const piece of greeting()) r.push(piece);
    await tick(5);
    setBehind(true);
    r.push(update(rect(0, 0, 1, 1, 1, [0, 0, 0, 0])));
    await tick(70);
    expect(requests()).toEqual([0]);
    setBehind(false);
    await tick(40);
    expect(requests()).toEqual([0, 1]);
    r.close();
  });

  it('stops, saying why, at what it did not ask for or cannot believe', async () => {
    const tight = recorder();
    for (const piece of greeting()) tight.r.push(piece);
    tight.r.push(update(rect(0, 0, 8, 8, 7, [0])));
    expect((await tight.r.done).message).toMatch(/encoding 7, which was not asked for/);
    const outside = recorder();
    for (const piece of greeting()) outside.r.push(piece);
    outside.r.push(update(rect(600, 0, 64, 8, 1, [0, 0, 0, 0])));
    expect((await outside.r.done).message).toMatch(/outside its screen/);
    const password = recorder();
    password.r.push(new TextEncoder().encode('RFB 003.008\n'));
    password.r.push(new Uint8Array([1, 2]));
    expect((await password.r.done).message).toMatch(/password/);
  });
});
