// PNGs in tests: a viewer's BGRX framebuffer written as one (test artifacts: what the display
// showed), with the broker's own encoder (broker/host/png.ts), and a page screenshot read back.
import { writeFileSync } from 'node:fs';
import { inflateSync } from 'node:zlib';
import { encodePng } from '../broker/host/png.js';

export function writeBgrxPng(path: string, width: number, height: number, bgrx: Uint8Array): void {
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0, from = 0; i < rgb.length; i += 3, from += 4) {
    rgb[i] = bgrx[from + 2]!;
    rgb[i + 1] = bgrx[from + 1]!;
    rgb[i + 2] = bgrx[from]!;
  }
  writeFileSync(path, encodePng(width, height, rgb));
}

/** A PNG as RGBA pixels: 8-bit RGB or RGBA, not interlaced — what Chromium's screenshots are. */
export function decodePng(png: Buffer): { width: number; height: number; rgba: Uint8Array } {
  if (png.readUInt32BE(0) !== 0x89504e47) throw new Error('not a PNG');
  let at = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  while (at < png.length) {
    const length = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    const data = png.subarray(at + 8, at + 8 + length);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      const [depth, colour, , , interlace] = [data[8], data[9], data[10], data[11], data[12]];
      if (depth !== 8 || (colour !== 2 && colour !== 6) || interlace !== 0) throw new Error(`PNG of depth ${depth}, colour type ${colour}, interlace ${interlace}: not decoded here`);
      channels = colour === 6 ? 4 : 3;
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    at += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const out = new Uint8Array(width * height * 4);
  let previous = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const row = new Uint8Array(stride);
    for (let i = 0; i < stride; i++) {
      const left = i >= channels ? row[i - channels]! : 0;
      const up = previous[i]!;
      const upLeft = i >= channels ? previous[i - channels]! : 0;
      let predicted = 0;
      if (filter === 1) predicted = left;
      else if (filter === 2) predicted = up;
      else if (filter === 3) predicted = (left + up) >> 1;
      else if (filter === 4) {
        const p = left + up - upLeft;
        const [pa, pb, pc] = [Math.abs(p - left), Math.abs(p - up), Math.abs(p - upLeft)];
        predicted = pa <= pb && pa <= pc ? left : pb <= pc ? up : upLeft;
      }
      row[i] = (line[i]! + predicted) & 0xff;
    }
    for (let x = 0; x < width; x++) {
      out.set([row[x * channels]!, row[x * channels + 1]!, row[x * channels + 2]!, channels === 4 ? row[x * channels + 3]! : 255], (y * width + x) * 4);
    }
    previous = row;
  }
  return { width, height, rgba: out };
}
