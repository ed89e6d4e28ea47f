// A graphical screen's thumbnail: its size, the box filter's means, and the PNG it makes.
import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { downscaleBgrx, imageThumbnail, reusedFor, thumbnailSize } from './thumbnail.js';

/** A width × height BGRX screen whose pixel (x, y) is `colour(x, y)` as [r, g, b]. */
function screen(width: number, height: number, colour: (x: number, y: number) => [number, number, number]): Uint8Array {
  const bgrx = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [r, g, b] = colour(x, y);
      bgrx.set([b, g, r, 0], (y * width + x) * 4);
    }
  }
  return bgrx;
}

describe('thumbnailSize', () => {
  it('keeps the shape, at most 320 each way, and never enlarges', () => {
    expect(thumbnailSize(1280, 800)).toEqual({ width: 320, height: 200 });
    expect(thumbnailSize(800, 600)).toEqual({ width: 320, height: 240 });
    expect(thumbnailSize(600, 1200)).toEqual({ width: 160, height: 320 });
    expect(thumbnailSize(200, 100)).toEqual({ width: 200, height: 100 });
    expect(thumbnailSize(5000, 1)).toEqual({ width: 320, height: 1 });
  });
});

describe('downscaleBgrx', () => {
  it('gives each pixel the mean of the block it covers, as RGB', () => {
    // 4×2 → 2×1: the left block is red and black (mean 128, 0, 0), the right one all blue.
    const bgrx = screen(4, 2, (x, y) => (x < 2 ? (y === 0 ? [255, 0, 0] : [0, 0, 0]) : [0, 0, 200]));
    expect([...downscaleBgrx(bgrx, 4, 2, { width: 2, height: 1 })]).toEqual([128, 0, 0, 0, 0, 200]);
  });

  it('keeps a screen of the thumbnail’s size as it is', () => {
    const bgrx = screen(3, 2, (x, y) => [x * 10, y * 20, 7]);
    expect([...downscaleBgrx(bgrx, 3, 2, { width: 3, height: 2 })]).toEqual([0, 0, 7, 10, 0, 7, 20, 0, 7, 0, 20, 7, 10, 20, 7, 20, 20, 7]);
  });

  it('covers every screen pixel once when the sizes do not divide', () => {
    // 1000×7 of one grey → 320×7: every thumbnail pixel is that grey.
    const rgb = downscaleBgrx(screen(1000, 7, () => [99, 99, 99]), 1000, 7, { width: 320, height: 7 });
    expect(rgb.every((v) => v === 99)).toBe(true);
  });
});

describe('imageThumbnail', () => {
  it('is a PNG of the scaled screen, base64', () => {
    const thumbnail = imageThumbnail(screen(640, 480, (x) => (x < 320 ? [255, 255, 255] : [0, 0, 0])), 640, 480);
    expect(thumbnail).toMatchObject({ kind: 'image', width: 320, height: 240 });
    const png = Buffer.from(thumbnail.kind === 'image' ? thumbnail.png : '', 'base64');
    expect(png.readUInt32BE(16)).toBe(320);
    expect(png.readUInt32BE(20)).toBe(240);
    const idatLength = png.readUInt32BE(33);
    expect(png.toString('latin1', 37, 41)).toBe('IDAT');
    expect(inflateSync(png.subarray(41, 41 + idatLength)).length).toBe((320 * 3 + 1) * 240);
  });
});

describe('reusedFor', () => {
  it('makes one result for the calls within its time, and a new one after', async () => {
    let made = 0;
    const get = reusedFor(50, async () => ++made);
    expect(await Promise.all([get(), get()])).toEqual([1, 1]);
    expect(await get()).toBe(1);
    await new Promise((r) => setTimeout(r, 60));
    expect(await get()).toBe(2);
  });

  it('does not keep a failure', async () => {
    let calls = 0;
    const get = reusedFor(10_000, async () => {
      calls += 1;
      if (calls === 1) throw new Error('not yet');
      return 'ok';
    });
    await expect(get()).rejects.toThrow('not yet');
    expect(await get()).toBe('ok');
  });
});
