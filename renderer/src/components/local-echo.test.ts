// The local-echo engine against a real xterm.js buffer (@xterm/headless): what it shows
// at once, what the output confirms or refutes, what it never shows (a password), and
// that the screen itself is never touched — a scripted session with prediction leaves
// the same buffer as one without, and nothing predicted on show once the output is in.
import headless from '@xterm/headless';
import { describe, expect, it } from 'vitest';
import type { EchoMode } from '../../../shared/protocol/index.js';
import { echoKeys } from './echo-keys.js';
import { terminalScreen } from './echo-screen.js';
import { LocalEcho, QUIET_MS, type LocalEchoSetting } from './local-echo.js';

const { Terminal } = headless;
type HeadlessTerminal = InstanceType<typeof Terminal>;

/** A terminal with the engine beside it, a clock, and a host that applies inputs when told. */
function rig(mode: EchoMode | null, setting: LocalEchoSetting = 'always', cols = 40) {
  const term = new Terminal({ cols, rows: 8, scrollback: 100, allowProposedApi: true });
  const state = { now: 1000, typed: 0, applied: 0 };
  const echo = new LocalEcho({ screen: terminalScreen(term), applied: () => state.applied, setting, mode });
  const write = (data: string) =>
    new Promise<void>((resolve) =>
      term.write(data, () => {
        echo.outputParsed(state.now);
        resolve();
      }),
    );
  return {
    term,
    echo,
    state,
    /** One keystroke (or piece of input), as term.onData hands it over. */
    type(data: string) {
      echo.typed(data, ++state.typed, state.now);
    },
    /** The host applied every input typed, `ms` later, and this is what its app wrote back. */
    async answer(data: string, ms = 60) {
      state.now += ms;
      state.applied = state.typed;
      await write(data);
    },
    write,
    /** Time passes with no output (the quiet that lets prediction start again). */
    wait(ms = QUIET_MS + 5) {
      state.now += ms;
      echo.tick(state.now);
    },
    /** The predicted text drawn over the screen, left to right. */
    shown: () =>
      echo
        .view()
        .cells.sort((a, b) => a.row - b.row || a.x - b.x)
        .map((c) => c.chars)
        .join(''),
    /** A screen row as the person sees it: the buffer, with what is predicted drawn over it. */
    seen(row = cursorRow(term)) {
      const chars = [...(term.buffer.active.getLine(row)?.translateToString(false) ?? '')];
      for (const cell of echo.view().cells) if (cell.row === row) chars[cell.x] = cell.chars;
      return chars.join('').trimEnd();
    },
    row: (row = cursorRow(term)) => (term.buffer.active.getLine(row)?.translateToString(true) ?? '').trimEnd(),
  };
}

const cursorRow = (term: HeadlessTerminal) => term.buffer.active.baseY + term.buffer.active.cursorY;

describe('echoKeys', () => {
  it('tells printable characters (non-ASCII too), backspace and moves from keys whose effect is unknown', () => {
    expect(echoKeys('aé€')).toEqual([
      { kind: 'char', chars: 'a' },
      { kind: 'char', chars: 'é' },
      { kind: 'char', chars: '€' },
    ]);
    expect(echoKeys('\x7f\x1b[D\x1bOC')).toEqual([{ kind: 'erase' }, { kind: 'left' }, { kind: 'right' }]);
    expect(echoKeys('\r')).toEqual([{ kind: 'other', newline: true }]);
    expect(echoKeys('a\tb')).toEqual([{ kind: 'char', chars: 'a' }, { kind: 'other', newline: false }]);
    for (const unknown of ['\x03', '\x1b', '\x1b[A', '\x1b[B', '漢', '😀', 'e\u0301'.slice(1)]) expect(echoKeys(unknown)[0]).toEqual({ kind: 'other', newline: false });
  });
});

describe('LocalEcho', () => {
  it('echo mode: "hello" shows at once, underlined until the echo confirms it, and the screen is left to the output', async () => {
    const r = rig('echo');
    for (const c of 'hello') r.type(c);
    expect(r.shown()).toBe('hello');
    expect(r.row()).toBe('');
    expect(r.echo.view().cursor).toEqual({ x: 5, row: 0 });
    // Part of the echo: what it confirms is the screen's now, the rest still predicted.
    await r.answer('he');
    expect(r.shown()).toBe('llo');
    expect(r.seen()).toBe('hello');
    await r.answer('llo');
    expect(r.shown()).toBe('');
    expect(r.echo.pending).toBe(0);
    expect(r.echo.view().cursor).toBeNull();
    expect(r.row()).toBe('hello');
    expect(r.echo.delay).toBeGreaterThanOrEqual(60);
  });

  it('echo mode: Enter waits for the output, then the next line is predicted where the echo put the cursor', async () => {
    const r = rig('echo');
    for (const c of 'ab') r.type(c);
    await r.answer('ab');
    r.type('\r');
    r.type('x');
    expect(r.shown()).toBe('');
    // cat: the echoed line break, then the line written back.
    await r.answer('\r\nab\r\nx');
    r.wait();
    r.type('c');
    expect(r.shown()).toBe('c');
    expect(r.echo.view().cells[0]).toMatchObject({ x: 1, row: 2 });
  });

  it('hidden: nothing is ever shown, even if the output later echoes it, and switching to hidden drops what was shown', async () => {
    const r = rig('hidden');
    for (const c of 'secret') {
      r.type(c);
      expect(r.shown()).toBe('');
    }
    await r.answer('secret');
    expect(r.shown()).toBe('');
    expect(r.echo.pending).toBe(0);

    const s = rig('echo');
    for (const c of 'pw') s.type(c);
    expect(s.shown()).toBe('pw');
    s.echo.setMode('hidden');
    expect(s.shown()).toBe('');
    s.wait(1000);
    s.type('x');
    expect(s.shown()).toBe('');
    expect(s.echo.pending).toBe(0);
    // Not told at all (an older node): the same.
    const t = rig(null);
    t.type('a');
    expect(t.shown()).toBe('');
  });

  it('app mode: predictions wait for the app to confirm one; then they show at once; a refutation hides them again', async () => {
    const r = rig('app');
    await r.write('>>> ');
    r.wait();
    r.type('p');
    expect(r.shown()).toBe('');
    expect(r.echo.pending).toBe(1);
    await r.answer('p');
    expect(r.echo.confident).toBe(true);
    r.type('r');
    expect(r.shown()).toBe('r');
    await r.answer('r');
    expect(r.seen()).toBe('>>> pr');
    // The app moves the cursor instead of echoing (vim's normal mode j): refuted, all of it goes.
    r.type('j');
    r.type('j');
    expect(r.shown()).toBe('jj');
    await r.answer('\x1b[B');
    expect(r.shown()).toBe('');
    expect(r.echo.confident).toBe(false);
    expect(r.echo.pending).toBe(0);
    r.wait();
    r.type('k');
    expect(r.shown()).toBe('');
    expect(r.echo.pending).toBe(1);
  });

  it('app mode: Enter starts a new epoch; a full-screen app (the alternate screen) must earn confidence of its own', async () => {
    const r = rig('app');
    await r.write('$ ');
    r.wait();
    r.type('v');
    await r.answer('v');
    r.type('i');
    expect(r.shown()).toBe('i');
    await r.answer('i');
    r.type('\r');
    await r.answer('\r\n\x1b[?1049h\x1b[H\r\n~\r\n~\x1b[H');
    r.wait();
    r.type('a');
    expect(r.shown()).toBe('');
    await r.answer('a');
    r.type('b');
    expect(r.shown()).toBe('b');
    expect(r.echo.view().cells[0]).toMatchObject({ x: 1, row: 0 });
  });

  it('a prediction nothing answers (an app that reads keys silently) expires', async () => {
    const r = rig('echo');
    r.type('q');
    expect(r.shown()).toBe('q');
    r.state.applied = 1;
    r.wait(800);
    expect(r.shown()).toBe('');
    expect(r.echo.confident).toBe(false);
  });

  it('backspace: at the end of the line, and in the middle of a line an app edits; not past where typing began', async () => {
    const r = rig('echo');
    for (const c of 'ab') r.type(c);
    r.type('\x7f');
    expect(r.seen()).toBe('a');
    await r.answer('ab\b \b');
    expect(r.shown()).toBe('');
    expect(r.echo.pending).toBe(0);
    expect(r.row()).toBe('a');

    const a = rig('app');
    await a.write('>>> ');
    a.wait();
    a.type('a');
    await a.answer('a');
    for (const c of 'bcd') a.type(c);
    await a.answer('bcd');
    // Two left, an insertion, a backspace: readline redraws the rest of the line each time.
    a.type('\x1b[D');
    a.type('\x1b[D');
    a.type('X');
    expect(a.seen()).toBe('>>> abXcd');
    expect(a.echo.view().cursor).toEqual({ x: 7, row: 0 });
    a.type('\x7f');
    a.type('\x7f');
    expect(a.seen()).toBe('>>> acd');
    await a.answer('\b\b' + 'Xcd\b\b' + '\bcd \b\b\b' + '\bcd \b\b\b');
    expect(a.row()).toBe('>>> acd');
    expect(a.shown()).toBe('');
    expect(a.echo.pending).toBe(0);
    // Back to where typing began: a backspace over the prompt is not predicted (readline rings the bell).
    a.type('\x1b[D');
    expect(a.echo.view().cursor).toEqual({ x: 4, row: 0 });
    a.type('\x7f');
    expect(a.shown()).toBe('');
    expect(a.echo.pending).toBe(1);
  });

  it('auto: shows nothing until the echo delay is measured above 30 ms; never: nothing', async () => {
    const fast = rig('echo', 'auto');
    fast.type('a');
    expect(fast.shown()).toBe('');
    await fast.answer('a', 5);
    fast.type('b');
    expect(fast.shown()).toBe('');
    expect(fast.echo.delay).toBe(5);

    const slow = rig('echo', 'auto');
    slow.type('a');
    await slow.answer('a', 80);
    slow.type('b');
    expect(slow.shown()).toBe('b');

    const never = rig('echo', 'never');
    never.type('a');
    expect(never.shown()).toBe('');
    expect(never.echo.pending).toBe(0);
  });

  it('does not predict over the last column nor wide characters', async () => {
    const r = rig('echo', 'always', 10);
    await r.write('123456789');
    r.wait();
    r.type('x');
    expect(r.shown()).toBe('');
    const w = rig('echo');
    w.type('漢');
    expect(w.shown()).toBe('');
  });

  it('the screen with prediction is the screen without it, and nothing predicted stays on show once the output is in', async () => {
    let confirming = 0;
    for (let seed = 1; seed <= 28; seed++) if (await scriptedSession(seed)) confirming += 1;
    // The sessions did predict (and the output confirmed), not only refute.
    expect(confirming).toBeGreaterThan(14);
  });
});

/** A small readline: keys in, the bytes it writes back out (insertions redraw the rest of the line). */
function lineEditor(prompt: string, transform: (c: string) => string) {
  let line = '';
  let at = 0;
  return (key: string): string => {
    if (key === '\r') {
      const out = `\r\nout: ${line}\r\n${prompt}`;
      line = '';
      at = 0;
      return out;
    }
    if (key === '\x7f') {
      if (at === 0) return '\x07';
      const rest = line.slice(at);
      line = line.slice(0, at - 1) + rest;
      at -= 1;
      return `\b${rest} ${'\b'.repeat(rest.length + 1)}`;
    }
    if (key === '\x1b[D') {
      if (at === 0) return '\x07';
      at -= 1;
      return '\b';
    }
    if (key === '\x1b[C') {
      if (at === line.length) return '\x07';
      at += 1;
      return line[at - 1]!;
    }
    const c = transform(key);
    const rest = line.slice(at);
    line = line.slice(0, at) + c + rest;
    at += 1;
    return c + rest + '\b'.repeat(rest.length);
  };
}

/**
 * A pseudo-random session: keys typed ahead of a host that answers late, sometimes not as
 * predicted, and unrelated output. Whether the output confirmed any prediction.
 */
async function scriptedSession(seed: number): Promise<boolean> {
  let s = seed;
  const random = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const mode: EchoMode = seed % 2 ? 'app' : 'echo';
  const r = rig(mode);
  const plain = new Terminal({ cols: 40, rows: 8, scrollback: 100, allowProposedApi: true });
  const both = async (data: string) => {
    await new Promise<void>((resolve) => plain.write(data, resolve));
    await r.write(data);
  };
  // Every seventh seed's app answers in capitals (a refutation); all may print a clock in a corner.
  const host = lineEditor('$ ', seed % 7 === 0 ? (c) => c.toUpperCase() : (c) => c);
  await both('$ ');
  const keys = ['a', 'b', 'c', 'é', 'x', 'y', 'z', '\x7f', '\x1b[D', '\x1b[C', '\r'];
  const inFlight: string[] = [];
  for (let step = 0; step < 120; step++) {
    const roll = random();
    if (roll < 0.5) {
      const key = keys[Math.floor(random() * keys.length)]!;
      inFlight.push(key);
      r.type(key);
    } else if (roll < 0.85 && inFlight.length > 0) {
      r.state.now += 10;
      r.state.applied += 1;
      await both(host(inFlight.shift()!));
    } else if (roll < 0.9) {
      await both('\x1b7\x1b[1;35H12:00\x1b8');
    } else {
      r.wait(Math.floor(random() * 40));
    }
  }
  while (inFlight.length > 0) {
    r.state.applied += 1;
    await both(host(inFlight.shift()!));
  }
  r.wait(1000);
  const lines = (term: HeadlessTerminal) => Array.from({ length: term.buffer.active.length }, (_, y) => term.buffer.active.getLine(y)!.translateToString(true));
  expect(lines(r.term), `seed ${seed}`).toEqual(lines(plain));
  expect([r.term.buffer.active.cursorX, r.term.buffer.active.cursorY]).toEqual([plain.buffer.active.cursorX, plain.buffer.active.cursorY]);
  expect(r.echo.view(), `seed ${seed}`).toEqual({ cells: [], cursor: null });
  expect(r.echo.pending, `seed ${seed}`).toBe(0);
  return r.echo.delay !== null;
}
