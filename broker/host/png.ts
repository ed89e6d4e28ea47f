// A small PNG encoder: 8-bit RGB, one IDAT, each row filtered the way that makes it
// smallest by the usual guess (least sum of absolute differences), as libpng does.
// Node 20 has deflate but no CRC-32 (zlib.crc32 came in 22), so the table is here.
import { deflateSync } from 'node:zlib';

export const PNG_SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (ISO 3309, as PNG and zlib use it); `crc` continues an earlier run. */
export function crc32(bytes: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** The filter types of PNG's adaptive filtering (method 0). */
export const Filter = { None: 0, Sub: 1, Up: 2, Average: 3, Paeth: 4 } as const;
type Filter = (typeof Filter)[keyof typeof Filter];

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Writes `row` filtered by `filter` into `out` (the same length); `above` is the previous row (zeros for the first). */
function filterRow(filter: Filter, row: Uint8Array, above: Uint8Array, bpp: number, out: Uint8Array): void {
  for (let i = 0; i < row.length; i++) {
    const a = i >= bpp ? row[i - bpp]! : 0;
    const b = above[i]!;
    const c = i >= bpp ? above[i - bpp]! : 0;
    const predicted = filter === Filter.Sub ? a : filter === Filter.Up ? b : filter === Filter.Average ? (a + b) >>> 1 : filter === Filter.Paeth ? paeth(a, b, c) : 0;
    out[i] = (row[i]! - predicted) & 0xff;
  }
}

/** How well a filtered row is likely to compress: the sum of its bytes taken as signed (smaller is better). */
function cost(filtered: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < filtered.length; i++) sum += filtered[i]! < 128 ? filtered[i]! : 256 - filtered[i]!;
  return sum;
}

/** A PNG file of `rgb` (width × height × 3 bytes, row-major, 8 bits a channel). */
export function encodePng(width: number, height: number, rgb: Uint8Array): Buffer {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) throw new Error(`a PNG is at least 1×1 pixels, not ${width}×${height}`);
  const stride = width * 3;
  if (rgb.length !== stride * height) throw new Error(`${width}×${height} RGB pixels are ${stride * height} bytes, not ${rgb.length}`);
  const raw = new Uint8Array((stride + 1) * height);
  const candidate = new Uint8Array(stride);
  const best = new Uint8Array(stride);
  let above: Uint8Array = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const row = rgb.subarray(y * stride, (y + 1) * stride);
    let bestFilter: Filter = Filter.None;
    let bestCost = Infinity;
    for (const filter of [Filter.None, Filter.Sub, Filter.Up, Filter.Average, Filter.Paeth]) {
      filterRow(filter, row, above, 3, candidate);
      const c = cost(candidate);
      if (c < bestCost) {
        bestCost = c;
        bestFilter = filter;
        best.set(candidate);
      }
    }
    raw[y * (stride + 1)] = bestFilter;
    raw.set(best, y * (stride + 1) + 1);
    above = row;
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bits per channel
  header[9] = 2; // truecolour (RGB); compression, filter method and interlace are 0
  return Buffer.concat([PNG_SIGNATURE, chunk('IHDR', header), chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0))]);
}
