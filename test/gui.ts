// Graphical sessions in tests: the session (support/gui.ts) and framebuffer helpers.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readHomeFile } from '../support/homes.js';

export { Gui, launchGui } from '../support/gui.js';

/** The rows (of 8 px bands) where two frames differ, but for a square `except`. */
export function changedBands(a: Uint8Array, b: Uint8Array, width: number, except?: { x: number; y: number; r: number }): number[] {
  const bands = new Set<number>();
  for (let i = 0; i < a.length; i += 4) {
    if (a[i] === b[i] && a[i + 1] === b[i + 1] && a[i + 2] === b[i + 2]) continue;
    const [x, y] = [(i / 4) % width, Math.floor(i / 4 / width)];
    if (except && Math.abs(x - except.x) <= except.r && Math.abs(y - except.y) <= except.r) continue;
    bands.add(Math.floor(y / 8));
  }
  return [...bands].sort((x, y) => x - y);
}


/** The contents of `name` in every sandbox home under a node's state directory (support/homes.ts: homes are volumes). */
export function homeFiles(stateDir: string, name: string): string[] {
  const dir = join(stateDir, 'sandboxes');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((id) => readHomeFile(stateDir, id, name))
    .filter((bytes): bytes is Buffer => bytes !== null)
    .map((bytes) => bytes.toString('utf8'));
}
