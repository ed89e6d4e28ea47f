// main/ against the fake `electron` module: the secure defaults every window gets,
// the CSP, and the lock-down of every webContents.
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeBrowserWindow, FakeWebContents, fake } from '../test/fake-electron.js';

vi.mock('electron', async () => (await import('../test/fake-electron.js')).electronModule);

const { contentSecurityPolicy, createShellWindow, lockDownWebContents } = await import('./windows.js');

beforeEach(() => fake.reset());

describe('secure windows', () => {
  it('sandboxes and isolates every renderer, in both modes', () => {
    for (const mode of ['desktop', 'kiosk'] as const) {
      const window = createShellWindow(mode, null) as unknown as FakeBrowserWindow;
      expect(window.options.webPreferences, mode).toMatchObject({
        sandbox: true,
        contextIsolation: true,
        nodeIntegration: false,
        nodeIntegrationInWorker: false,
        webSecurity: true,
        allowRunningInsecureContent: false,
        webviewTag: false,
      });
      expect(window.options.webPreferences!.preload).toMatch(/preload\.cjs$/);
    }
  });

  it('a desktop window is an ordinary resizable window at its remembered place; a kiosk window covers the screen with no devtools', () => {
    const desktop = createShellWindow('desktop', { bounds: { x: 5, y: 6, width: 900, height: 600 }, maximized: false }) as unknown as FakeBrowserWindow;
    expect(desktop.options).toMatchObject({ x: 5, y: 6, width: 900, height: 600, minWidth: 640 });
    expect(desktop.options.kiosk).toBeUndefined();
    expect(desktop.options.webPreferences!.devTools).toBe(true);
    const kiosk = createShellWindow('kiosk', { bounds: { width: 900, height: 600 }, maximized: false }) as unknown as FakeBrowserWindow;
    expect(kiosk.options).toMatchObject({ kiosk: true, fullscreen: true, frame: false, closable: false, minimizable: false, alwaysOnTop: true });
    expect(kiosk.options.width).toBeUndefined();
    expect(kiosk.options.webPreferences!.devTools).toBe(false);
  });
});

describe('content security policy', () => {
  it('begins default-src none and lets the page reach exactly the configured brokers (their socket and their admin API)', () => {
    const csp = contentSecurityPolicy(['https://a.example.com', 'http://127.0.0.1:8080', 'https://a.example.com']);
    expect(csp.startsWith("default-src 'none';")).toBe(true);
    const connect = csp.split('; ').find((d) => d.startsWith('connect-src'));
    expect(connect).toBe('connect-src wss://a.example.com https://a.example.com ws://127.0.0.1:8080 http://127.0.0.1:8080');
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/unsafe-eval|\*/);
  });

  it('allows no connections at all without a broker (the policy-error screen)', () => {
    expect(contentSecurityPolicy([])).toContain("connect-src 'none'");
  });
});

describe('lock-down of every webContents', () => {
  it('blocks navigation, redirects, webviews and new windows', () => {
    lockDownWebContents();
    const contents = new FakeWebContents();
    fake.fireApp('web-contents-created', contents);
    for (const name of ['will-navigate', 'will-frame-navigate', 'will-redirect', 'will-attach-webview']) {
      expect(contents.fire(name, 'https://evil.example/').defaultPrevented, name).toBe(true);
    }
    expect(contents.windowOpenHandler!({ url: 'https://evil.example/', frameName: '' })).toEqual({ action: 'deny' });
  });

  it('opens only a GUI session’s window on another monitor: empty, named for it, from Holdfast’s own page, sandboxed', () => {
    lockDownWebContents();
    const contents = new FakeWebContents();
    fake.fireApp('web-contents-created', contents);
    const answer = contents.windowOpenHandler!({ url: 'about:blank', frameName: 'holdfast-screen-2' }) as { action: string; overrideBrowserWindowOptions: { webPreferences: Record<string, unknown> } };
    expect(answer.action).toBe('allow');
    expect(answer.overrideBrowserWindowOptions.webPreferences).toEqual(expect.objectContaining({ sandbox: true, contextIsolation: true, nodeIntegration: false }));
    expect(answer.overrideBrowserWindowOptions.webPreferences).not.toHaveProperty('preload');
    for (const details of [
      { url: 'https://evil.example/', frameName: 'holdfast-screen-2' },
      { url: 'about:blank', frameName: 'anything' },
      { url: 'about:blank', frameName: 'holdfast-screen-2x' },
    ]) {
      expect(contents.windowOpenHandler!(details), JSON.stringify(details)).toEqual({ action: 'deny' });
    }
    contents.url = 'https://evil.example/';
    expect(contents.windowOpenHandler!({ url: 'about:blank', frameName: 'holdfast-screen-2' })).toEqual({ action: 'deny' });
  });

  it('denies permissions, except the clipboard and window placement for Holdfast’s own page', () => {
    lockDownWebContents();
    const ask = (permission: string, requestingUrl: string, isMainFrame = true) => {
      const callback = vi.fn();
      fake.permissionRequest!({}, permission, callback, { requestingUrl, isMainFrame });
      return callback.mock.calls[0]![0] as boolean;
    };
    const own = 'holdfast-app://renderer/index.html';
    for (const permission of ['media', 'geolocation', 'notifications', 'openExternal', 'fullscreen', 'hid']) {
      expect(ask(permission, own), permission).toBe(false);
    }
    expect(ask('clipboard-read', own)).toBe(true);
    expect(ask('window-management', own)).toBe(true);
    expect(ask('window-management', 'https://evil.example/')).toBe(false);
    expect(ask('clipboard-read', 'https://evil.example/')).toBe(false);
    expect(ask('clipboard-read', own, false)).toBe(false);
    expect(fake.permissionCheck!({}, 'media', 'holdfast-app://renderer', { isMainFrame: true })).toBe(false);
    expect(fake.permissionCheck!({}, 'clipboard-sanitized-write', 'holdfast-app://renderer', { isMainFrame: true })).toBe(true);
    expect(fake.devicePermission!({})).toBe(false);
  });

  it('grants the microphone alone to Holdfast’s own page, only where the machine policy allows it', () => {
    const ask = (permission: string, mediaTypes: string[], requestingUrl = 'holdfast-app://renderer/index.html') => {
      const callback = vi.fn();
      fake.permissionRequest!({}, permission, callback, { requestingUrl, isMainFrame: true, mediaTypes });
      return callback.mock.calls[0]![0] as boolean;
    };
    lockDownWebContents(true);
    expect(ask('media', ['audio'])).toBe(true);
    expect(ask('media', ['video'])).toBe(false);
    expect(ask('media', ['audio', 'video'])).toBe(false);
    expect(ask('media', [])).toBe(false);
    expect(ask('media', ['audio'], 'https://evil.example/')).toBe(false);
    expect(fake.permissionCheck!({}, 'media', 'holdfast-app://renderer', { isMainFrame: true, mediaType: 'audio' })).toBe(true);
    expect(fake.permissionCheck!({}, 'media', 'holdfast-app://renderer', { isMainFrame: true, mediaType: 'video' })).toBe(false);
    lockDownWebContents(false);
    expect(ask('media', ['audio'])).toBe(false);
  });
});
