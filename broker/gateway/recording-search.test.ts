import { describe, expect, it } from 'vitest';
import { encodeHeaderLine, encodeRecord, keyEvent, keysymsFor, RFB_RECORDING_FORMAT } from '../../shared/protocol/index.js';
import { searchTyped, searchTypedRfb } from './recording-search.js';

const cast = [
  JSON.stringify({ version: 2, width: 80, height: 24 }),
  JSON.stringify([0.5, 'o', 'secret on the screen only\r\n']),
  JSON.stringify([1, 'i', 'ec']),
  JSON.stringify([1.25, 'i', 'ho se']),
  JSON.stringify([1.5, 'o', 'echo se']),
  JSON.stringify([2, 'i', 'cret\r']),
  'not json',
  JSON.stringify([3, 'r', '100x30']),
  JSON.stringify([4, 'i', 'echo secret again\r']),
  '',
].join('\n');

describe('searchTyped', () => {
  it('finds a word in the typed input across keystrokes, with the times of its first and last', () => {
    expect(searchTyped(cast, 'secret')).toEqual([
      { start: 1.25, end: 2 },
      { start: 4, end: 4 },
    ]);
  });

  it('finds nothing that was only shown, or not there, or empty', () => {
    expect(searchTyped(cast, 'screen')).toEqual([]);
    expect(searchTyped(cast, 'missing')).toEqual([]);
    expect(searchTyped(cast, '')).toEqual([]);
  });
});

describe('searchTypedRfb', () => {
  it('finds a word in a graphical recording’s key presses, at the times of its first and last press (s)', () => {
    const header = encodeHeaderLine({ format: RFB_RECORDING_FORMAT, version: 1, session: 's', owner: 'ann', app: 'x', appName: 'X', node: 'n', startedAt: 0 });
    const keys = keysymsFor('ls -l\nls\n').flatMap((keysym, i) => [encodeRecord('input', 1000 + 100 * i, keyEvent(true, keysym)), encodeRecord('input', 1050 + 100 * i, keyEvent(false, keysym))]);
    const file = Buffer.concat([header, encodeRecord('server', 0, new TextEncoder().encode('RFB 003.008\n')), ...keys]);
    expect(searchTypedRfb(file, 'ls')).toEqual([{ start: 1, end: 1.1 }, { start: 1.6, end: 1.7 }]);
    expect(searchTypedRfb(file, '-l\nls')).toEqual([{ start: 1.3, end: 1.7 }]);
    expect(searchTypedRfb(file, 'cat')).toEqual([]);
  });
});
