import { describe, expect, it } from 'vitest';
import { DEFAULT_PREFERENCES, ESCAPE_CHORDS, PREFERENCES_KEY, PreferenceStore, escapeChord, readPreferences, type ChordKey } from './preferences.js';

const memory = (initial: Record<string, string> = {}) => {
  const items = new Map(Object.entries(initial));
  return { items, getItem: (k: string) => items.get(k) ?? null, setItem: (k: string, v: string) => void items.set(k, v) };
};
const keydown = (key: string, mods: Partial<Omit<ChordKey, 'key'>> = {}): ChordKey => ({ key, ctrlKey: false, altKey: false, shiftKey: false, metaKey: false, ...mods });

describe('preferences', () => {
  it('start as Ctrl+Alt+Shift, no copy on select, sharp graphical apps and automatic local echo', () => {
    expect(readPreferences(memory())).toEqual({ escapeChord: 'ctrl-alt-shift', copyOnSelect: false, displayPixels: 'device', localEcho: 'auto' });
    expect(DEFAULT_PREFERENCES).toEqual({ escapeChord: 'ctrl-alt-shift', copyOnSelect: false, displayPixels: 'device', localEcho: 'auto' });
  });

  it('are kept, and read back by the next page', () => {
    const storage = memory();
    const store = new PreferenceStore(storage);
    let heard = 0;
    store.subscribe(() => heard++);
    store.update({ escapeChord: 'ctrl-shift-f12' });
    store.update({ copyOnSelect: true });
    store.update({ displayPixels: 'css' });
    store.update({ localEcho: 'never' });
    expect(store.preferences).toEqual({ escapeChord: 'ctrl-shift-f12', copyOnSelect: true, displayPixels: 'css', localEcho: 'never' });
    expect(heard).toBe(4);
    expect(new PreferenceStore(storage).preferences).toEqual({ escapeChord: 'ctrl-shift-f12', copyOnSelect: true, displayPixels: 'css', localEcho: 'never' });
  });

  it('fall back to the default, field by field, for what they do not know', () => {
    const read = (raw: string) => readPreferences(memory({ [PREFERENCES_KEY]: raw }));
    expect(read('{"escapeChord":"ctrl-alt-delete","copyOnSelect":true}')).toEqual({ escapeChord: 'ctrl-alt-shift', copyOnSelect: true, displayPixels: 'device', localEcho: 'auto' });
    expect(read('{"escapeChord":"ctrl-alt-home","copyOnSelect":"yes","displayPixels":"css"}')).toEqual({ escapeChord: 'ctrl-alt-home', copyOnSelect: false, displayPixels: 'css', localEcho: 'auto' });
    expect(read('{"localEcho":"sometimes","displayPixels":"css"}')).toEqual({ ...DEFAULT_PREFERENCES, displayPixels: 'css' });
    expect(read('{"localEcho":"always"}')).toEqual({ ...DEFAULT_PREFERENCES, localEcho: 'always' });
    expect(read('{"displayPixels":"retina"}')).toEqual(DEFAULT_PREFERENCES);
    for (const raw of ['not json', 'null', '42', '[]', '"ctrl-alt-home"', '{}', '{"__proto__":{"copyOnSelect":true}}']) expect(read(raw)).toEqual(DEFAULT_PREFERENCES);
    // What is not a preference is not kept.
    expect(read('{"escapeChord":"ctrl-alt-home","extra":1}')).toEqual({ escapeChord: 'ctrl-alt-home', copyOnSelect: false, displayPixels: 'device', localEcho: 'auto' });
  });

  it('a storage that refuses: the defaults, and a change still applies to this page', () => {
    const refusing = { getItem: () => { throw new Error('denied'); }, setItem: () => { throw new Error('denied'); } };
    const store = new PreferenceStore(refusing);
    expect(store.preferences).toEqual(DEFAULT_PREFERENCES);
    expect(() => store.update({ copyOnSelect: true })).not.toThrow();
    expect(store.preferences.copyOnSelect).toBe(true);
  });

  it('reload takes another window’s change, and says so only when something changed', () => {
    const storage = memory();
    const store = new PreferenceStore(storage);
    let heard = 0;
    store.subscribe(() => heard++);
    store.reload();
    expect(heard).toBe(0);
    new PreferenceStore(storage).update({ escapeChord: 'ctrl-alt-home' });
    store.reload();
    expect(store.preferences.escapeChord).toBe('ctrl-alt-home');
    expect(heard).toBe(1);
    new PreferenceStore(storage).update({ displayPixels: 'css' });
    store.reload();
    expect(store.preferences.displayPixels).toBe('css');
    expect(heard).toBe(2);
  });
});

describe('escape chords', () => {
  it('each matches its own keys exactly, and no other chord’s', () => {
    const completing: Record<string, ChordKey> = {
      'ctrl-alt-shift': keydown('Shift', { ctrlKey: true, altKey: true, shiftKey: true }),
      'ctrl-alt-home': keydown('Home', { ctrlKey: true, altKey: true }),
      'ctrl-shift-f12': keydown('F12', { ctrlKey: true, shiftKey: true }),
    };
    for (const chord of ESCAPE_CHORDS) {
      for (const [id, event] of Object.entries(completing)) expect(chord.matches(event), `${chord.id} on ${id}`).toBe(chord.id === id);
    }
    // Whichever of the three modifiers goes down last completes Ctrl+Alt+Shift.
    expect(escapeChord('ctrl-alt-shift').matches(keydown('Control', { ctrlKey: true, altKey: true, shiftKey: true }))).toBe(true);
    // An app's own Ctrl+Alt+Shift+Home, plain Home, Ctrl+Home, Shift+F12: not an escape.
    expect(escapeChord('ctrl-alt-home').matches(keydown('Home', { ctrlKey: true, altKey: true, shiftKey: true }))).toBe(false);
    expect(escapeChord('ctrl-alt-home').matches(keydown('Home'))).toBe(false);
    expect(escapeChord('ctrl-alt-home').matches(keydown('Home', { ctrlKey: true }))).toBe(false);
    expect(escapeChord('ctrl-shift-f12').matches(keydown('F12', { shiftKey: true }))).toBe(false);
    expect(escapeChord('ctrl-shift-f12').matches(keydown('F12', { ctrlKey: true, shiftKey: true, altKey: true }))).toBe(false);
  });

  it('are named by the keys shown to the person', () => {
    expect(ESCAPE_CHORDS.map((c) => c.keys.join('+'))).toEqual(['Ctrl+Alt+Shift', 'Ctrl+Alt+Home', 'Ctrl+Shift+F12']);
  });
});
