// main/ against a faithful fake of the parts of `electron` it uses: the secure
// defaults are what every window gets, and every webContents is locked down.
import { describe, expect, it, vi } from 'vitest';

const handlers: Record<string, (...args: unknown[]) => void> = {};
const session = {
  permissionRequest: null as null | ((...args: unknown[]) => void),
  permissionCheck: null as null | ((...args: unknown[]) => boolean),
};
vi.mock('electron', () => ({
  app: { on: (event: string, handler: (...args: unknown[]) => void) => (handlers[event] = handler) },
  session: {
    defaultSession: {
      setPermissionRequestHandler: (handler: (...args: unknown[]) => void) => (session.permissionRequest = handler),
      setPermissionCheckHandler: (handler: (...args: unknown[]) => boolean) => (session.permissionCheck = handler),
    },
  },
}));

const { lockDownWebContents, secureWindowOptions } = await import('./windows.js');

describe('secure window defaults', () => {
  it('sandboxes and isolates every renderer', () => {
    const prefs = secureWindowOptions().webPreferences!;
    expect(prefs).toMatchObject({ sandbox: true, contextIsolation: true, nodeIntegration: false, webSecurity: true, webviewTag: false });
    expect(prefs.preload).toMatch(/preload\.cjs$/);
  });

  it('denies permissions and blocks navigation, redirects, webviews and new windows', () => {
    lockDownWebContents();
    const granted = vi.fn();
    session.permissionRequest!({}, 'media', granted);
    expect(granted).toHaveBeenCalledWith(false);
    expect(session.permissionCheck!()).toBe(false);

    const events: Record<string, (event: { preventDefault: () => void }) => void> = {};
    let openHandler: (() => { action: string }) | null = null;
    const contents = {
      on: (name: string, handler: (event: { preventDefault: () => void }) => void) => (events[name] = handler),
      setWindowOpenHandler: (handler: () => { action: string }) => (openHandler = handler),
    };
    handlers['web-contents-created']!({}, contents);
    for (const name of ['will-navigate', 'will-redirect', 'will-attach-webview']) {
      const preventDefault = vi.fn();
      events[name]!({ preventDefault });
      expect(preventDefault, name).toHaveBeenCalled();
    }
    expect(openHandler!()).toEqual({ action: 'deny' });
  });
});
