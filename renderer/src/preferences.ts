// This device's keyboard, clipboard, display and typing preferences (issue 22, points 7
// and 11; issue 26, point 4; issue 27): which keys leave an app for the tabs, whether
// text selected in a terminal is copied at once, whether graphical apps are drawn with
// the screen's own pixels (sharp) or with CSS pixels (less to send), and whether what
// is typed in a terminal is shown before the app echoes it (predictive local echo). Kept in the page's localStorage — per device, not per person: keyboards and
// habits belong to the machine — and the desktop app runs this same renderer, so its
// window keeps them too. What is stored is read through zod, field by field: a chord
// this version does not know (or a hand-edited value) falls back to the default without
// losing the other preference; a storage that refuses (private mode, a locked-down
// profile) only means the defaults, applied for this page's life.
import { z } from 'zod';

/** What a chord looks at in a keydown. */
export type ChordKey = Pick<KeyboardEvent, 'key' | 'ctrlKey' | 'altKey' | 'shiftKey' | 'metaKey'>;

export interface EscapeChord {
  id: EscapeChordId;
  /** The keys as the person presses them, in order, as shown in <kbd>s ("Ctrl", "Alt", "Shift"). */
  keys: readonly string[];
  /** When to pick it, in a few words. */
  note: string;
  /** Whether this keydown completes the chord. */
  matches(event: ChordKey): boolean;
}

const CHORD_IDS = ['ctrl-alt-shift', 'ctrl-alt-home', 'ctrl-shift-f12'] as const;
export type EscapeChordId = (typeof CHORD_IDS)[number];

/**
 * The choices: few, and each free in browsers and in the apps people run here. None is
 * a key the browser keeps for itself (Ctrl+W, Ctrl+T, Ctrl+Shift+I…: the page never sees
 * those) nor a system one (Ctrl+Alt+Delete; Ctrl+Alt+F1…F12 switch consoles on Linux).
 * - Ctrl+Alt+Shift alone: Guacamole's menu key. No app binds three bare modifiers; it
 *   fires as the third goes down, so an app's own Ctrl+Alt+Shift+letter cannot be typed —
 *   the reason to offer others.
 * - Ctrl+Alt+Home: what Microsoft's Remote Desktop client presses for the same job (its
 *   connection bar, full screen); no browser binds it, and terminal apps (shells, editors,
 *   Python) leave that Home unbound.
 * - Ctrl+Shift+F12: no browser binds it (F12 and Ctrl+Shift+I, not it, open developer
 *   tools), and terminal and X apps rarely bind function keys with Ctrl+Shift. (A kiosk
 *   window swallows F12, main/kiosk.ts — but a kiosk shows no tabs to go back to.)
 * Each is matched exactly: Ctrl+Alt+Shift+Home is not Ctrl+Alt+Home.
 */
export const ESCAPE_CHORDS: readonly EscapeChord[] = [
  {
    id: 'ctrl-alt-shift',
    keys: ['Ctrl', 'Alt', 'Shift'],
    note: 'the default, as in Guacamole',
    matches: (e) => e.ctrlKey && e.altKey && e.shiftKey && ['Control', 'Alt', 'Shift'].includes(e.key),
  },
  {
    id: 'ctrl-alt-home',
    keys: ['Ctrl', 'Alt', 'Home'],
    note: 'as in Microsoft Remote Desktop',
    matches: (e) => e.ctrlKey && e.altKey && !e.shiftKey && !e.metaKey && e.key === 'Home',
  },
  {
    id: 'ctrl-shift-f12',
    keys: ['Ctrl', 'Shift', 'F12'],
    note: 'for apps that use the other two',
    matches: (e) => e.ctrlKey && e.shiftKey && !e.altKey && !e.metaKey && e.key === 'F12',
  },
];

export const PREFERENCES_KEY = 'holdfast.preferences';

export const Preferences = z
  .object({
    /** The chord that moves the keyboard from an app to the tab bar. */
    escapeChord: z.enum(CHORD_IDS).catch('ctrl-alt-shift'),
    /** Text selected in a terminal goes to the clipboard at once (Windows Terminal's copyOnSelect); off unless chosen. */
    copyOnSelect: z.boolean().catch(false),
    /** Graphical apps: a display of the screen's device pixels ("Sharp", the default) or of CSS pixels ("Save bandwidth"): components/rfb-fit.ts. */
    displayPixels: z.enum(['device', 'css']).catch('device'),
    /** Terminals: show keystrokes before the app echoes them — on slow links (`auto`), `always` or `never`: components/local-echo.ts. */
    localEcho: z.enum(['auto', 'always', 'never']).catch('auto'),
  })
  .catch({ escapeChord: 'ctrl-alt-shift', copyOnSelect: false, displayPixels: 'device', localEcho: 'auto' });
export type Preferences = z.infer<typeof Preferences>;

export const DEFAULT_PREFERENCES: Preferences = Preferences.parse({});

export const escapeChord = (id: EscapeChordId): EscapeChord => ESCAPE_CHORDS.find((c) => c.id === id) ?? ESCAPE_CHORDS[0]!;

type PreferenceStorage = Pick<Storage, 'getItem' | 'setItem'>;

/** The preferences stored on this device; the defaults where nothing (usable) is. */
export function readPreferences(storage: PreferenceStorage): Preferences {
  try {
    const raw = storage.getItem(PREFERENCES_KEY);
    return raw === null ? DEFAULT_PREFERENCES : Preferences.parse(JSON.parse(raw));
  } catch {
    return DEFAULT_PREFERENCES;
  }
}

/** The preferences as the UI holds them: read once, changed and kept together, watched by the views that apply them. */
export class PreferenceStore {
  private current: Preferences;
  private readonly listeners = new Set<() => void>();

  constructor(private readonly storage: PreferenceStorage) {
    this.current = readPreferences(storage);
  }

  get preferences(): Preferences {
    return this.current;
  }

  /** Applies at once; kept for the next start where the storage allows. */
  update(change: Partial<Preferences>): void {
    this.current = Preferences.parse({ ...this.current, ...change });
    try {
      this.storage.setItem(PREFERENCES_KEY, JSON.stringify(this.current));
    } catch {
      /* not kept: this page still uses it */
    }
    this.notify();
  }

  /** Reads the storage again (another window of the client changed it). */
  reload(): void {
    const next = readPreferences(this.storage);
    if (JSON.stringify(next) === JSON.stringify(this.current)) return;
    this.current = next;
    this.notify();
  }

  subscribe(notify: () => void): () => void {
    this.listeners.add(notify);
    return () => this.listeners.delete(notify);
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }
}
