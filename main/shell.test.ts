// The whole shell against the fake `electron` module, one machine policy at a time:
// which window opens, what the renderer is told, what IPC accepts and refuses, how
// a kiosk holds on and how an administrator gets out, what "remember me" leaves on disk.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, unwatchFile, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { hashPassword } from '../broker/auth/password.js';
import { FakeBrowserWindow, FakeFrame, FakeWebContents, fake, updaterModule } from '../test/fake-electron.js';
import { makeDevCertificate } from '../broker/tls/certificate.js';

vi.mock('electron', async () => (await import('../test/fake-electron.js')).electronModule);
vi.mock('electron-updater', async () => (await import('../test/fake-electron.js')).updaterModule);

const { Shell } = await import('./shell.js');
type ShellType = InstanceType<typeof Shell>;

let dir: string;
let rendererRoot: string;
const shells: ShellType[] = [];

beforeEach(() => {
  fake.reset();
  dir = mkdtempSync(join(tmpdir(), 'holdfast-shell-'));
  rendererRoot = join(dir, 'renderer');
  writeFileSync(join(dir, 'placeholder'), '');
  // A stand-in renderer build: the protocol handler serves these.
  for (const [name, text] of [['index.html', '<!doctype html><title>Holdfast</title>'], ['app.js', 'console.log(1)']] as const) {
    const file = join(rendererRoot, name);
    mkdirSync(rendererRoot, { recursive: true });
    writeFileSync(file, text);
  }
  updaterModule.autoUpdater.removeAllListeners();
  updaterModule.autoUpdater.feed = null;
  updaterModule.autoUpdater.installs = [];
});

afterEach(() => {
  for (const shell of shells.splice(0)) unwatchFile(shell.policy.file);
  rmSync(dir, { recursive: true, force: true });
});

function start(policy: unknown | null, argv: string[] = []): { shell: ShellType; window: FakeBrowserWindow } {
  const policyFile = join(dir, 'policy.json');
  if (policy !== null) writeFileSync(policyFile, typeof policy === 'string' ? policy : JSON.stringify(policy));
  const shell = new Shell({ rendererRoot, policyFile, userData: join(dir, 'user'), fallbackBroker: 'http://127.0.0.1:8080', argv, platform: 'linux' });
  shells.push(shell);
  shell.start();
  return { shell, window: FakeBrowserWindow.instances.at(-1)! };
}

const from = (window: FakeBrowserWindow) => ({ contents: window.webContents });
const cspOf = async (url = 'holdfast-app://renderer/index.html') => {
  const response = await fake.protocolHandlers.get('holdfast-app')!({ url });
  return { status: response.status, csp: response.headers.get('content-security-policy') ?? '', body: await response.text() };
};
const key = (code: string, modifiers: Partial<Record<'control' | 'alt' | 'shift' | 'meta', boolean>> = {}) => ({
  type: 'keyDown',
  key: code.startsWith('Key') ? code.slice(3).toLowerCase() : code,
  code,
  control: false,
  alt: false,
  shift: false,
  meta: false,
  ...modifiers,
});

const escapeHash = () => hashPassword('let-me-out', { N: 1024, r: 8, p: 1 });
const kioskPolicy = async () => ({ brokers: ['https://holdfast.example.com', 'https://holdfast-2.example.com'], kiosk: { account: 'frontdesk', escapeHash: await escapeHash() }, autoLaunchApp: 'python' });

describe('an everyday desktop (no policy file)', () => {
  it('opens one ordinary window on Holdfast’s own page, with no menu to steal terminal keys', async () => {
    const { window } = start(null);
    expect(FakeBrowserWindow.instances).toHaveLength(1);
    expect(window.loadedUrl).toBe('holdfast-app://renderer/index.html');
    expect(window.options.kiosk).toBeUndefined();
    expect(fake.applicationMenu).toBeNull();
    const config = await fake.invoke('holdfast:config.get', from(window));
    expect(config).toMatchObject({ brokerUrl: 'http://127.0.0.1:8080', kiosk: null, policyError: null, rememberMe: { offered: true } });
    // No policy: sessions' sound plays, and the microphone may be offered.
    expect(config).toMatchObject({ sound: { playback: true, microphone: true } });
  });

  it('serves the renderer with a CSP naming only the broker in use, and nothing outside its directory', async () => {
    start(null);
    const index = await cspOf();
    expect(index.status).toBe(200);
    expect(index.body).toContain('<title>Holdfast</title>');
    expect(index.csp).toMatch(/^default-src 'none';/);
    expect(index.csp).toContain('connect-src ws://127.0.0.1:8080 http://127.0.0.1:8080;');
    expect((await cspOf('holdfast-app://renderer/../placeholder')).status).toBe(404);
    expect((await cspOf('holdfast-app://renderer/%2e%2e/placeholder')).status).toBe(404);
    expect((await cspOf('holdfast-app://elsewhere/index.html')).status).toBe(404);
  });

  it('remembers the window’s place between runs', () => {
    const first = start(null).window;
    first.bounds = { x: 100, y: 50, width: 1024, height: 640 };
    first.maximized = true;
    first.fire('close');
    fake.reset();
    const { window } = start(null);
    expect(window.options).toMatchObject({ x: 100, y: 50, width: 1024, height: 640 });
    window.emit('ready-to-show');
    expect(window.maximized).toBe(true);
    expect(window.shown).toBe(true);
  });
});

describe('IPC', () => {
  it('answers only the Holdfast window’s top frame on its own page', async () => {
    const { window } = start(null);
    await expect(fake.invoke('holdfast:config.get', { contents: new FakeWebContents() })).rejects.toThrow(/not from the Holdfast window/);
    await expect(fake.invoke('holdfast:config.get', { contents: window.webContents, frame: new FakeFrame('holdfast-app://renderer/index.html') })).rejects.toThrow(/not from the Holdfast window/);
    window.webContents.mainFrame.url = 'https://evil.example/';
    await expect(fake.invoke('holdfast:config.get', from(window))).rejects.toThrow(/not from the Holdfast window/);
  });

  it('parses every argument: wrong shapes and extra arguments are refused', async () => {
    const { window } = start(null);
    await expect(fake.invoke('holdfast:credential.save', from(window), { user: 'ann' })).rejects.toThrow(/refused/);
    await expect(fake.invoke('holdfast:config.get', from(window), 'extra')).rejects.toThrow(/refused/);
    await expect(fake.invoke('holdfast:settings.set', from(window), { brokerUrl: 'http://evil.example' })).rejects.toThrow(/loopback/);
  });

  it('every channel it handles carries the holdfast: prefix', () => {
    start(null);
    expect([...fake.handlers.keys()].every((channel) => channel.startsWith('holdfast:'))).toBe(true);
    expect(fake.handlers.size).toBeGreaterThanOrEqual(10);
  });
});

describe('remember me', () => {
  const credential = { brokerUrl: 'https://holdfast.example.com', user: 'ann', refreshToken: 'eyJhbGciOiJIUzI1NiJ9.secret-refresh.sig' };

  it('keeps the refresh credential only as safeStorage ciphertext, and gives it back for the same broker', async () => {
    const { window } = start({ brokers: ['https://holdfast.example.com'] });
    expect(await fake.invoke('holdfast:credential.save', from(window), credential)).toEqual({ saved: true, reason: null });
    const files = readdirSync(join(dir, 'user'));
    for (const file of files) expect(readFileSync(join(dir, 'user', file)).includes('secret-refresh'), file).toBe(false);
    expect(await fake.invoke('holdfast:credential.load', from(window))).toEqual(credential);
    expect(await fake.invoke('holdfast:credential.clear', from(window))).toBeNull();
    expect(await fake.invoke('holdfast:credential.load', from(window))).toBeNull();
  });

  it('is not offered, and nothing is written, where safeStorage would use a fixed key (Linux without a keyring)', async () => {
    fake.safeStorage.backend = 'basic_text';
    const { window } = start({ brokers: ['https://holdfast.example.com'] });
    const config = (await fake.invoke('holdfast:config.get', from(window))) as { rememberMe: { offered: boolean; reason: string } };
    expect(config.rememberMe.offered).toBe(false);
    expect(config.rememberMe.reason).toMatch(/keyring/);
    expect(await fake.invoke('holdfast:credential.save', from(window), credential)).toMatchObject({ saved: false });
    expect(existsSync(join(dir, 'user', 'credential.bin'))).toBe(false);
  });

  it('is not offered when the policy turns it off', async () => {
    const { window } = start({ brokers: ['https://holdfast.example.com'], rememberMe: false });
    expect(await fake.invoke('holdfast:config.get', from(window))).toMatchObject({ rememberMe: { offered: false, reason: 'turned off by your administrator' } });
    expect(await fake.invoke('holdfast:credential.save', from(window), credential)).toMatchObject({ saved: false });
  });

  it('forgets a credential the OS can no longer decrypt (a copied profile)', async () => {
    const { window } = start({ brokers: ['https://holdfast.example.com'] });
    await fake.invoke('holdfast:credential.save', from(window), credential);
    fake.safeStorage.keyChanged = true;
    expect(await fake.invoke('holdfast:credential.load', from(window))).toBeNull();
    expect(existsSync(join(dir, 'user', 'credential.bin'))).toBe(false);
  });
});

describe('policy: brokers and locked settings', () => {
  it('signs in to the policy’s first broker and lets the CSP reach every listed broker', async () => {
    const { window } = start({ brokers: ['https://holdfast.example.com', 'https://holdfast-2.example.com'] });
    expect(await fake.invoke('holdfast:config.get', from(window))).toMatchObject({ brokerUrl: 'https://holdfast.example.com' });
    expect((await cspOf()).csp).toContain('connect-src wss://holdfast.example.com https://holdfast.example.com wss://holdfast-2.example.com https://holdfast-2.example.com;');
  });

  it('refuses to change a locked setting, and applies an unlocked one (with a reload for a new broker)', async () => {
    const { window } = start({ brokers: ['https://holdfast.example.com'], locked: ['updateChannel'] });
    await expect(fake.invoke('holdfast:settings.set', from(window), { updateChannel: 'beta' })).rejects.toThrow(/updateChannel is set by your administrator/);
    const config = await fake.invoke('holdfast:settings.set', from(window), { brokerUrl: 'https://other.example.com' });
    expect(config).toMatchObject({ brokerUrl: 'https://other.example.com', settings: { locked: ['updateChannel'] } });
    expect((await cspOf()).csp).toContain('connect-src wss://other.example.com https://other.example.com wss://holdfast.example.com https://holdfast.example.com;');
    await new Promise((resolve) => setImmediate(resolve));
    expect(window.webContents.reloads).toBe(1);
  });

  it('a locked broker wins over the person’s saved choice', async () => {
    const user = join(dir, 'user');
    mkdirSync(user, { recursive: true });
    writeFileSync(join(user, 'settings.json'), JSON.stringify({ brokerUrl: 'https://mine.example.com' }));
    const { window } = start({ brokers: ['https://holdfast.example.com'], locked: ['brokerUrl'] });
    expect(await fake.invoke('holdfast:config.get', from(window))).toMatchObject({ brokerUrl: 'https://holdfast.example.com' });
    expect((await cspOf()).csp).not.toContain('mine.example.com');
  });
});

describe('policy: trusting a broker by the pin of its key', () => {
  const pinned = makeDevCertificate({ names: ['holdfast.lab'] });
  const stranger = makeDevCertificate({ names: ['holdfast.lab'] });
  const verify = (certificate: { certPem: string }, errorCode: number) =>
    new Promise<number>((resolve) => fake.certificateVerify!({ hostname: 'holdfast.lab', errorCode, verificationResult: errorCode ? 'net::ERR_CERT_AUTHORITY_INVALID' : 'net::OK', certificate: { data: certificate.certPem } }, resolve));

  it('accepts an untrusted certificate whose key the policy pins, and leaves every other verdict to Chromium', async () => {
    start({ brokers: ['https://holdfast.lab'], tls: { pins: [pinned.pin.slice('sha256/'.length)] } });
    expect(await verify(pinned, -202)).toBe(0);
    expect(await verify(stranger, -202)).toBe(-3);
    expect(await verify(stranger, 0)).toBe(-3);
  });

  it('without pins, accepts nothing Chromium refuses', async () => {
    start({ brokers: ['https://holdfast.lab'] });
    expect(await verify(pinned, -202)).toBe(-3);
  });

  it('refuses a malformed pin as a policy error, in words', async () => {
    const { window } = start({ brokers: ['https://holdfast.lab'], tls: { pins: ['sha256/nope'] } });
    const config = (await fake.invoke('holdfast:config.get', from(window))) as { policyError: { problems: string[] } };
    expect(config.policyError.problems).toEqual(['tls.pins.0: "sha256/nope" is not a pin: expected sha256/ followed by 44 characters of base64 (holdfast cert dev prints one)']);
  });
});

describe('an invalid policy', () => {
  it('shows what is wrong and runs nothing else: no brokers in the CSP, no secrets, no updates', async () => {
    const { window } = start({ brokers: ['ftp://nope'], kioskk: true });
    const config = (await fake.invoke('holdfast:config.get', from(window))) as { policyError: { file: string; problems: string[] } };
    expect(config.policyError.file).toBe(join(dir, 'policy.json'));
    expect(config.policyError.problems.join('\n')).toMatch(/brokers\.0: .*origin/);
    expect(config.policyError.problems.join('\n')).toMatch(/kioskk/);
    expect((await cspOf()).csp).toContain("connect-src 'none'");
    await expect(fake.invoke('holdfast:credential.save', from(window), { brokerUrl: 'x', user: 'ann', refreshToken: 't' })).rejects.toThrow(/policy is not valid/);
    expect(updaterModule.autoUpdater.feed).toBeNull();
  });

  it('says when the file is not JSON', async () => {
    const { window } = start('{ "brokers": [ ');
    const config = (await fake.invoke('holdfast:config.get', from(window))) as { policyError: { problems: string[] } };
    expect(config.policyError.problems[0]).toMatch(/not valid JSON/);
  });

  it('stays locked full screen when the broken policy is a kiosk’s', async () => {
    const { window } = start({ brokers: ['https://holdfast.example.com'], kiosk: { account: 'frontdesk', escapeHash: 'not a hash' } });
    expect(window.options.kiosk).toBe(true);
    expect(window.fire('close').defaultPrevented).toBe(true);
  });
});

describe('a kiosk policy', () => {
  it('opens a full-screen kiosk window with no menu, and tells the renderer its account and app', async () => {
    const { window } = start(await kioskPolicy());
    expect(window.options).toMatchObject({ kiosk: true, fullscreen: true, frame: false });
    expect(window.options.webPreferences!.devTools).toBe(false);
    expect(window.menuRemoved).toBe(true);
    expect(fake.applicationMenu).toBeNull();
    expect(await fake.invoke('holdfast:config.get', from(window))).toMatchObject({
      kiosk: { account: 'frontdesk' },
      autoLaunchApp: 'python',
      brokerUrl: 'https://holdfast.example.com',
      rememberMe: { offered: false },
    });
  });

  it('tells the renderer when its policy turns sound off', async () => {
    const { window } = start({ ...(await kioskPolicy()), sound: { playback: false, microphone: false } });
    expect(await fake.invoke('holdfast:config.get', from(window))).toMatchObject({ sound: { playback: false, microphone: false } });
  });

  it('cannot be closed, quit, reloaded or inspected; terminal keys still reach the app', async () => {
    const { window } = start(await kioskPolicy());
    expect(window.fire('close').defaultPrevented).toBe(true);
    expect(fake.fireApp('before-quit').defaultPrevented).toBe(true);
    for (const [code, modifiers] of [['F5', {}], ['F4', { alt: true }], ['KeyI', { control: true, shift: true }], ['KeyR', { control: true, shift: true }], ['F11', {}], ['F12', {}]] as const) {
      expect(window.webContents.fire('before-input-event', key(code, modifiers)).defaultPrevented, code).toBe(true);
    }
    for (const code of ['KeyR', 'KeyW', 'KeyQ', 'KeyC']) {
      expect(window.webContents.fire('before-input-event', key(code, { control: true })).defaultPrevented, `Ctrl+${code}`).toBe(false);
    }
    window.webContents.fire('devtools-opened');
    expect(window.webContents.devToolsClosed).toBe(1);
    window.webContents.fire('render-process-gone', { reason: 'crashed' });
    expect(window.webContents.reloads).toBe(1);
    window.fire('leave-full-screen');
    expect(window.kiosk).toBe(true);
  });

  it('comes back if every window is gone, instead of leaving the desktop', async () => {
    start(await kioskPolicy());
    fake.fireApp('window-all-closed');
    expect(FakeBrowserWindow.instances).toHaveLength(2);
    expect(fake.quitCalls).toBe(0);
  });

  it('keeps the kiosk secret with safeStorage and hands it back to sign in', async () => {
    const { window } = start(await kioskPolicy());
    expect(await fake.invoke('holdfast:kiosk.secret.load', from(window))).toBeNull();
    expect(await fake.invoke('holdfast:kiosk.secret.save', from(window), 'frontdesk-password')).toEqual({ saved: true, reason: null });
    expect(readFileSync(join(dir, 'user', 'kiosk-secret.bin')).includes('frontdesk-password')).toBe(false);
    expect(await fake.invoke('holdfast:kiosk.secret.load', from(window))).toBe('frontdesk-password');
  });

  it('lets an administrator out with the escape chord and the right secret, and nobody with a wrong one', async () => {
    const { window } = start(await kioskPolicy());
    expect(window.webContents.fire('before-input-event', key('KeyE', { control: true, alt: true, shift: true })).defaultPrevented).toBe(true);
    expect(window.webContents.sent.map((m) => m.channel)).toContain('holdfast:kiosk.escapeRequested');
    expect(await fake.invoke('holdfast:kiosk.escape', from(window), 'guess')).toEqual({ ok: false, message: 'That is not the escape secret.' });
    expect(await fake.invoke('holdfast:kiosk.escape', from(window), 'let-me-out')).toMatchObject({ ok: false, message: expect.stringMatching(/Try again in \d+ s/) });
    expect(fake.exitCalls).toEqual([]);
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 1500);
    try {
      expect(await fake.invoke('holdfast:kiosk.escape', from(window), 'let-me-out')).toEqual({ ok: true, message: 'Leaving kiosk mode.' });
    } finally {
      vi.useRealTimers();
    }
    await new Promise((resolve) => setImmediate(resolve));
    expect(fake.exitCalls).toEqual([0]);
    expect(window.fire('close').defaultPrevented).toBe(false);
  });

  it('installs downloaded updates in the maintenance window, without asking', async () => {
    vi.useFakeTimers({ now: new Date(2030, 0, 1, 12, 0) });
    try {
      const { window } = start({ ...(await kioskPolicy()), updates: { maintenanceWindow: { start: '02:00', end: '04:00' } } });
      const updater = updaterModule.autoUpdater;
      expect(updater.autoInstallOnAppQuit).toBe(false);
      updater.emit('update-downloaded', { version: '0.6.0' });
      expect(window.webContents.sent.filter((m) => m.channel === 'holdfast:update.status')).toEqual([]);
      vi.advanceTimersByTime(13 * 3_600_000 + 59 * 60_000);
      expect(updater.installs).toEqual([]);
      vi.advanceTimersByTime(60_000);
      expect(updater.installs).toEqual([{ isSilent: true, forceRunAfter: true }]);
      expect(fake.fireApp('before-quit').defaultPrevented).toBe(false);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('deep links', () => {
  it('a link on the command line is waiting for the renderer once, after sign-in', async () => {
    const { window } = start(null, ['/opt/Holdfast/holdfast', 'holdfast://launch/python']);
    expect(await fake.invoke('holdfast:launch.take', from(window))).toBe('python');
    expect(await fake.invoke('holdfast:launch.take', from(window))).toBeNull();
  });

  it('a second launch with a link focuses the window and passes the app on; bad links do nothing', async () => {
    const { shell, window } = start(null);
    window.minimized = true;
    shell.onSecondInstance(['/opt/Holdfast/holdfast', 'holdfast://launch/editor']);
    expect(window.restored).toBe(1);
    expect(window.focused).toBe(1);
    expect(window.webContents.sent).toContainEqual({ channel: 'holdfast:launch.requested', payload: { appId: 'editor' } });
    shell.onOpenUrl('holdfast://launch/../../etc');
    shell.onOpenUrl('https://launch/python');
    expect(window.webContents.sent.filter((m) => m.channel === 'holdfast:launch.requested')).toHaveLength(1);
  });
});

describe('Print… on what a session printed', () => {
  const pdf = new Uint8Array(Buffer.from('%PDF-1.4\n%%EOF\n'));

  it('opens the PDF in a window of its own, plugin on and no preload, with the print dialog; printed, it closes and the file goes', async () => {
    const { window } = start(null);
    expect(await fake.invoke('holdfast:print.pdf', from(window), pdf, 'Shell print 1.pdf')).toEqual({ printed: true, reason: null });
    const printWindow = FakeBrowserWindow.instances.find((w) => w !== window)!;
    expect(printWindow.options.title).toBe('Shell print 1.pdf');
    // Above the Holdfast window, even a kiosk's (always on top).
    expect(printWindow.options.parent).toBe(window);
    expect(printWindow.options.webPreferences).toMatchObject({ plugins: true, sandbox: true, contextIsolation: true, nodeIntegration: false });
    expect(printWindow.options.webPreferences!.preload).toBeUndefined();
    expect(Buffer.from(printWindow.loadedFile!.bytes).equals(Buffer.from(pdf))).toBe(true);
    expect(printWindow.webContents.printed).toEqual([{ silent: false, printBackground: true }]);
    expect(printWindow.destroyed).toBe(true);
    expect(existsSync(printWindow.loadedFile!.path)).toBe(false);
  });

  it('refuses what is not a PDF, anything over the limit, and any other frame', async () => {
    const { window } = start(null);
    expect(await fake.invoke('holdfast:print.pdf', from(window), new Uint8Array(Buffer.from('<html>')), 'a.pdf')).toEqual({ printed: false, reason: 'What came is not a PDF document; use Save PDF to look at it.' });
    await expect(fake.invoke('holdfast:print.pdf', from(window), new Uint8Array(64 * 1024 * 1024 + 1), 'a.pdf')).rejects.toThrow(/holdfast:print\.pdf: refused/);
    await expect(fake.invoke('holdfast:print.pdf', from(window), 'not bytes', 'a.pdf')).rejects.toThrow(/refused/);
    await expect(fake.invoke('holdfast:print.pdf', { contents: window.webContents, frame: new FakeFrame('https://evil.example.com/') }, pdf, 'a.pdf')).rejects.toThrow(/not from the Holdfast window/);
    expect(FakeBrowserWindow.instances.filter((w) => w !== window)).toHaveLength(0);
  });
});

describe('sign-in through the broker’s identity provider', () => {
  const handoff = 'h4nd0ff-h4nd0ff-h4nd0ff-h4nd0ff';
  const code = 'c0de'.repeat(11);

  it('opens the start page in the system browser, for the configured broker, with the renderer’s handoff value', async () => {
    const { window } = start({ brokers: ['https://holdfast.example.com/'] });
    expect(await fake.invoke('holdfast:oidc.start', from(window), handoff)).toBeNull();
    expect(fake.opened).toEqual([`https://holdfast.example.com/auth/oidc/start?client=desktop&handoff=${handoff}`]);
    // The renderer names no address, and a value that is not a handoff is refused.
    await expect(fake.invoke('holdfast:oidc.start', from(window), 'https://evil.example.com/')).rejects.toThrow(/holdfast:oidc\.start: refused/);
    await expect(fake.invoke('holdfast:oidc.start', from(window), handoff, 'extra')).rejects.toThrow(/refused/);
    expect(fake.opened).toHaveLength(1);
  });

  it('passes the code of a holdfast://oidc link to the renderer only after a sign-in started here, from the same broker', async () => {
    const { shell, window } = start({ brokers: ['https://holdfast.example.com'] });
    const link = `holdfast://oidc?code=${code}&broker=https%3A%2F%2Fholdfast.example.com`;
    const delivered = () => window.webContents.sent.filter((m) => m.channel === 'holdfast:oidc.code');
    shell.onOpenUrl(link);
    expect(delivered()).toEqual([]);
    await fake.invoke('holdfast:oidc.start', from(window), handoff);
    shell.onOpenUrl(`holdfast://oidc?code=${code}&broker=https%3A%2F%2Fother.example.com`);
    expect(delivered()).toEqual([]);
    shell.onSecondInstance(['/opt/Holdfast/holdfast', link]);
    expect(delivered()).toEqual([{ channel: 'holdfast:oidc.code', payload: { code } }]);
    expect(window.focused).toBeGreaterThan(0);
  });

  it('a kiosk has no such sign-in, and a sign-in link that starts the app is ignored', async () => {
    const { window } = start(await kioskPolicy());
    await expect(fake.invoke('holdfast:oidc.start', from(window), handoff)).rejects.toThrow(/a kiosk signs in with its own account/);
    expect(fake.opened).toEqual([]);
    fake.reset();
    const cold = start(null, ['/opt/Holdfast/holdfast', `holdfast://oidc?code=${code}&broker=http://127.0.0.1:8080`]);
    expect(await fake.invoke('holdfast:launch.take', from(cold.window))).toBeNull();
    expect(cold.window.webContents.sent.filter((m) => m.channel === 'holdfast:oidc.code')).toEqual([]);
  });
});

