// The screen after `digest` (skipping what cannot survive) must equal the screen after
// parsing every byte: same text, colours, wrap flags, cursor, modes and scrollback.
// Each case is run both ways on fresh terminals and compared; the cases that should
// skip also check that they did, so a digest that never skips cannot pass.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import headless from '@xterm/headless';
import serialize from '@xterm/addon-serialize';
import { digest, planSkips, printableEnd, wordsOf } from './screen-digest.mjs';

const { Terminal } = headless;
const { SerializeAddon } = serialize;
type Term = InstanceType<typeof Terminal>;

const MIN = 512; // small skips in tests, so small screens exercise every path

function open(cols: number, rows: number, scrollback: number): { terminal: Term; serializer: InstanceType<typeof SerializeAddon> } {
  const terminal = new Terminal({ cols, rows, scrollback, allowProposedApi: true, logLevel: 'off' });
  const serializer = new SerializeAddon();
  terminal.loadAddon(serializer);
  return { terminal, serializer };
}

const write = (terminal: Term, data: Uint8Array | string) => new Promise<void>((resolve) => terminal.write(data, resolve));

/** Everything a snapshot, a screen hash or a later resize could depend on. */
function state(terminal: Term, serializer: InstanceType<typeof SerializeAddon>, scrollback: number) {
  const buffer = terminal.buffer.active;
  const wraps: boolean[] = [];
  const text = createHash('sha256');
  for (let y = 0; y < buffer.length; y++) {
    const line = buffer.getLine(y);
    wraps.push(line?.isWrapped ?? false);
    text.update((line?.translateToString(false) ?? '') + '\n');
  }
  return {
    serialized: createHash('sha256').update(serializer.serialize({ scrollback })).digest('hex'),
    text: text.digest('hex'),
    wraps: wraps.map((w) => (w ? '1' : '0')).join(''),
    cursor: [buffer.cursorX, buffer.cursorY, buffer.baseY, buffer.viewportY, buffer.length, buffer.type],
    modes: terminal.modes,
  };
}

async function both(chunks: (Uint8Array | string)[], options: { cols?: number; rows?: number; scrollback?: number; resizeAfter?: [number, number] } = {}) {
  const { cols = 40, rows = 10, scrollback = 30 } = options;
  const full = open(cols, rows, scrollback);
  const quick = open(cols, rows, scrollback);
  let skipped = 0;
  for (const chunk of chunks) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    await write(full.terminal, bytes);
    skipped += await digest(quick.terminal, bytes, scrollback, MIN);
  }
  if (options.resizeAfter) {
    full.terminal.resize(...options.resizeAfter);
    quick.terminal.resize(...options.resizeAfter);
  }
  const result = { full: state(full.terminal, full.serializer, scrollback), quick: state(quick.terminal, quick.serializer, scrollback), skipped };
  full.terminal.dispose();
  quick.terminal.dispose();
  return result;
}

/** Deterministic pseudo-random numbers (mulberry32), so a failure can be replayed. */
function random(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = ['build', 'ok', 'error:', 'résumé', '漢字', '→', '🙂', 'x', 'a\tb', '   ', 'naïve', 'ﾊﾝｶｸ'];
const COLOURS = ['\x1b[0m', '\x1b[m', '\x1b[1;31m', '\x1b[32m', '\x1b[38;5;208m', '\x1b[48;2;10;20;30m', '\x1b[4:3m', '\x1b[58;5;1m', '\x1b[7m', '\x1b[;1m', '\x1b[K', '\x1b[1K', '\x1b[>4;2m'];

/** Log-like lines: words, colours, erases; `eol` is what ends a line. */
function logLines(next: () => number, lines: number, eol: string, colours = true): string {
  let out = '';
  for (let l = 0; l < lines; l++) {
    const words = Math.floor(next() * 14);
    for (let w = 0; w < words; w++) {
      if (colours && next() < 0.3) out += COLOURS[Math.floor(next() * COLOURS.length)];
      out += WORDS[Math.floor(next() * WORDS.length)] + ' ';
    }
    if (next() < 0.05) out += 'y'.repeat(Math.floor(next() * 120)); // a line that wraps
    out += eol;
  }
  return out;
}

/** Splits a string's bytes at random places (a PTY's reads, the worker's batches). */
function split(next: () => number, text: string, pieces: number): Uint8Array[] {
  const bytes = Buffer.from(text, 'utf8');
  const cuts = Array.from({ length: pieces - 1 }, () => Math.floor(next() * bytes.length)).sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let at = 0;
  for (const cut of [...cuts, bytes.length]) {
    out.push(bytes.subarray(at, cut));
    at = cut;
  }
  return out;
}

describe('screen digest: skipping a flood leaves exactly the screen a full parse leaves', () => {
  it('a run of one character with no line ends (the bench stream), from every starting column', async () => {
    for (let start = 0; start <= 41; start++) {
      const { full, quick, skipped } = await both(['\x1b[33mhello\r\n' + 'q'.repeat(start), 'x'.repeat(6000 + start * 7), '\x1b[0mend']);
      expect(quick, `starting column ${start}`).toEqual(full);
      expect(skipped).toBeGreaterThan(3000);
    }
  });

  it('log lines with CR LF, colours, erases, wide and combining characters, split anywhere', async () => {
    for (let seed = 1; seed <= 40; seed++) {
      const next = random(seed);
      const text = 'prompt$ make\r\n' + logLines(next, 400 + Math.floor(next() * 400), '\r\n') + '\x1b[1mdone\x1b[0m $ ';
      const { full, quick, skipped } = await both(split(next, text, 1 + Math.floor(next() * 5)), { scrollback: 20 + Math.floor(next() * 40) });
      expect(quick, `seed ${seed}`).toEqual(full);
      if (seed <= 5) expect(skipped, `seed ${seed} skipped`).toBeGreaterThan(0);
    }
  });

  it('lines ending in LF alone (raw mode), CR alone, and a mix', async () => {
    for (const [seed, eol] of [[50, '\n'], [51, '\r'], [52, '\r\r\n'], [53, '\n\r']] as const) {
      const next = random(seed);
      const { full, quick } = await both([logLines(next, 600, eol), 'tail']);
      expect(quick, JSON.stringify(eol)).toEqual(full);
    }
  });

  it('colours set in the skipped part carry on after it', async () => {
    const text = 'a\r\n' + '\x1b[1;34mblue\r\n'.repeat(200) + '\x1b[0;42mgreen bg\r\n' + 'plain\r\n'.repeat(300) + 'still green?';
    const { full, quick, skipped } = await both([text]);
    expect(quick).toEqual(full);
    expect(skipped).toBeGreaterThan(1000);
  });

  it('a resize after the flood reflows the same lines', async () => {
    const next = random(7);
    const { full, quick, skipped } = await both([logLines(next, 900, '\r\n'), 'x'.repeat(9000)], { resizeAfter: [23, 7] });
    expect(quick).toEqual(full);
    expect(skipped).toBeGreaterThan(0);
  });

  it('a real-sized screen: 80×24 with 1000 lines of scrollback', async () => {
    const next = random(9);
    const { full, quick, skipped } = await both([logLines(next, 6000, '\r\n'), 'x'.repeat(300_000)], { cols: 80, rows: 24, scrollback: 1000 });
    expect(quick).toEqual(full);
    expect(skipped).toBeGreaterThan(200_000);
  });

  it('does not skip where the state says the flood does not fill the screen: a scroll region, insert mode, no auto-wrap, the alternate screen', async () => {
    const flood = 'x'.repeat(8000);
    const lines = 'line of text\r\n'.repeat(500);
    const cases: [string, string, boolean][] = [
      ['scroll region', '\x1b[3;8r\x1b[5H', false],
      ['insert mode', '\x1b[4h', false],
      ['no auto-wrap', '\x1b[?7l', false],
      ['alternate screen', '\x1b[?1049h', true],
      ['origin mode inside the whole screen', '\x1b[?6h', true],
    ];
    for (const [name, setup, skips] of cases) {
      for (const body of [flood, lines]) {
        const { full, quick, skipped } = await both([setup + 'top\r\n', body, 'end']);
        expect(quick, name).toEqual(full);
        if (!skips && !(name === 'no auto-wrap' && body === lines)) expect(skipped, name).toBe(0);
      }
    }
  });

  it('text inside a title (OSC) or a DCS string is never skipped, and the string still ends right', async () => {
    for (const [open, close] of [['\x1b]0;', '\x07'], ['\x1b]52;c;', '\x1b\\'], ['\x1bP1;2|', '\x1b\\']]) {
      const body = 'A'.repeat(9000) + '\r\n'.repeat(3) + 'B'.repeat(9000);
      const { full, quick, skipped } = await both(['before\r\n' + open, body, close + 'after\r\n']);
      expect(quick, JSON.stringify(open)).toEqual(full);
      expect(skipped, JSON.stringify(open)).toBe(0);
    }
  });

  it('escape sequences that move the cursor end a stretch; C1 controls in UTF-8 too', async () => {
    const next = random(11);
    const text = logLines(next, 300, '\r\n') + '\x1b[5;5H\x1b[2Kmoved' + logLines(next, 300, '\r\n') + '\u009b31mC1' + logLines(next, 300, '\r\n');
    const { full, quick } = await both(split(next, text, 4));
    expect(quick).toEqual(full);
    // A C1 CSI (U+009B) that turns the rest red, in the middle of plain lines.
    const c1 = 'a\r\n' + 'plain line\r\n'.repeat(300) + '\u009b31m' + 'plain line\r\n'.repeat(300) + 'red?';
    const after = await both([c1]);
    expect(after.quick).toEqual(after.full);
    // Mode changes in the middle of a flood hold for the tail: auto-wrap off, insert
    // mode, a scroll region, the alternate screen, a cursor moved and a line erased.
    for (const change of ['\x1b[?7l', '\x1b[4h', '\x1b[2;5r', '\x1b[?1049h', '\x1b[3;3H', '\x1b[2K']) {
      const long = 'a much longer line that wraps on a narrow screen, twice or more\r\n';
      const result = await both(['top\r\n' + long.repeat(300) + change + long.repeat(40) + 'end']);
      expect(result.quick, JSON.stringify(change)).toEqual(result.full);
    }
  });

  it('random bytes, including invalid UTF-8, between floods', async () => {
    for (let seed = 100; seed < 130; seed++) {
      const next = random(seed);
      const noise = Buffer.from(Array.from({ length: 200 }, () => Math.floor(next() * 256)));
      const chunks = [...split(next, logLines(next, 500, '\r\n'), 3), noise, ...split(next, 'z'.repeat(7000) + logLines(next, 500, '\r\n', false), 3)];
      const { full, quick } = await both(chunks);
      expect(quick, `seed ${seed}`).toEqual(full);
    }
  });

  it('plans nothing for short output, and leaves the tail that refills the screen', () => {
    expect(planSkips(Buffer.from('hello\r\n'.repeat(10)), 80, 24, 1000)).toEqual([]);
    const bytes = Buffer.from('x'.repeat(2_000_000));
    const [skip] = planSkips(bytes, 80, 24, 1000);
    expect(skip?.rule).toBe('cols');
    expect((skip!.e - skip!.s) % 80).toBe(0);
    expect(bytes.length - skip!.e).toBeGreaterThanOrEqual((2 * 24 + 1000 + 3) * 80);
  });
});

describe('printableEnd: the run of printable ASCII, four bytes at a time', () => {
  /** Byte by byte: the reference. */
  const slowEnd = (bytes: Uint8Array, i: number) => {
    while (i < bytes.length && bytes[i]! >= 0x20 && bytes[i]! <= 0x7e) i += 1;
    return i;
  };
  const edges = [0x00, 0x09, 0x0a, 0x0d, 0x1b, 0x1f, 0x20, 0x21, 0x41, 0x7d, 0x7e, 0x7f, 0x80, 0x9b, 0xc2, 0xfe, 0xff];

  it('stops at the first byte outside 0x20–0x7e, from every alignment and start', () => {
    const next = random(7);
    const memory = new Uint8Array(4096 + 8);
    for (let round = 0; round < 300; round++) {
      // Mostly printable, with an edge byte now and then: long runs and every kind of stop.
      for (let k = 0; k < memory.length; k++) memory[k] = next() < 0.02 ? edges[Math.floor(next() * edges.length)]! : 0x20 + Math.floor(next() * 95);
      const offset = round % 8;
      const length = 1 + Math.floor(next() * 4096);
      const bytes = memory.subarray(offset, offset + length);
      const { words, lead } = wordsOf(bytes);
      for (let start = 0; start < bytes.length; start += 1 + Math.floor(next() * 37)) {
        expect(printableEnd(bytes, words, lead, start, bytes.length), `round ${round}, start ${start}`).toBe(slowEnd(bytes, start));
      }
    }
  });

  it('finds each edge byte wherever it sits in a word', () => {
    for (const edge of edges) {
      for (let at = 0; at < 16; at++) {
        const bytes = new Uint8Array(16).fill(0x78);
        bytes[at] = edge;
        const words = new Uint32Array(bytes.buffer, 0, 4);
        const expected = edge >= 0x20 && edge <= 0x7e ? 16 : at;
        expect(printableEnd(bytes, words, 0, 0, 16), `0x${edge.toString(16)} at ${at}`).toBe(expected);
      }
    }
  });
});
