// Kiosk terminal behaviour for one window: it cannot be closed, reloaded, left or
// inspected, and a crashed page comes back by itself. The one way out is the
// administrator escape: Ctrl+Alt+Shift+E asks the page for the escape secret, which
// main checks against the policy's scrypt hash (see verifyEscapeSecret).
import type { BrowserWindow, Input } from 'electron';
import { scrypt, timingSafeEqual } from 'node:crypto';

type Key = Pick<Input, 'type' | 'key' | 'code' | 'control' | 'alt' | 'shift' | 'meta'>;

/** The administrator escape chord. */
export function isEscapeChord(input: Key): boolean {
  return input.type === 'keyDown' && input.control && input.alt && input.shift && !input.meta && input.code === 'KeyE';
}

/**
 * Shortcuts that would quit, close, reload, hide or inspect the shell. Plain Ctrl+Q/W/R
 * are not here: a kiosk has no menu, so they do nothing to the shell, and terminal apps
 * need them (reverse search, delete word, XON).
 */
export function isShellShortcut(input: Key, platform: NodeJS.Platform): boolean {
  if (input.type !== 'keyDown') return false;
  const key = input.key.length === 1 ? input.key.toLowerCase() : input.key;
  if (['F5', 'F11', 'F12', 'BrowserRefresh', 'BrowserBack', 'BrowserForward'].includes(key)) return true;
  if (input.alt && key === 'F4') return true;
  if (input.alt && !input.control && !input.meta && (key === 'ArrowLeft' || key === 'ArrowRight')) return true;
  if (input.control && input.shift && ['i', 'j', 'c', 'r', 'q', 'w'].includes(key)) return true;
  if (platform === 'darwin' && input.meta && ['q', 'w', 'r', 'h', 'm', 'n', 't', ',', 'i'].includes(key)) return true;
  return false;
}

export interface KioskGuard {
  /** Lets the window close and the app quit (the escape, or an update installing). */
  release(): void;
}

/** Applies kiosk rules to the window; `onEscapeChord` is called when the chord is pressed. */
export function guardKioskWindow(window: BrowserWindow, onEscapeChord: () => void, platform: NodeJS.Platform = process.platform): KioskGuard {
  let released = false;
  const contents = window.webContents;
  window.removeMenu();
  contents.on('before-input-event', (event, input) => {
    if (isEscapeChord(input)) {
      event.preventDefault();
      onEscapeChord();
    } else if (isShellShortcut(input, platform)) {
      event.preventDefault();
    }
  });
  window.on('close', (event) => {
    if (!released) event.preventDefault();
  });
  // Back to full screen whatever took it away (a window manager, a stray shortcut).
  const restore = () => {
    if (released || window.isDestroyed()) return;
    window.setKiosk(true);
    window.focus();
  };
  window.on('leave-full-screen', restore);
  window.on('minimize', () => {
    if (!released) window.restore();
  });
  contents.on('devtools-opened', () => contents.closeDevTools());
  contents.on('render-process-gone', () => {
    if (!released) contents.reload();
  });
  contents.on('unresponsive', () => {
    if (!released) contents.forcefullyCrashRenderer();
  });
  return {
    release: () => {
      released = true;
    },
  };
}

/**
 * Checks the escape secret against a `holdfast user hash` string (scrypt$N$r$p$salt$hash),
 * the format the broker uses for passwords; the code is repeated here because main/
 * may not import the broker. A wrong secret costs the same work as a right one.
 */
export function verifyEscapeSecret(secret: string, encoded: string): Promise<boolean> {
  const parts = encoded.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return Promise.resolve(false);
  const [N, r, p] = parts.slice(1, 4).map(Number);
  if (!N || !r || !p) return Promise.resolve(false);
  const salt = Buffer.from(parts[4]!, 'base64');
  const expected = Buffer.from(parts[5]!, 'base64');
  return new Promise((resolve) =>
    scrypt(secret.normalize('NFC'), salt, expected.length, { N, r, p, maxmem: 256 * 1024 * 1024 }, (error, key) =>
      resolve(!error && key.length === expected.length && timingSafeEqual(key, expected)),
    ),
  );
}

/** Wrong escape secrets slow down: 1 s, 2 s, 4 s … up to 5 min between tries. */
export class EscapeLimiter {
  private failures = 0;
  private blockedUntil = 0;

  constructor(private readonly now: () => number = () => Date.now()) {}

  retryAfterMs(): number {
    return Math.max(0, this.blockedUntil - this.now());
  }

  recordFailure(): void {
    this.failures += 1;
    this.blockedUntil = this.now() + Math.min(300_000, 1000 * 2 ** (this.failures - 1));
  }

  recordSuccess(): void {
    this.failures = 0;
    this.blockedUntil = 0;
  }
}
