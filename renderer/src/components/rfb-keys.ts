// Which X keysyms a key press in a GUI pane sends: what the person typed, under their
// own keyboard layout, not where the key sits on a US keyboard (issue 26, point 3).
//
// noVNC sent keys as "QEMU extended key events" whenever the display offered them, and
// Xvnc offers them: a physical key position that Xvnc turns into a character with its
// own keymap, which is US English. A German ü (the key right of P) arrived as "[", and
// AltGr+Q (@ in Germany) as Alt+q. So the pane translates keys itself and sends keysyms
// alone: the character the browser says the key typed (KeyboardEvent.key), which Xvnc
// places on a key of its keymap (or adds to a spare one) and presses with whatever Shift
// or AltGr that key needs there.
//
// Three things need care beyond "send event.key":
//   - AltGr. Windows (and so Chrome there) reports AltGr as Ctrl+Alt; an @ typed with it
//     must not reach the app as Ctrl+Alt+@ (xedit would take it as a command). A
//     character typed with AltGr goes with the Ctrl and Alt the pane had pressed lifted.
//   - Shortcuts under a non-Latin layout: Ctrl with the key marked C on a Russian
//     keyboard types "с" (Cyrillic), and an app's Ctrl+C never fires. As X does with its
//     Latin group, a shortcut with a letter of another script sends the key's US letter.
//   - Dead keys and input methods: a dead key types nothing by itself; the browser
//     composes the accented letter, which comes as the next key's character or as
//     composed text (rfb-text-input.ts). The pane lets the browser see the dead key.
//
// Caps Lock and Num Lock are not sent: the browser has applied them to event.key
// already, and a lock toggled in Xvnc too would apply them twice.
//
// And Shift is set for each character by the pane, not left to Xvnc. Xvnc types "/" on
// its US keymap's unshifted key, releasing a held Shift for it — if it knows Shift is
// held. Right after a click it may not: the window manager (matchbox) grabs the click
// with the keyboard frozen until it has focused the window, and keys that come before
// that are decided on a stale state. A German Shift+7 came out as "?". So before a
// character whose key on Xvnc's US keymap needs Shift up (or down), the pane releases
// (or presses) Shift itself, and restores it after: Xvnc then has nothing to fake.
import { keysymFor } from '../../../shared/protocol/index.js';

/** What the translator reads from a KeyboardEvent. */
export interface KeyInput {
  type: 'keydown' | 'keyup';
  key: string;
  code: string;
  /** KeyboardEvent.location: 1 left, 2 right, 3 the numeric keypad. */
  location: number;
  ctrlKey: boolean;
  altKey: boolean;
  shiftKey: boolean;
  metaKey: boolean;
  /** getModifierState('AltGraph'): Chrome on Linux and Windows sets it while AltGr is held. */
  altGraph: boolean;
}

export interface KeyOutput {
  keysym: number;
  down: boolean;
}

export interface Translated {
  keys: KeyOutput[];
  /** The pane took the key: the browser's own handling (typing into the textarea, its shortcuts) is cancelled. */
  handled: boolean;
}

export const XK = {
  BackSpace: 0xff08,
  Tab: 0xff09,
  Clear: 0xff0b,
  Return: 0xff0d,
  Pause: 0xff13,
  Scroll_Lock: 0xff14,
  Escape: 0xff1b,
  Multi_key: 0xff20,
  Home: 0xff50,
  Left: 0xff51,
  Up: 0xff52,
  Right: 0xff53,
  Down: 0xff54,
  Prior: 0xff55,
  Next: 0xff56,
  End: 0xff57,
  Select: 0xff60,
  Print: 0xff61,
  Execute: 0xff62,
  Insert: 0xff63,
  Undo: 0xff65,
  Redo: 0xff66,
  Menu: 0xff67,
  Find: 0xff68,
  Cancel: 0xff69,
  Help: 0xff6a,
  KP_Enter: 0xff8d,
  KP_Home: 0xff95,
  KP_Left: 0xff96,
  KP_Up: 0xff97,
  KP_Right: 0xff98,
  KP_Down: 0xff99,
  KP_Prior: 0xff9a,
  KP_Next: 0xff9b,
  KP_End: 0xff9c,
  KP_Begin: 0xff9d,
  KP_Insert: 0xff9e,
  KP_Delete: 0xff9f,
  F1: 0xffbe,
  Shift_L: 0xffe1,
  Shift_R: 0xffe2,
  Control_L: 0xffe3,
  Control_R: 0xffe4,
  Meta_L: 0xffe7,
  Meta_R: 0xffe8,
  Alt_L: 0xffe9,
  Alt_R: 0xffea,
  Super_L: 0xffeb,
  Super_R: 0xffec,
  Hyper_L: 0xffed,
  ISO_Level3_Shift: 0xfe03,
  Delete: 0xffff,
} as const;

/** Keys by their KeyboardEvent.key name: one keysym, or [left or only, right, numeric keypad] by location. */
const NAMED: Record<string, number | readonly [number, number, number]> = {
  Backspace: XK.BackSpace,
  Tab: XK.Tab,
  Enter: [XK.Return, XK.Return, XK.KP_Enter],
  Escape: XK.Escape,
  Pause: XK.Pause,
  ScrollLock: XK.Scroll_Lock,
  PrintScreen: XK.Print,
  ContextMenu: XK.Menu,
  Help: XK.Help,
  Select: XK.Select,
  Execute: XK.Execute,
  Find: XK.Find,
  Cancel: XK.Cancel,
  Undo: XK.Undo,
  Redo: XK.Redo,
  Compose: XK.Multi_key,
  Clear: [XK.Clear, XK.Clear, XK.KP_Begin],
  Home: [XK.Home, XK.Home, XK.KP_Home],
  End: [XK.End, XK.End, XK.KP_End],
  PageUp: [XK.Prior, XK.Prior, XK.KP_Prior],
  PageDown: [XK.Next, XK.Next, XK.KP_Next],
  ArrowLeft: [XK.Left, XK.Left, XK.KP_Left],
  ArrowUp: [XK.Up, XK.Up, XK.KP_Up],
  ArrowRight: [XK.Right, XK.Right, XK.KP_Right],
  ArrowDown: [XK.Down, XK.Down, XK.KP_Down],
  Insert: [XK.Insert, XK.Insert, XK.KP_Insert],
  Delete: [XK.Delete, XK.Delete, XK.KP_Delete],
  Shift: [XK.Shift_L, XK.Shift_R, XK.Shift_L],
  Control: [XK.Control_L, XK.Control_R, XK.Control_L],
  Alt: [XK.Alt_L, XK.Alt_R, XK.Alt_L],
  AltGraph: XK.ISO_Level3_Shift,
  Meta: [XK.Super_L, XK.Super_R, XK.Super_L],
  OS: [XK.Super_L, XK.Super_R, XK.Super_L],
  Super: XK.Super_L,
  Hyper: XK.Hyper_L,
  // Keys of Japanese and Korean keyboards, for an input method in the app (a local one takes them first).
  Convert: 0xff23,
  NonConvert: 0xff22,
  KanjiMode: 0xff21,
  Romaji: 0xff24,
  Hiragana: 0xff25,
  Katakana: 0xff26,
  HiraganaKatakana: 0xff27,
  Zenkaku: 0xff28,
  Hankaku: 0xff29,
  ZenkakuHankaku: 0xff2a,
  KanaMode: 0xff2e,
  Alphanumeric: 0xff30,
  HangulMode: 0xff31,
  HanjaMode: 0xff34,
};
for (let n = 1; n <= 35; n++) NAMED[`F${n}`] = XK.F1 + n - 1;

/** What each key of a US keyboard types, without and with Shift: the letters shortcuts are named by. */
const US_KEYS: Record<string, readonly [string, string]> = {
  Backquote: ['`', '~'],
  Minus: ['-', '_'],
  Equal: ['=', '+'],
  BracketLeft: ['[', '{'],
  BracketRight: [']', '}'],
  Backslash: ['\\', '|'],
  Semicolon: [';', ':'],
  Quote: ["'", '"'],
  Comma: [',', '<'],
  Period: ['.', '>'],
  Slash: ['/', '?'],
  Space: [' ', ' '],
};
for (const letter of 'abcdefghijklmnopqrstuvwxyz') US_KEYS[`Key${letter.toUpperCase()}`] = [letter, letter.toUpperCase()];
'!@#$%^&*()'.split('').forEach((shifted, i) => (US_KEYS[`Digit${(i + 1) % 10}`] = [String((i + 1) % 10), shifted]));

const US_SHIFTED = '~!@#$%^&*()_+{}|:"<>?ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const US_UNSHIFTED = "`1234567890-=[]\\;',./abcdefghijklmnopqrstuvwxyz";

/**
 * Whether Xvnc types `char` with Shift down (true) or up (false) on its keymap, or
 * either (null: a key of one level — space, and characters with no case, which Xvnc
 * adds on a spare key of one level). Characters it adds with a case (ü, Ü) go on a key
 * of two levels, lower and upper case, as on a keyboard.
 */
export function shiftFor(char: string): boolean | null {
  if (US_SHIFTED.includes(char)) return true;
  if (US_UNSHIFTED.includes(char)) return false;
  if (char.toLowerCase() === char.toUpperCase()) return null;
  return char !== char.toLowerCase();
}

/** The US letter of a key, for a shortcut: what that key types on a US keyboard, with Shift as held. */
export function usCharacter(code: string, shift: boolean): string | null {
  const key = US_KEYS[code];
  return key ? key[shift ? 1 : 0] : null;
}

/** A letter of a script other than Latin (Cyrillic, Greek, Hebrew, Arabic…), for which a shortcut uses the US letter. */
function nonLatinLetter(char: string): boolean {
  return /\p{L}/u.test(char) && !/\p{Script=Latin}/u.test(char);
}

/** The keysym of a named (non-character) key, or null for one with no keysym here (Dead, Process, CapsLock…). */
export function namedKeysym(key: string, location: number): number | null {
  const entry = NAMED[key];
  if (entry === undefined) return null;
  if (typeof entry === 'number') return entry;
  return location === 2 ? entry[1] : location === 3 ? entry[2] : entry[0];
}

const CTRL_ALT_META = new Set<number>([XK.Control_L, XK.Control_R, XK.Alt_L, XK.Alt_R, XK.Meta_L, XK.Meta_R]);
const CONTROLS = new Set<number>([XK.Control_L, XK.Control_R]);
const ALTS = new Set<number>([XK.Alt_L, XK.Alt_R, XK.Meta_L, XK.Meta_R]);

/** One key of a pane's keyboard (one per GUI pane): keeps which keys it has pressed in the app, so each is released as it was pressed. */
export class KeyTranslator {
  /** Keys held, by KeyboardEvent.code, with the keysym each was pressed as. */
  private readonly held = new Map<string, number>();
  /** Ctrl and Alt keys still held here but released in the app, for a character typed with AltGr. */
  private readonly lifted = new Map<string, number>();

  constructor(private readonly platform: { mac: boolean } = { mac: false }) {}

  translate(event: KeyInput): Translated {
    return event.type === 'keydown' ? this.down(event) : this.up(event);
  }

  /** Everything the pane has pressed, released (the pane lost the keyboard). */
  releaseAll(): KeyOutput[] {
    const keys = [...this.held.values()].map((keysym) => ({ keysym, down: false }));
    this.held.clear();
    this.lifted.clear();
    return keys;
  }

  private down(event: KeyInput): Translated {
    const { key, code } = event;
    const chars = [...key];
    const character = chars.length === 1 && key !== 'Dead' ? key : null;
    // A key with no code (a virtual keyboard's) cannot be followed to its release: typed at once.
    if (!code || code === 'Unidentified') {
      const keysym = character !== null ? keysymFor(character) : namedKeysym(key, event.location);
      return keysym === null ? { keys: [], handled: false } : { keys: [{ keysym, down: true }, { keysym, down: false }], handled: true };
    }
    // A key already down repeats (autorepeat): pressed again as it was.
    const already = this.held.get(code);
    if (already !== undefined) return { keys: [{ keysym: already, down: true }], handled: true };

    if (character === null) {
      // Several characters at once (some layouts' keys, an emoji): typed as text.
      if (chars.length > 1 && !/^[A-Z][A-Za-z0-9]*$/.test(key)) return { keys: typeText(key), handled: true };
      const keysym = namedKeysym(key, event.location);
      if (keysym === null) return { keys: [], handled: false }; // Dead, Process, CapsLock, NumLock, media keys: the browser's
      // macOS sends no release for a key pressed while Cmd is held.
      if (this.platform.mac && event.metaKey && key !== 'Meta') return { keys: [{ keysym, down: true }, { keysym, down: false }], handled: true };
      this.held.set(code, keysym);
      return { keys: [{ keysym, down: true }], handled: true };
    }

    const us = US_KEYS[code];
    const usChar = (c: string) => us !== undefined && (c === us[0] || c === us[1] || c.toLowerCase() === us[0]);
    // Typed with AltGr: Chrome says so (AltGraph), or AltGr is held here, or — Windows, and
    // macOS's Option — the Ctrl+Alt (Option) it reports typed a character the key does not
    // type on a US keyboard. Ctrl+Alt+T stays a shortcut; Ctrl+Alt+Q typing @ does not.
    const altGrHeld = [...this.held.values()].includes(XK.ISO_Level3_Shift);
    const composedWith = this.platform.mac ? event.altKey && !event.ctrlKey && !event.metaKey : event.ctrlKey && event.altKey;
    const altGr = event.altGraph || altGrHeld || (composedWith && !usChar(character));
    const keys: KeyOutput[] = [];
    let keysym: number | null;
    let typed = character;
    if (altGr) {
      // The character as typed, with the app's Ctrl and Alt released first (pressed again if a shortcut needs them).
      for (const [heldCode, heldKeysym] of this.held) {
        if (!CTRL_ALT_META.has(heldKeysym)) continue;
        keys.push({ keysym: heldKeysym, down: false });
        this.held.delete(heldCode);
        this.lifted.set(heldCode, heldKeysym);
      }
      keysym = keysymFor(character);
    } else {
      const shortcut = event.ctrlKey || event.altKey || event.metaKey;
      // Ctrl and Alt lifted for an AltGr character and held since: pressed again for this shortcut.
      for (const [liftedCode, liftedKeysym] of this.lifted) {
        if ((CONTROLS.has(liftedKeysym) && event.ctrlKey) || (ALTS.has(liftedKeysym) && event.altKey)) {
          keys.push({ keysym: liftedKeysym, down: true });
          this.lifted.delete(liftedCode);
          this.held.set(liftedCode, liftedKeysym);
        }
      }
      const latin = shortcut && nonLatinLetter(character) ? usCharacter(code, event.shiftKey) : null;
      typed = latin ?? character;
      keysym = keysymFor(typed);
    }
    if (keysym === null) return { keys, handled: true };
    const [before, after] = this.shiftAround(typed);
    keys.push(...before, { keysym, down: true });
    if (this.platform.mac && event.metaKey) keys.push({ keysym, down: false });
    else this.held.set(code, keysym);
    keys.push(...after);
    return { keys, handled: true };
  }

  /** The Shift presses and releases that go before and after `char`'s key, so Xvnc needs no Shift of its own (shiftFor). */
  private shiftAround(char: string): [KeyOutput[], KeyOutput[]] {
    const wanted = shiftFor(char);
    const shifts = [...this.held.values()].filter((keysym) => keysym === XK.Shift_L || keysym === XK.Shift_R);
    if (wanted === false && shifts.length > 0) {
      return [shifts.map((keysym) => ({ keysym, down: false })), shifts.map((keysym) => ({ keysym, down: true }))];
    }
    if (wanted === true && shifts.length === 0) return [[{ keysym: XK.Shift_L, down: true }], [{ keysym: XK.Shift_L, down: false }]];
    return [[], []];
  }

  private up(event: KeyInput): Translated {
    const { code } = event;
    if (this.lifted.delete(code)) return { keys: [], handled: true }; // released in the app already
    const keysym = this.held.get(code);
    if (keysym === undefined) return { keys: [], handled: false };
    this.held.delete(code);
    return { keys: [{ keysym, down: false }], handled: true };
  }
}

function typeText(text: string): KeyOutput[] {
  const keys: KeyOutput[] = [];
  for (const char of text) {
    const keysym = keysymFor(char);
    if (keysym !== null) keys.push({ keysym, down: true }, { keysym, down: false });
  }
  return keys;
}
