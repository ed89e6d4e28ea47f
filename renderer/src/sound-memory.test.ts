import { describe, expect, it } from 'vitest';
import { DEFAULT_SOUND, rememberSound, rememberedSound, soundMemoryKey } from './sound-memory.js';

const memory = (initial: Record<string, string> = {}) => {
  const items = new Map(Object.entries(initial));
  return { items, getItem: (k: string) => items.get(k) ?? null, setItem: (k: string, v: string) => void items.set(k, v) };
};

describe('a tab’s sound, remembered per app', () => {
  it('starts off at 80 for an app never heard here', () => {
    expect(rememberedSound(memory(), 'tone')).toEqual({ on: false, volume: 80 });
    expect(DEFAULT_SOUND).toEqual({ on: false, volume: 80 });
  });

  it('is read back as it was left, for that app only', () => {
    const storage = memory();
    rememberSound(storage, 'tone', { on: true, volume: 35 });
    expect(storage.items.get('holdfast.sound.tone')).toBe('{"on":true,"volume":35}');
    expect(rememberedSound(storage, 'tone')).toEqual({ on: true, volume: 35 });
    expect(rememberedSound(storage, 'python')).toEqual(DEFAULT_SOUND);
    rememberSound(storage, 'tone', { on: false, volume: 0 });
    expect(rememberedSound(storage, 'tone')).toEqual({ on: false, volume: 0 });
  });

  it('ignores a stored value it does not understand', () => {
    for (const raw of ['not json', 'null', '[]', '"on"', '{"on":"yes","volume":50}', '{"on":true,"volume":250}', '{"on":true,"volume":12.5}', '{"on":true}', '{"on":true,"volume":50,"extra":1}']) {
      expect(rememberedSound(memory({ [soundMemoryKey('tone')]: raw }), 'tone'), raw).toEqual(DEFAULT_SOUND);
    }
  });

  it('survives a storage that refuses, or none at all', () => {
    const refusing = {
      getItem: () => {
        throw new Error('SecurityError');
      },
      setItem: () => {
        throw new Error('QuotaExceededError');
      },
    };
    expect(rememberedSound(refusing, 'tone')).toEqual(DEFAULT_SOUND);
    expect(() => rememberSound(refusing, 'tone', { on: true, volume: 50 })).not.toThrow();
    expect(rememberedSound(null, 'tone')).toEqual(DEFAULT_SOUND);
    expect(() => rememberSound(null, 'tone', { on: true, volume: 50 })).not.toThrow();
  });
});
