// What a keystroke, as xterm.js hands it over (term.onData), asks of the terminal, for
// predictive local echo (local-echo.ts): a character that takes one cell, a backspace,
// a move left or right — or something whose effect cannot be known here (Enter, Tab,
// Ctrl+anything, other escape sequences, a wide or combining character). Only the
// first kind can be predicted; the last ends what can be predicted until the output
// has caught up.

export type EchoKey =
  | { kind: 'char'; chars: string }
  | { kind: 'erase' }
  | { kind: 'left' }
  | { kind: 'right' }
  /** `newline`: Enter, which a canonical-mode terminal echoes as a plain line break. */
  | { kind: 'other'; newline: boolean };

/** The cursor keys, as xterm sends them in normal and in application cursor mode (DECCKM: readline, vim). */
const MOVES: Record<string, EchoKey> = {
  '\x1b[D': { kind: 'left' },
  '\x1bOD': { kind: 'left' },
  '\x1b[C': { kind: 'right' },
  '\x1bOC': { kind: 'right' },
};

/** Marks, format characters and controls take no cell of their own, or change what the one before looks like. */
const NOT_A_CELL = /[\p{M}\p{Cf}\p{Cc}\p{Zl}\p{Zp}]/u;
/** Pictographs (emoji) are two cells wide in xterm.js, or one, depending on the font and the version: not guessed. */
const PICTOGRAPH = /\p{Extended_Pictographic}/u;
/** The East Asian wide and fullwidth blocks: two cells each, which this engine does not predict. */
const WIDE: ReadonlyArray<readonly [number, number]> = [
  [0x1100, 0x115f],
  [0x2e80, 0x303e],
  [0x3041, 0x33ff],
  [0x3400, 0x4dbf],
  [0x4e00, 0x9fff],
  [0xa000, 0xa4cf],
  [0xac00, 0xd7a3],
  [0xf900, 0xfaff],
  [0xfe30, 0xfe4f],
  [0xff00, 0xff60],
  [0xffe0, 0xffe6],
  [0x20000, 0x3fffd],
];

/** Whether a character takes exactly one cell, as xterm.js lays it out. */
export function oneCell(char: string): boolean {
  const code = char.codePointAt(0)!;
  if (code < 0x20 || code === 0x7f) return false;
  if (code < 0x7f) return true;
  if (NOT_A_CELL.test(char) || PICTOGRAPH.test(char)) return false;
  return !WIDE.some(([from, to]) => code >= from && code <= to);
}

/**
 * The keys in one piece of input, in order. Anything after the first that cannot be
 * predicted is not looked at: its effect on the cursor is unknown, so nothing after it
 * can be placed.
 */
export function echoKeys(data: string): EchoKey[] {
  const keys: EchoKey[] = [];
  let at = 0;
  while (at < data.length) {
    const move = MOVES[data.slice(at, at + 3)];
    if (move) {
      keys.push(move);
      at += 3;
      continue;
    }
    const char = String.fromCodePoint(data.codePointAt(at)!);
    at += char.length;
    if (char === '\x7f' || char === '\b') keys.push({ kind: 'erase' });
    else if (oneCell(char)) keys.push({ kind: 'char', chars: char });
    else {
      keys.push({ kind: 'other', newline: char === '\r' && at === data.length });
      break;
    }
  }
  return keys;
}
