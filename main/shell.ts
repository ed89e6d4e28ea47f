// The desktop shell once Electron is ready: reads the machine policy, decides the
// mode (desktop, kiosk, or the policy-error screen), opens the one window, and serves
// the renderer's IPC. OS integration only; sign-in and sessions live in the renderer.
import { app, Menu, session, shell, type BrowserWindow, type IpcMainInvokeEvent } from 'electron';
import { readFileSync, watchFile } from 'node:fs';
import { join } from 'node:path';
import { StoredCredential, type DesktopConfig } from '../shared/ipc.js';
import { effectiveSettings, SOUND_ALLOWED, type EffectiveSettings, type MachinePolicy } from '../shared/policy.js';
import { APP_INDEX, serveApp } from './app-protocol.js';
import { certificateVerifier } from './certificate-trust.js';
import { deepLinkFromArgv, originOf, parseDeepLink, type DeepLink } from './deep-link.js';
import { oidcStartUrl } from '../shared/protocol/sign-in-methods.js';
import { handleIpc, isFromWindow, sendEvent } from './ipc.js';
import { EscapeLimiter, guardKioskWindow, verifyEscapeSecret, type KioskGuard } from './kiosk.js';
import { loadPolicy, type PolicyResult } from './policy.js';
import { SecretStore, secretStorageUnavailable } from './secret-store.js';
import { loadUserSettings, saveUserSettings } from './settings.js';
import { startUpdates, updateFeedConfig, type UpdateController } from './updates.js';
import { loadPlacement, rememberPlacement } from './window-state.js';
import { printPdf } from './print-pdf.js';
import { contentSecurityPolicy, createPdfWindow, createShellWindow, lockDownWebContents, type WindowMode } from './windows.js';

/** A sign-in started in the system browser may come back this long after (the broker's flow lasts 10 minutes). */
const OIDC_LINK_WINDOW_MS = 15 * 60_000;

export interface ShellOptions {
  rendererRoot: string;
  policyFile: string;
  userData: string;
  /** The broker when neither policy nor the person names one (--broker, HOLDFAST_BROKER). */
  fallbackBroker: string;
  argv: readonly string[];
  platform?: NodeJS.Platform;
}

export class Shell {
  window: BrowserWindow | null = null;
  readonly policy: PolicyResult;
  readonly mode: WindowMode;
  private settings: EffectiveSettings;
  private pendingLaunch: string | null = null;
  /** When the renderer last started a sign-in in the system browser: holdfast://oidc links are taken only after one. */
  private oidcStartedAt = 0;
  private kioskGuard: KioskGuard | null = null;
  private updates: UpdateController | null = null;
  private quitting = false;
  private readonly escapeLimiter = new EscapeLimiter();
  private readonly credential: SecretStore;
  private readonly kioskSecret: SecretStore;
  private readonly platform: NodeJS.Platform;

  constructor(private readonly options: ShellOptions) {
    this.platform = options.platform ?? process.platform;
    this.policy = loadPolicy(options.policyFile);
    this.mode = this.policyOk?.kiosk || (this.policy.kind === 'invalid' && mentionsKiosk(options.policyFile)) ? 'kiosk' : 'desktop';
    this.settings = effectiveSettings(this.policyOk, loadUserSettings(this.settingsFile), options.fallbackBroker);
    this.credential = new SecretStore(join(options.userData, 'credential.bin'), this.platform);
    this.kioskSecret = new SecretStore(join(options.userData, 'kiosk-secret.bin'), this.platform);
    // A sign-in link that starts the app is ignored: no window of this run started that sign-in.
    const link = deepLinkFromArgv(options.argv);
    this.pendingLaunch = link?.kind === 'launch' ? link.appId : null;
  }

  private get policyOk(): MachinePolicy | null {
    return this.policy.kind === 'ok' ? this.policy.policy : null;
  }

  private get settingsFile(): string {
    return join(this.options.userData, 'settings.json');
  }

  start(): void {
    lockDownWebContents((this.policyOk?.sound ?? SOUND_ALLOWED).microphone);
    // Brokers the system does not trust are reached only when the policy pins their key.
    session.defaultSession.setCertificateVerifyProc(certificateVerifier(this.policyOk?.tls.pins ?? []));
    serveApp(this.options.rendererRoot, () => contentSecurityPolicy(this.policy.kind === 'invalid' ? [] : this.settings.brokers));
    // Windows and Linux get no menu (its accelerators would take Ctrl+R/W/Q from terminal
    // apps); macOS keeps the standard one on a desktop, for Cmd+Q and copy/paste.
    Menu.setApplicationMenu(this.platform === 'darwin' && this.mode === 'desktop' ? Menu.buildFromTemplate([{ role: 'appMenu' }, { role: 'editMenu' }, { role: 'windowMenu' }]) : null);
    this.registerIpc();
    this.openWindow();
    if (this.policy.kind === 'invalid') this.relaunchWhenPolicyChanges();
    else this.startUpdates();
    app.on('before-quit', (event) => {
      if (this.mode === 'kiosk' && !this.quitting) event.preventDefault();
    });
    app.on('window-all-closed', () => {
      if (this.mode === 'kiosk' && !this.quitting) this.openWindow();
      else app.quit();
    });
  }

  /** The config the renderer starts from. */
  config(): DesktopConfig {
    const policy = this.policyOk;
    const unavailable = secretStorageUnavailable(this.platform);
    return {
      brokerUrl: this.settings.brokerUrl,
      version: app.getVersion(),
      policyError: this.policy.kind === 'invalid' ? this.policy.problem : null,
      kiosk: policy?.kiosk ? { account: policy.kiosk.account } : null,
      autoLaunchApp: policy?.autoLaunchApp ?? null,
      rememberMe: {
        offered: this.mode === 'desktop' && this.settings.rememberMe && unavailable === null,
        reason: !this.settings.rememberMe ? 'turned off by your administrator' : unavailable,
      },
      sound: policy?.sound ?? SOUND_ALLOWED,
      settings: { brokerUrl: this.settings.brokerUrl, updateChannel: this.settings.updateChannel, locked: this.settings.locked },
    };
  }

  /** Another launch of the app (a second instance, or a holdfast:// link on macOS). */
  onSecondInstance(argv: readonly string[]): void {
    this.focus();
    const link = deepLinkFromArgv(argv);
    if (link) this.deliver(link);
  }

  onOpenUrl(url: string): void {
    this.focus();
    const link = parseDeepLink(url);
    if (link) this.deliver(link);
  }

  private deliver(link: DeepLink): void {
    if (this.policy.kind === 'invalid') return;
    if (link.kind === 'oidc') {
      // Only for a sign-in this app started, with the broker it is set to use; the code is
      // useless anyway without the renderer's handoff value (broker/auth/sign-in-codes.ts).
      if (Date.now() - this.oidcStartedAt > OIDC_LINK_WINDOW_MS || link.broker !== originOf(this.settings.brokerUrl)) return;
      sendEvent(this.window?.webContents, 'holdfast:oidc.code', { code: link.code });
      return;
    }
    this.pendingLaunch = link.appId;
    sendEvent(this.window?.webContents, 'holdfast:launch.requested', { appId: link.appId });
  }

  private focus(): void {
    if (!this.window || this.window.isDestroyed()) return;
    if (this.window.isMinimized()) this.window.restore();
    this.window.show();
    this.window.focus();
  }

  private openWindow(): void {
    const placementFile = join(this.options.userData, 'window-state.json');
    const placement = this.mode === 'desktop' ? loadPlacement(placementFile) : null;
    const window = createShellWindow(this.mode, placement);
    this.window = window;
    if (this.mode === 'kiosk') {
      this.kioskGuard = guardKioskWindow(window, () => sendEvent(window.webContents, 'holdfast:kiosk.escapeRequested', {}), this.platform);
    } else {
      rememberPlacement(window, placementFile);
    }
    window.once('ready-to-show', () => {
      if (placement?.maximized) window.maximize();
      window.show();
    });
    window.on('closed', () => {
      if (this.window === window) this.window = null;
    });
    void window.loadURL(APP_INDEX);
  }

  private trusted = (event: IpcMainInvokeEvent): boolean => isFromWindow(this.window, event);

  private registerIpc(): void {
    const trusted = this.trusted;
    const usable = () => this.policy.kind !== 'invalid';
    const refuseIfInvalid = () => {
      if (!usable()) throw new Error('refused: the machine policy is not valid');
    };
    handleIpc('holdfast:config.get', trusted, () => this.config());
    handleIpc('holdfast:settings.set', trusted, (patch) => {
      refuseIfInvalid();
      const locked = Object.keys(patch).filter((name) => this.settings.locked.includes(name as never));
      if (locked.length > 0) throw new Error(`refused: ${locked.join(', ')} is set by your administrator`);
      const user = { ...loadUserSettings(this.settingsFile), ...patch };
      saveUserSettings(this.settingsFile, user);
      const before = this.settings.brokerUrl;
      this.settings = effectiveSettings(this.policyOk, user, this.options.fallbackBroker);
      // The CSP names the broker: a new one takes a fresh page load.
      if (this.settings.brokerUrl !== before) setImmediate(() => this.window?.webContents.reload());
      return this.config();
    });
    handleIpc('holdfast:credential.load', trusted, () => {
      if (!usable() || !this.config().rememberMe.offered) return null;
      const stored = this.credential.load();
      if (!stored) return null;
      try {
        const credential = StoredCredential.safeParse(JSON.parse(stored));
        // A credential for another broker is no use here (and not that broker's business).
        return credential.success && credential.data.brokerUrl === this.settings.brokerUrl ? credential.data : null;
      } catch {
        return null;
      }
    });
    handleIpc('holdfast:credential.save', trusted, (credential) => {
      refuseIfInvalid();
      const offered = this.config().rememberMe;
      if (!offered.offered) return { saved: false, reason: offered.reason ?? 'not offered here' };
      return this.credential.save(JSON.stringify(credential));
    });
    handleIpc('holdfast:credential.clear', trusted, () => {
      this.credential.clear();
      return null;
    });
    handleIpc('holdfast:kiosk.secret.load', trusted, () => (this.mode === 'kiosk' && usable() ? this.kioskSecret.load() : null));
    handleIpc('holdfast:kiosk.secret.save', trusted, (secret) => {
      if (this.mode !== 'kiosk' || !usable()) return { saved: false, reason: 'this machine is not a kiosk' };
      return this.kioskSecret.save(secret);
    });
    handleIpc('holdfast:kiosk.escape', trusted, (secret) => this.escape(secret));
    handleIpc('holdfast:update.install', trusted, () => {
      this.updates?.installNow();
      return null;
    });
    handleIpc('holdfast:oidc.start', trusted, async (handoff) => {
      refuseIfInvalid();
      if (this.mode === 'kiosk') throw new Error('refused: a kiosk signs in with its own account');
      // The URL is made here, from the configured broker: the renderer names no address.
      await shell.openExternal(oidcStartUrl(this.settings.brokerUrl, 'desktop', handoff));
      this.oidcStartedAt = Date.now();
      return null;
    });
    // Reply null (cancelled) or a reason in words; the document opens in a window of its own.
    handleIpc('holdfast:print.pdf', trusted, (bytes, name) => printPdf(bytes, name, { tempDir: app.getPath('temp'), openWindow: (title) => createPdfWindow(title, this.window) }));
    handleIpc('holdfast:launch.take', trusted, () => {
      const appId = this.pendingLaunch;
      this.pendingLaunch = null;
      return appId;
    });
  }

  private async escape(secret: string): Promise<{ ok: boolean; message: string }> {
    if (this.mode !== 'kiosk') return { ok: false, message: 'This is not a kiosk.' };
    const hash = this.policyOk?.kiosk?.escapeHash ?? rawEscapeHash(this.options.policyFile);
    if (!hash) return { ok: false, message: 'The policy has no usable escape hash; fix the policy file.' };
    const wait = this.escapeLimiter.retryAfterMs();
    if (wait > 0) return { ok: false, message: `Too many wrong tries. Try again in ${Math.ceil(wait / 1000)} s.` };
    if (!(await verifyEscapeSecret(secret, hash))) {
      this.escapeLimiter.recordFailure();
      return { ok: false, message: 'That is not the escape secret.' };
    }
    this.escapeLimiter.recordSuccess();
    this.quitting = true;
    this.kioskGuard?.release();
    setImmediate(() => app.exit(0));
    return { ok: true, message: 'Leaving kiosk mode.' };
  }

  private startUpdates(): void {
    const feed = updateFeedConfig(this.policyOk, this.settings.updateChannel);
    if (!feed) return;
    this.updates = startUpdates(feed, {
      send: (status) => sendEvent(this.window?.webContents, 'holdfast:update.status', status),
      beforeInstall: () => {
        this.quitting = true;
        this.kioskGuard?.release();
      },
    });
  }

  /** An administrator fixing the file is enough: the shell starts again with it. */
  private relaunchWhenPolicyChanges(): void {
    const before = readOrNull(this.options.policyFile);
    watchFile(this.options.policyFile, { interval: 2000 }, () => {
      if (readOrNull(this.options.policyFile) === before) return;
      this.quitting = true;
      this.kioskGuard?.release();
      app.relaunch();
      app.exit(0);
    });
  }
}

function readOrNull(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

/** A broken policy that names a kiosk still locks the screen: it must not leave a kiosk open. */
function mentionsKiosk(file: string): boolean {
  const text = readOrNull(file);
  if (text === null) return false;
  try {
    const raw = JSON.parse(text) as unknown;
    return typeof raw === 'object' && raw !== null && 'kiosk' in raw;
  } catch {
    return /"kiosk"\s*:/.test(text);
  }
}

/** The escape hash from a policy that did not parse as a whole, if that part is usable. */
function rawEscapeHash(file: string): string | null {
  try {
    const raw = JSON.parse(readOrNull(file) ?? '') as { kiosk?: { escapeHash?: unknown } };
    const hash = raw?.kiosk?.escapeHash;
    return typeof hash === 'string' && hash.startsWith('scrypt$') ? hash : null;
  } catch {
    return null;
  }
}
