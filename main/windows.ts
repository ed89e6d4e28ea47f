// Secure window defaults, set in one place. Every BrowserWindow Holdfast opens is
// created here; nothing else in main/ constructs windows or sets webPreferences.
// The webPreferences are literal at the constructor so a scanner (and a reader) sees them.
import { app, BrowserWindow, session, type Rectangle, type WebContents } from 'electron';
import { join } from 'node:path';
import { APP_ORIGIN } from './app-protocol.js';
import { rendererCsp } from '../shared/renderer-policy.js';

export type WindowMode = 'desktop' | 'kiosk';

export interface WindowPlacement {
  bounds: Partial<Rectangle>;
  maximized: boolean;
}

/** Size and chrome per mode; a kiosk window covers the screen and cannot be left. */
export function windowShape(mode: WindowMode, placement: WindowPlacement | null) {
  const common = { title: 'Holdfast', backgroundColor: '#0b0f14', show: false };
  if (mode === 'kiosk') {
    return { ...common, kiosk: true, fullscreen: true, frame: false, autoHideMenuBar: true, alwaysOnTop: true, minimizable: false, movable: false, resizable: false, closable: false, skipTaskbar: false };
  }
  return { ...common, width: 1200, height: 800, minWidth: 640, minHeight: 420, ...placement?.bounds };
}

export function createShellWindow(mode: WindowMode, placement: WindowPlacement | null): BrowserWindow {
  return new BrowserWindow({
    ...windowShape(mode, placement),
    webPreferences: {
      preload: join(__dirname, 'preload.cjs'),
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      spellcheck: false,
      // Kiosk terminals have no developer tools at all, not merely no shortcut for them.
      devTools: mode !== 'kiosk',
    },
  });
}

/**
 * A window showing one printed document (print-pdf.ts): Chromium's PDF viewer needs
 * the plugin on; there is no preload (it reaches nothing of main's), and it shows
 * nothing but the file it is given (lockDownWebContents blocks navigation for it too).
 * Its webPreferences repeat the shell window's, literal, for the same reason.
 */
export function createPdfWindow(title: string, parent: BrowserWindow | null): BrowserWindow {
  return new BrowserWindow({
    title,
    // A child of the Holdfast window: above it even where that one stays on top (a kiosk).
    ...(parent ? { parent } : {}),
    width: 900,
    height: 1000,
    backgroundColor: '#525659',
    autoHideMenuBar: true,
    webPreferences: {
      plugins: true,
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      spellcheck: false,
    },
  });
}

/**
 * The renderer's CSP. It begins `default-src 'none'` and lets the page reach exactly
 * the configured brokers, nothing else: their WebSocket (sessions) and their HTTP
 * origin (the admin page's API, for administrators), no other host.
 */
export function contentSecurityPolicy(brokers: readonly string[]): string {
  const sockets = [
    ...new Set(
      brokers.flatMap((url) => {
        const base = url.replace(/\/$/, '');
        return [base.replace(/^http/i, 'ws'), base.replace(/^ws/i, 'http')];
      }),
    ),
  ];
  return rendererCsp(sockets);
}

/**
 * The only permissions ever granted, and only to Holdfast's own page: the clipboard (copy
 * and paste with GUI apps), window management (a GUI session's windows on the other
 * monitors, placed by the OS's screen layout), and — where the machine policy allows it — the microphone
 * alone (no camera, no screen): the person asked for it with the tab's Microphone button,
 * and the node had said yes before the page asks (docs/protocol.md#microphone).
 */
const GRANTED = new Set(['clipboard-read', 'clipboard-sanitized-write', 'window-management']);

/**
 * The only windows a page may open: a GUI session's window on another monitor
 * (renderer/src/components/monitor-window.ts), an empty same-origin page the app's own
 * page draws into, named `holdfast-screen-N`, placed where the page asks (its monitor).
 * It runs nothing of its own: sandboxed, isolated, no preload, no Node.
 */
export function windowOpenAnswer(details: { url: string; frameName: string }, openerUrl: string): { action: 'deny' } | { action: 'allow'; overrideBrowserWindowOptions: Record<string, unknown> } {
  if (originOf(openerUrl) !== APP_ORIGIN || details.url !== 'about:blank' || !/^holdfast-screen-\d{1,2}$/.test(details.frameName)) return { action: 'deny' };
  return {
    action: 'allow',
    overrideBrowserWindowOptions: {
      autoHideMenuBar: true,
      backgroundColor: '#0b0f14',
      webPreferences: { sandbox: true, contextIsolation: true, nodeIntegration: false, webSecurity: true },
    },
  };
}

export function permissionAllowed(permission: string, origin: string, media: { microphone: boolean; types: readonly string[] } = { microphone: false, types: [] }): boolean {
  if (origin !== APP_ORIGIN) return false;
  if (permission === 'media') return media.microphone && media.types.length > 0 && media.types.every((type) => type === 'audio');
  return GRANTED.has(permission);
}

/** scheme://host of a URL or origin (Node's URL gives "null" for custom schemes). */
const originOf = (url: string): string => /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(url)?.[0].toLowerCase() ?? '';

/** Blocks navigation, new windows and webviews for every webContents, and denies permissions (`microphone`: the machine policy's sound.microphone). */
export function lockDownWebContents(microphone = false): void {
  const defaults = session.defaultSession;
  defaults.setPermissionRequestHandler((_contents, permission, callback, details) =>
    callback(details.isMainFrame && permissionAllowed(permission, originOf(details.requestingUrl), { microphone, types: 'mediaTypes' in details ? (details.mediaTypes ?? []) : [] })),
  );
  defaults.setPermissionCheckHandler((_contents, permission, requestingOrigin, details) =>
    details.isMainFrame && permissionAllowed(permission, originOf(requestingOrigin), { microphone, types: details.mediaType ? [details.mediaType] : [] }),
  );
  defaults.setDevicePermissionHandler(() => false);
  app.on('web-contents-created', (_event, contents: WebContents) => {
    contents.on('will-navigate', (event) => event.preventDefault());
    contents.on('will-frame-navigate', (event) => event.preventDefault());
    contents.on('will-redirect', (event) => event.preventDefault());
    contents.on('will-attach-webview', (event) => event.preventDefault());
    contents.setWindowOpenHandler((details) => windowOpenAnswer(details, contents.getURL()));
  });
}
