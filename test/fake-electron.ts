// A fake of the parts of the `electron` module main/ uses, for unit tests (vi.mock).
// It records what the code asked for — window options, menus, handlers, protocol
// registrations, saved secrets — and lets a test play the OS and the renderer:
// fire app and window events, invoke IPC as some frame, press keys.
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';

type Listener = (...args: unknown[]) => unknown;

export class FakeEvent {
  defaultPrevented = false;
  preventDefault(): void {
    this.defaultPrevented = true;
  }
}

export class FakeFrame {
  constructor(public url: string) {}
}

export class FakeWebContents extends EventEmitter {
  readonly sent: Array<{ channel: string; payload: unknown }> = [];
  mainFrame = new FakeFrame('');
  windowOpenHandler: ((details: { url: string; frameName: string }) => { action: string }) | null = null;
  /** The page it shows (Holdfast's own, unless a test says otherwise). */
  url = 'holdfast-app://renderer/index.html';
  getURL(): string {
    return this.url;
  }
  reloads = 0;
  /** What print() was asked, and how the (fake) print dialog answers: [success, failureReason]. */
  printed: unknown[] = [];
  static printAnswer: [boolean, string] = [true, ''];
  devToolsClosed = 0;
  crashed = 0;
  destroyed = false;
  send(channel: string, payload: unknown): void {
    this.sent.push({ channel, payload });
  }
  setWindowOpenHandler(handler: (details: { url: string; frameName: string }) => { action: string }): void {
    this.windowOpenHandler = handler;
  }
  reload(): void {
    this.reloads += 1;
  }
  print(options: unknown, callback: (success: boolean, failureReason: string) => void): void {
    this.printed.push(options);
    setImmediate(() => callback(...FakeWebContents.printAnswer));
  }
  closeDevTools(): void {
    this.devToolsClosed += 1;
  }
  forcefullyCrashRenderer(): void {
    this.crashed += 1;
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  /** Emits like Electron: the handlers get an event they may preventDefault. */
  fire(name: string, ...args: unknown[]): FakeEvent {
    const event = new FakeEvent();
    this.emit(name, event, ...args);
    return event;
  }
}

export class FakeBrowserWindow extends EventEmitter {
  static instances: FakeBrowserWindow[] = [];
  readonly webContents = new FakeWebContents();
  loadedUrl: string | null = null;
  shown = false;
  maximized = false;
  minimized = false;
  focused = 0;
  restored = 0;
  kiosk: boolean;
  menuRemoved = false;
  destroyed = false;
  bounds = { x: 10, y: 20, width: 1000, height: 700 };

  constructor(readonly options: Record<string, unknown> & { webPreferences?: Record<string, unknown> }) {
    super();
    this.kiosk = options.kiosk === true;
    FakeBrowserWindow.instances.push(this);
  }
  loadURL(url: string): Promise<void> {
    this.loadedUrl = url;
    this.webContents.mainFrame.url = url;
    return Promise.resolve();
  }
  /** Loads a file as Electron does; the test may read what it held while the window is open. */
  loadedFile: { path: string; bytes: Buffer } | null = null;
  loadFile(path: string): Promise<void> {
    this.loadedFile = { path, bytes: readFileSync(path) };
    return this.loadURL(`file://${path}`);
  }
  close(): void {
    this.destroyed = true;
    this.emit('closed');
  }
  show(): void {
    this.shown = true;
  }
  focus(): void {
    this.focused += 1;
  }
  restore(): void {
    this.restored += 1;
    this.minimized = false;
  }
  maximize(): void {
    this.maximized = true;
  }
  isMaximized(): boolean {
    return this.maximized;
  }
  isMinimized(): boolean {
    return this.minimized;
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  removeMenu(): void {
    this.menuRemoved = true;
  }
  setKiosk(flag: boolean): void {
    this.kiosk = flag;
  }
  getNormalBounds() {
    return this.bounds;
  }
  fire(name: string, ...args: unknown[]): FakeEvent {
    const event = new FakeEvent();
    this.emit(name, event, ...args);
    return event;
  }
}

/** A reversible stand-in for OS encryption, so tests can see the plain text is not on disk. */
const seal = (text: string): Buffer => Buffer.concat([Buffer.from('SEALED:'), Buffer.from(text, 'utf8').map((b) => b ^ 0x5a)]);

export const fake = {
  app: new EventEmitter(),
  packaged: false,
  version: '0.5.0',
  quitCalls: 0,
  exitCalls: [] as number[],
  relaunchCalls: 0,
  applicationMenu: undefined as unknown,
  handlers: new Map<string, Listener>(),
  permissionRequest: null as null | Listener,
  permissionCheck: null as null | Listener,
  devicePermission: null as null | Listener,
  certificateVerify: null as null | ((request: unknown, callback: (result: number) => void) => void),
  privilegedSchemes: [] as unknown[],
  protocolHandlers: new Map<string, (request: { url: string }) => Promise<Response> | Response>(),
  safeStorage: { available: true, backend: 'gnome_libsecret' as string, keyChanged: false },
  displays: [{ workArea: { x: 0, y: 0, width: 1920, height: 1080 } }],
  /** URLs handed to the system browser (shell.openExternal). */
  opened: [] as string[],

  reset(): void {
    this.app.removeAllListeners();
    this.packaged = false;
    this.quitCalls = 0;
    this.exitCalls = [];
    this.relaunchCalls = 0;
    this.applicationMenu = undefined;
    this.handlers.clear();
    this.permissionRequest = this.permissionCheck = this.devicePermission = this.certificateVerify = null;
    this.privilegedSchemes = [];
    this.protocolHandlers.clear();
    this.safeStorage = { available: true, backend: 'gnome_libsecret', keyChanged: false };
    this.displays = [{ workArea: { x: 0, y: 0, width: 1920, height: 1080 } }];
    this.opened = [];
    FakeBrowserWindow.instances = [];
    FakeWebContents.printAnswer = [true, ''];
  },

  /** Calls an IPC handler as the renderer would, from `frame` of `contents`. */
  invoke(channel: string, from: { contents: FakeWebContents; frame?: FakeFrame | null }, ...args: unknown[]): Promise<unknown> {
    const handler = this.handlers.get(channel);
    if (!handler) return Promise.reject(new Error(`no handler for ${channel}`));
    const frame = from.frame === undefined ? from.contents.mainFrame : from.frame;
    return Promise.resolve().then(() => handler({ sender: from.contents, senderFrame: frame }, ...args));
  },

  /** Fires an app event; returns the event so a test can see whether it was prevented. */
  fireApp(name: string, ...args: unknown[]): FakeEvent {
    const event = new FakeEvent();
    this.app.emit(name, event, ...args);
    return event;
  },
};

export const electronModule = {
  app: {
    on: (name: string, listener: Listener) => fake.app.on(name, listener),
    once: (name: string, listener: Listener) => fake.app.once(name, listener),
    get isPackaged() {
      return fake.packaged;
    },
    getVersion: () => fake.version,
    getPath: (name: string) => (name === 'temp' ? tmpdir() : `/nonexistent/${name}`),
    quit: () => void (fake.quitCalls += 1),
    exit: (code = 0) => void fake.exitCalls.push(code),
    relaunch: () => void (fake.relaunchCalls += 1),
  },
  BrowserWindow: FakeBrowserWindow,
  Menu: {
    setApplicationMenu: (menu: unknown) => void (fake.applicationMenu = menu),
    buildFromTemplate: (template: unknown[]) => ({ template }),
  },
  ipcMain: {
    handle: (channel: string, handler: Listener) => {
      if (fake.handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
      fake.handlers.set(channel, handler);
    },
  },
  session: {
    defaultSession: {
      setPermissionRequestHandler: (handler: Listener) => void (fake.permissionRequest = handler),
      setPermissionCheckHandler: (handler: Listener) => void (fake.permissionCheck = handler),
      setDevicePermissionHandler: (handler: Listener) => void (fake.devicePermission = handler),
      setCertificateVerifyProc: (proc: typeof fake.certificateVerify) => void (fake.certificateVerify = proc),
    },
  },
  protocol: {
    registerSchemesAsPrivileged: (schemes: unknown[]) => void fake.privilegedSchemes.push(...schemes),
    handle: (scheme: string, handler: (request: { url: string }) => Promise<Response>) => void fake.protocolHandlers.set(scheme, handler),
  },
  safeStorage: {
    isEncryptionAvailable: () => fake.safeStorage.available,
    getSelectedStorageBackend: () => fake.safeStorage.backend,
    encryptString: (text: string) => seal(text),
    decryptString: (sealed: Buffer) => {
      if (fake.safeStorage.keyChanged || !sealed.subarray(0, 7).equals(Buffer.from('SEALED:'))) throw new Error('Error while decrypting the ciphertext provided to safeStorage.decryptString.');
      return Buffer.from(sealed.subarray(7).map((b) => b ^ 0x5a)).toString('utf8');
    },
  },
  screen: {
    getAllDisplays: () => fake.displays,
  },
  shell: {
    openExternal: async (url: string) => void fake.opened.push(url),
  },
};

/** A fake electron-updater autoUpdater: records its configuration; tests emit its events. */
export class FakeUpdater extends EventEmitter {
  autoDownload = false;
  autoInstallOnAppQuit = true;
  disableDifferentialDownload = false;
  allowDowngrade = true;
  feed: unknown = null;
  checks = 0;
  installs: Array<{ isSilent: boolean; forceRunAfter: boolean }> = [];
  setFeedURL(options: unknown): void {
    this.feed = options;
  }
  checkForUpdates(): Promise<null> {
    this.checks += 1;
    return Promise.resolve(null);
  }
  quitAndInstall(isSilent = false, forceRunAfter = false): void {
    this.installs.push({ isSilent, forceRunAfter });
  }
}

export const updaterModule = { autoUpdater: new FakeUpdater() };
