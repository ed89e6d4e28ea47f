import { describe, expect, it } from 'vitest';
import { KeyTranslator, XK, namedKeysym, shiftFor, usCharacter, type KeyInput, type KeyOutput } from './rfb-keys.js';

const NONE = { ctrlKey: false, altKey: false, shiftKey: false, metaKey: false, altGraph: false, location: 0 };
const down = (key: string, code: string, mods: Partial<KeyInput> = {}): KeyInput => ({ type: 'keydown', key, code, ...NONE, ...mods });
const up = (key: string, code: string, mods: Partial<KeyInput> = {}): KeyInput => ({ type: 'keyup', key, code, ...NONE, ...mods });
const ch = (c: string) => c.codePointAt(0)!;

/** The keysyms sent, as "+name" for a press and "-name" for a release. */
function run(translator: KeyTranslator, events: KeyInput[]): string[] {
  const names = new Map<number, string>(Object.entries(XK).map(([name, keysym]) => [keysym, name]));
  const name = (k: KeyOutput) => `${k.down ? '+' : '-'}${names.get(k.keysym) ?? (k.keysym >= 0x1000000 ? String.fromCodePoint(k.keysym - 0x1000000) : String.fromCodePoint(k.keysym))}`;
  return events.flatMap((event) => translator.translate(event).keys.map(name));
}

describe('KeyTranslator', () => {
  it('sends the character a key typed under the person’s layout, not the US key at that position', () => {
    const keys = new KeyTranslator();
    // German: ü is the key right of P (US "["), z is where US has y, and Shift+7 is "/".
    expect(run(keys, [down('ü', 'BracketLeft'), up('ü', 'BracketLeft'), down('z', 'KeyY'), up('z', 'KeyY')])).toEqual(['+ü', '-ü', '+z', '-z']);
    // "/" is unshifted on Xvnc's US keymap: the pane lets go of Shift for it (Xvnc would, if it knew Shift was held).
    expect(run(keys, [down('Shift', 'ShiftLeft', { location: 1, shiftKey: true }), down('/', 'Digit7', { shiftKey: true }), up('/', 'Digit7', { shiftKey: true }), up('Shift', 'ShiftLeft', { location: 1 })])).toEqual([
      '+Shift_L',
      '-Shift_L',
      '+/',
      '+Shift_L',
      '-/',
      '-Shift_L',
    ]);
    // Beyond Latin-1: X11's Unicode keysyms, which Xvnc places on a spare key.
    expect(new KeyTranslator().translate(down('€', 'KeyE', { altGraph: true })).keys[0]).toEqual({ keysym: 0x010020ac, down: true });
  });

  it('lets the browser compose after a dead key, and sends the composed character', () => {
    const keys = new KeyTranslator();
    const dead = keys.translate(down('Dead', 'Equal'));
    expect(dead).toEqual({ keys: [], handled: false }); // not cancelled: the browser (or the system's input method) composes
    expect(keys.translate(up('Dead', 'Equal'))).toEqual({ keys: [], handled: false });
    expect(run(keys, [down('é', 'KeyE'), up('é', 'KeyE')])).toEqual(['+é', '-é']);
  });

  it('types a character made with AltGr on Linux (AltGraph held) without Ctrl or Alt', () => {
    const keys = new KeyTranslator();
    expect(run(keys, [down('AltGraph', 'AltRight', { location: 2, altGraph: true }), down('@', 'KeyQ', { altGraph: true }), up('@', 'KeyQ', { altGraph: true }), up('AltGraph', 'AltRight', { location: 2 })])).toEqual([
      '+ISO_Level3_Shift',
      // "@" is Shift+2 on Xvnc's US keymap: the pane presses Shift for it.
      '+Shift_L',
      '+@',
      '-Shift_L',
      '-@',
      '-ISO_Level3_Shift',
    ]);
  });

  it('lifts the Ctrl that Windows reports with AltGr before the character, and never presses it twice', () => {
    const keys = new KeyTranslator();
    const ctrlAlt = { ctrlKey: true, altKey: true };
    expect(
      run(keys, [
        down('Control', 'ControlLeft', { location: 1, ctrlKey: true }),
        down('AltGraph', 'AltRight', { location: 2, ...ctrlAlt }),
        down('@', 'KeyQ', ctrlAlt),
        up('@', 'KeyQ', ctrlAlt),
        up('AltGraph', 'AltRight', { location: 2, ctrlKey: true }),
        up('Control', 'ControlLeft', { location: 1 }),
      ]),
    ).toEqual(['+Control_L', '+ISO_Level3_Shift', '-Control_L', '+Shift_L', '+@', '-Shift_L', '-@', '-ISO_Level3_Shift']);
  });

  it('treats Ctrl+Alt with a key’s own US letter as a shortcut, not AltGr', () => {
    const keys = new KeyTranslator();
    expect(
      run(keys, [down('Control', 'ControlLeft', { location: 1, ctrlKey: true }), down('Alt', 'AltLeft', { location: 1, ctrlKey: true, altKey: true }), down('t', 'KeyT', { ctrlKey: true, altKey: true })]),
    ).toEqual(['+Control_L', '+Alt_L', '+t']);
  });

  it('presses a lifted Ctrl again for a shortcut while it is still held', () => {
    const keys = new KeyTranslator();
    const ctrlAlt = { ctrlKey: true, altKey: true };
    run(keys, [down('Control', 'ControlLeft', { ctrlKey: true }), down('Alt', 'AltLeft', { location: 1, ...ctrlAlt }), down('@', 'KeyQ', ctrlAlt), up('@', 'KeyQ', ctrlAlt), up('Alt', 'AltLeft', { ctrlKey: true })]);
    expect(run(keys, [down('c', 'KeyC', { ctrlKey: true }), up('c', 'KeyC', { ctrlKey: true }), up('Control', 'ControlLeft')])).toEqual(['+Control_L', '+c', '-c', '-Control_L']);
  });

  it('keeps shortcuts under every layout: the US letter for a letter of another script, the typed one otherwise', () => {
    const keys = new KeyTranslator();
    // Russian: the key marked C types "с".
    expect(run(keys, [down('Control', 'ControlLeft', { ctrlKey: true }), down('с', 'KeyC', { ctrlKey: true }), up('с', 'KeyC', { ctrlKey: true })])).toEqual(['+Control_L', '+c', '-c']);
    expect(run(keys, [down('Shift', 'ShiftLeft', { ctrlKey: true, shiftKey: true }), down('Е', 'KeyT', { ctrlKey: true, shiftKey: true }), up('Е', 'KeyT', { ctrlKey: true, shiftKey: true })])).toEqual(['+Shift_L', '+T', '-T']);
    // German: Ctrl+Z is the key marked Z (US y), as a German keyboard's own X server would say.
    expect(run(new KeyTranslator(), [down('z', 'KeyY', { ctrlKey: true })])).toEqual(['+z']);
    // Without a shortcut modifier a Cyrillic letter is typed as itself.
    expect(run(new KeyTranslator(), [down('с', 'KeyC')])).toEqual(['+с']);
  });

  it('releases each key as it was pressed, repeats a held key, and lets go of everything when the pane loses the keyboard', () => {
    const keys = new KeyTranslator();
    expect(run(keys, [down('Shift', 'ShiftLeft', { shiftKey: true }), down('A', 'KeyA', { shiftKey: true }), down('A', 'KeyA', { shiftKey: true }), up('Shift', 'ShiftLeft'), up('a', 'KeyA')])).toEqual([
      '+Shift_L',
      '+A',
      '+A',
      '-Shift_L',
      '-A',
    ]);
    run(keys, [down('Control', 'ControlRight', { location: 2, ctrlKey: true }), down('x', 'KeyX', { ctrlKey: true })]);
    expect(keys.releaseAll().map((k) => k.keysym)).toEqual([XK.Control_R, ch('x')]);
    expect(keys.translate(up('x', 'KeyX'))).toEqual({ keys: [], handled: false });
  });

  it('types at once what a virtual keyboard sends without a key code, and text of several characters', () => {
    expect(run(new KeyTranslator(), [down('ß', '')])).toEqual(['+ß', '-ß']);
    expect(run(new KeyTranslator(), [down('Enter', '')])).toEqual(['+Return', '-Return']);
    expect(run(new KeyTranslator(), [down('ﬁx', 'KeyF')])).toEqual(['+ﬁ', '-ﬁ', '+x', '-x']);
  });

  it('leaves Caps Lock, Num Lock and keys it has no keysym for to the browser', () => {
    const keys = new KeyTranslator();
    for (const [key, code] of [
      ['CapsLock', 'CapsLock'],
      ['NumLock', 'NumLock'],
      ['Process', 'KeyA'],
      ['AudioVolumeUp', 'AudioVolumeUp'],
    ] as const) {
      expect(keys.translate(down(key, code)), key).toEqual({ keys: [], handled: false });
    }
  });

  it('sends a key pressed with Cmd on macOS as press and release together (macOS sends no release)', () => {
    const keys = new KeyTranslator({ mac: true });
    expect(run(keys, [down('Meta', 'MetaLeft', { location: 1, metaKey: true }), down('c', 'KeyC', { metaKey: true }), up('c', 'KeyC', { metaKey: true })])).toEqual(['+Super_L', '+c', '-c']);
  });

  it('types what macOS’s Option makes as a character (Option is AltGr there)', () => {
    const keys = new KeyTranslator({ mac: true });
    expect(run(keys, [down('Alt', 'AltLeft', { location: 1, altKey: true }), down('™', 'Digit2', { altKey: true })])).toEqual(['+Alt_L', '-Alt_L', '+™']);
  });
});

describe('shiftFor', () => {
  it('says which characters Xvnc types with Shift down, up, or either', () => {
    expect(['A', '?', '@', '~', 'Ü', 'Ж'].map(shiftFor)).toEqual([true, true, true, true, true, true]);
    expect(['a', '/', '7', '\\', 'ü', 'ж', 'ß'].map(shiftFor)).toEqual([false, false, false, false, false, false, false]);
    expect([' ', '€', '日', '§'].map(shiftFor)).toEqual([null, null, null, null]);
  });
});

describe('namedKeysym and usCharacter', () => {
  it('tells left, right and keypad keys apart', () => {
    expect(namedKeysym('Shift', 2)).toBe(XK.Shift_R);
    expect(namedKeysym('Enter', 3)).toBe(XK.KP_Enter);
    expect(namedKeysym('Enter', 0)).toBe(XK.Return);
    expect(namedKeysym('F12', 0)).toBe(0xffc9);
    expect(namedKeysym('Dead', 0)).toBeNull();
  });

  it('knows what a US keyboard types on each key', () => {
    expect(usCharacter('KeyQ', false)).toBe('q');
    expect(usCharacter('Digit2', true)).toBe('@');
    expect(usCharacter('Digit0', false)).toBe('0');
    expect(usCharacter('IntlBackslash', false)).toBeNull();
  });
});
