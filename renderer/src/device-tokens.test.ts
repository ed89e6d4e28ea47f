import { describe, expect, it } from 'vitest';
import { storedDeviceTokens } from './device-tokens.js';

describe('stored device tokens', () => {
  it('keeps one token per broker and person (names as sign-in compares them)', () => {
    const items = new Map<string, string>();
    const storage = { getItem: (k: string) => items.get(k) ?? null, setItem: (k: string, v: string) => void items.set(k, v) };
    const here = storedDeviceTokens(storage, 'https://a.example');
    here.set('Ann', 't1');
    expect(here.get('ann')).toBe('t1');
    expect(storedDeviceTokens(storage, 'https://b.example').get('ann')).toBeNull();
  });

  it('a storage that refuses loses only the token', () => {
    const refusing = { getItem: () => { throw new Error('denied'); }, setItem: () => { throw new Error('denied'); } };
    const tokens = storedDeviceTokens(refusing, 'https://a.example');
    expect(() => tokens.set('ann', 't1')).not.toThrow();
    expect(tokens.get('ann')).toBeNull();
  });
});
