import { describe, expect, it } from 'vitest';
import { newSessionId } from './session-id.js';

describe('newSessionId', () => {
  it('never starts with "-" (a command line would take it for an option), and is 22 base64url characters', () => {
    // One id in 64 started with "-" before: 5,000 of them would all but surely show one.
    const ids = Array.from({ length: 5000 }, () => newSessionId());
    expect(ids.filter((id) => id.startsWith('-'))).toEqual([]);
    expect(ids.every((id) => /^[A-Za-z0-9_-]{22}$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
