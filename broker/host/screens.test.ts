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
