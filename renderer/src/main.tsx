// Web and desktop client entry. The broker is the page's own origin in the browser;
// in the desktop shell the preload bridge names it (from policy or settings).
import { createRoot } from 'react-dom/client';
import { HoldfastClient, type SocketLike } from '../../shared/core/index.js';
import { App } from './App.js';
import { desktopBridge } from './bridge.js';
import { PolicyError, type DesktopShell } from './desktop.js';
import { captureReturnedCode, returnedCodeWaiting } from './oidc.js';
import { storedDeviceTokens } from './device-tokens.js';
import { renewSignIn } from './kept-sign-in.js';
import { PreferenceStore } from './preferences.js';
import { launchScale } from './components/rfb-fit.js';
import { MachineSound } from './machine-sound.js';
import { SOUND_ALLOWED } from '../../shared/policy.js';
import '@xterm/xterm/css/xterm.css';
import './styles.css';

async function renewal({ bridge, config }: DesktopShell) {
  if (config.kiosk) {
    const secret = await bridge.loadKioskSecret();
    return secret === null ? null : { user: config.kiosk.account, password: secret };
  }
  const credential = await bridge.loadCredential();
  return credential === null ? null : { refreshToken: credential.refreshToken };
}

async function start(): Promise<void> {
  // Before anything else: a sign-in code in the address bar leaves it (and the history) at once.
  captureReturnedCode();
  const bridge = desktopBridge();
  const root = createRoot(document.getElementById('root')!);
  const desktop: DesktopShell | undefined = bridge ? { bridge, config: await bridge.getConfig() } : undefined;
  if (desktop?.config.policyError) return root.render(<PolicyError error={desktop.config.policyError} />);
  const brokerUrl = desktop?.config.brokerUrl ?? window.location.origin;
  const preferences = new PreferenceStore(window.localStorage);
  const client = new HoldfastClient({
    brokerUrl,
    socketFactory: (url, protocols) => new WebSocket(url, protocols) as unknown as SocketLike,
    // Only a "remember me" sign-in (or one with a kept token) brings a refresh token; each replaces the last.
    onRefreshToken: desktop ? ({ brokerUrl, user, refreshToken }) => void desktop.bridge.saveCredential({ brokerUrl, user, refreshToken }) : undefined,
    // A kiosk (its stored secret) or a remembered sign-in renews itself when the broker refuses an old access token.
    renewSignIn: desktop ? () => renewal(desktop) : undefined,
    devices: storedDeviceTokens(window.localStorage, brokerUrl),
    // A graphical app starts told this screen's scale, as the person has apps drawn (Sharp: its device pixels).
    screenScale: () => launchScale(preferences.preferences.displayPixels, window.devicePixelRatio),
  });
  // A reload of the web client: the sign-in the node kept (an HttpOnly cookie) signs in again.
  const kept = desktop || returnedCodeWaiting() ? null : await renewSignIn(window.location.origin);
  // Sound as this computer's policy has it; a browser has no machine policy (sound allowed).
  root.render(
    <MachineSound value={desktop?.config.sound ?? SOUND_ALLOWED}>
      <App client={client} desktop={desktop} preferences={preferences} />
    </MachineSound>,
  );
  if (kept) void client.signInWithCode(kept.code, kept.handoff).catch(() => {});
}

void start();
