// The PNG encoder, checked by decoding its files by hand: the signature, every chunk's
// length and CRC, IHDR's fields, and the IDAT rows — inflated, then unfiltered as a
// decoder does — giving back exactly the pixels encoded.
import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32, encodePng } from './png.js';

interface Chunk {
  type: string;
  data: Buffer;
}

function chunks(png: Buffer): Chunk[] {
  const found: Chunk[] = [];
  for (let at = 8; at < png.length; ) {
    const length = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    const data = png.subarray(at + 8, at + 8 + length);
    expect(png.readUInt32BE(at + 8 + length), `${type}'s CRC`).toBe(crc32(png.subarray(at + 4, at + 8 + length)));
    found.push({ type, data });
    at += 12 + length;
  }
  return found;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const [pa, pb, pc] = [Math.abs(p - a), Math.abs(p - b), Math.abs(p - c)];
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** The RGB pixels of inflated IDAT data: each row's filter undone (PNG spec, section 9). */
function unfilter(raw: Buffer, width: number, height: number): { pixels: Uint8Array; filters: number[] } {
  const stride = width * 3;
  const pixels = new Uint8Array(stride * height);
  const filters: number[] = [];
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    filters.push(filter);
    for (let i = 0; i < stride; i++) {
      const x = raw[y * (stride + 1) + 1 + i]!;
      const a = i >= 3 ? pixels[y * stride + i - 3]! : 0;
      const b = y > 0 ? pixels[(y - 1) * stride + i]! : 0;
      const c = i >= 3 && y > 0 ? pixels[(y - 1) * stride + i - 3]! : 0;
      const predicted = [0, a, b, (a + b) >>> 1, paeth(a, b, c)][filter];
      if (predicted === undefined) throw new Error(`row ${y} has filter type ${filter}`);
      pixels[y * stride + i] = (x + predicted) & 0xff;
    }
  }
  return { pixels, filters };
}

describe('crc32', () => {
  it('is the CRC-32 PNG and zlib use', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new TextEncoder().encode('IEND'))).toBe(0xae426082);
  });
});

describe('encodePng', () => {
  it('writes the signature, IHDR, one IDAT and IEND', () => {
    const png = encodePng(3, 2, new Uint8Array(18).fill(200));
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const found = chunks(png);
    expect(found.map((c) => c.type)).toEqual(['IHDR', 'IDAT', 'IEND']);
    const ihdr = found[0]!.data;
    expect(ihdr.length).toBe(13);
    // Width, height, 8 bits, truecolour, deflate, adaptive filtering, no interlace.
    expect([ihdr.readUInt32BE(0), ihdr.readUInt32BE(4), ihdr[8], ihdr[9], ihdr[10], ihdr[11], ihdr[12]]).toEqual([3, 2, 8, 2, 0, 0, 0]);
    expect(found[2]!.data.length).toBe(0);
  });

  it('holds exactly the pixels given, whichever filter each row took', () => {
    const width = 37;
    const height = 23;
    const rgb = new Uint8Array(width * height * 3);
    // A gradient (Sub, Up and Paeth pay), noise (None pays) and a flat band.
    let seed = 12345;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const at = (y * width + x) * 3;
        seed = (seed * 1103515245 + 12345) >>> 0;
        const value = y < 8 ? x * 7 + y * 3 : y < 16 ? seed >>> 24 : 90;
        rgb.set([value & 0xff, (value * 2) & 0xff, 255 - (value & 0xff)], at);
      }
    }
    const png = encodePng(width, height, rgb);
    const idat = chunks(png).find((c) => c.type === 'IDAT')!.data;
    const raw = inflateSync(idat);
    expect(raw.length).toBe((width * 3 + 1) * height);
    const { pixels, filters } = unfilter(raw, width, height);
    expect(Buffer.from(pixels).equals(Buffer.from(rgb))).toBe(true);
    // The rows were filtered, not all stored as they are.
    expect(filters.some((f) => f !== 0)).toBe(true);
  });

  it('filters a first row of a flat colour by Sub: each byte but the first pixel’s becomes 0', () => {
    const png = encodePng(4, 1, new Uint8Array(12).fill(77));
    const raw = inflateSync(chunks(png)[1]!.data);
    expect([...raw]).toEqual([1, 77, 77, 77, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('refuses sizes and lengths that do not agree', () => {
    expect(() => encodePng(0, 1, new Uint8Array(0))).toThrow(/at least 1×1/);
    expect(() => encodePng(2, 2, new Uint8Array(11))).toThrow(/12 bytes, not 11/);
  });
});
