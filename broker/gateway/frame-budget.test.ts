import { describe, expect, it } from 'vitest';
import { MAX_DEPTH, nestedDeeperThan } from './frame-budget.js';

const bytes = (text: string) => Buffer.from(text);

describe('frame budget', () => {
  it('finds nesting beyond the limit, at the first byte too deep', () => {
    expect(nestedDeeperThan(bytes('{"type":"auth.signOut","id":1,"tokens":["a","b"]}'), MAX_DEPTH)).toBe(false);
    expect(nestedDeeperThan(bytes('{"a":' + '['.repeat(8) + ']'.repeat(8) + '}'), MAX_DEPTH)).toBe(true);
    expect(nestedDeeperThan(bytes('{"a":' + '['.repeat(7) + ']'.repeat(7) + '}'), MAX_DEPTH)).toBe(false);
    // Unclosed, 32,700 deep: answered after MAX_DEPTH + 1 brackets.
    expect(nestedDeeperThan(bytes('['.repeat(32_700)), MAX_DEPTH)).toBe(true);
  });

  it('does not count brackets inside strings, escaped quotes included', () => {
    expect(nestedDeeperThan(bytes(`{"password":"${'['.repeat(100)}\\"${'{'.repeat(100)}"}`), MAX_DEPTH)).toBe(false);
    expect(nestedDeeperThan(bytes(`{"p":"\\\\"${',['.repeat(10)}`), MAX_DEPTH)).toBe(true);
  });
});
