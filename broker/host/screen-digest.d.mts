// Types for screen-digest.mjs (plain JavaScript, run by the screen worker).
import type { Terminal } from '@xterm/headless';

export interface Skip {
  rule: 'cr' | 'cols';
  s: number;
  e: number;
  kept: Uint8Array | null;
}
export const MIN_SKIP_BYTES: number;
export function linesNeeded(rows: number, scrollback: number): number;
/** `bytes` as whole aligned 32-bit words, and how many bytes into `bytes` the first of them starts. */
export function wordsOf(bytes: Uint8Array): { words: Uint32Array; lead: number };
/** The end of the run of printable ASCII from `i` (`words`: the same memory as whole words, the first `lead` bytes in). */
export function printableEnd(bytes: Uint8Array, words: Uint32Array, lead: number, i: number, n: number): number;
export function planSkips(bytes: Uint8Array, cols: number, rows: number, scrollback: number, minSkip?: number): Skip[];
export function skipVerdict(terminal: Terminal, skip: Skip): boolean;
export function digest(terminal: Terminal, bytes: Uint8Array, scrollback: number, minSkip?: number): Promise<number>;
