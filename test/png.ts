// Writes a viewer's BGRX framebuffer as a PNG (test artifacts: what the display showed),
// with the broker's own encoder (broker/host/png.ts).
import { writeFileSync } from 'node:fs';
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
