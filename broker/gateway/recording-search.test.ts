import { describe, expect, it } from 'vitest';
import { searchTyped } from './recording-search.js';

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
