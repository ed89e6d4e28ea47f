// The screen worker's hash, which replicas compare: it must change with what a person
// sees, and only with that.
import { afterAll, describe, expect, it } from 'vitest';
import { Screens } from './screens.js';

const screens = new Screens(100);
afterAll(() => screens.stop());
const text = (s: string) => new TextEncoder().encode(s);

describe('a screen’s hash', () => {
  it('is equal for screens that look alike, however the app drew them', async () => {
    screens.open('a', 40, 5);
    screens.open('b', 40, 5);
    // vim redrawing "last line" with a trailing blank written, and the same line drawn without one.
    screens.write('a', text('first\r\nlast line \r\n'));
    screens.write('b', text('first\r\nlast line\r\n'));
    expect(await screens.hash('a')).toBe(await screens.hash('b'));
  });

  it('differs when the text or the cursor differs', async () => {
    screens.open('c', 40, 5);
    screens.open('d', 40, 5);
    screens.write('c', text('first\r\nlast line'));
    screens.write('d', text('first\r\nlast lime'));
    expect(await screens.hash('c')).not.toBe(await screens.hash('d'));
    screens.write('d', text('\b\bne'));
    expect(await screens.hash('c')).toBe(await screens.hash('d'));
    screens.write('d', text(' '));
    expect(await screens.hash('c')).not.toBe(await screens.hash('d')); // the cursor moved on
  });
});

describe('a screen’s text (thumbnails)', () => {
  it('is the visible rows as a person sees them: no scrolled-off rows, no trailing blanks, the size beside', async () => {
    screens.open('t', 20, 3);
    screens.write('t', text('gone\r\none  \r\n\x1b[31mtwo\x1b[0m\r\nthree'));
    expect(await screens.text('t')).toEqual({ data: 'one\ntwo\nthree', cols: 20, rows: 3 });
    screens.write('t', text('\x1b[2J\x1b[H'));
    expect(await screens.text('t')).toEqual({ data: '\n\n', cols: 20, rows: 3 });
  });

  it('is null for a screen there is not', async () => {
    expect(await screens.text('nobody')).toBeNull();
  });
});
