// What the renderer does only inside the desktop shell (window.holdfast present):
// restoring a remembered or kiosk sign-in, launches asked for by policy or by a
// holdfast:// link, the update banner, the kiosk escape prompt and the policy-error
// screen. In a browser none of this exists and nothing here runs.
import { useEffect, useRef, useState, type FormEvent } from 'react';
import type { ClientState, HoldfastClient } from '../../shared/core/index.js';
import type { AppInfo } from '../../shared/protocol/index.js';
import type { DesktopApi, DesktopConfig, UpdateStatus } from '../../shared/ipc.js';

export interface DesktopShell {
  bridge: DesktopApi;
  config: DesktopConfig;
}

/** Kiosk sign-in waits this long between tries (jittered, capped): a kiosk never gives up. */
function retryDelayMs(attempt: number): number {
  const ceiling = Math.min(30_000, 1000 * 2 ** Math.min(attempt, 5));
  return ceiling / 2 + (Math.random() * ceiling) / 2;
}

/**
 * Signs in without asking when it can: a kiosk with its stored secret (again and again
 * while signed out, backing off, until the broker says the secret is wrong); a desktop
 * with a remembered refresh token, once at start. Returns what the sign-in screen should say.
 */
export function useAutomaticSignIn(client: HoldfastClient, state: ClientState, desktop: DesktopShell | undefined): string | null {
  const [notice, setNotice] = useState<string | null>(null);
  const attempts = useRef(0);
  const triedRemembered = useRef(false);
  const kioskRefused = useRef(false);
  const signedOut = state.phase === 'signedOut';

  useEffect(() => {
    if (!desktop || !signedOut) return;
    const { bridge, config } = desktop;
    let cancelled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    if (config.kiosk && !kioskRefused.current) {
      const account = config.kiosk.account;
      const attempt = () => {
        bridge.loadKioskSecret().then((secret) => {
          if (cancelled || secret === null) return;
          client.signIn(account, secret).then(
            () => {
              attempts.current = 0;
              setNotice(null);
            },
            (error: Error & { code?: string }) => {
              if (cancelled) return;
              if (error.code === 'sign_in_failed') {
                kioskRefused.current = true;
                setNotice(`The broker refused this kiosk’s stored secret for ${account}. An administrator signs in once to store the new one.`);
                return;
              }
              attempts.current += 1;
              setNotice(`Cannot sign in yet (${error.message}). Trying again…`);
              timer = setTimeout(attempt, retryDelayMs(attempts.current));
            },
          );
        });
      };
      timer = setTimeout(attempt, attempts.current === 0 ? 0 : retryDelayMs(attempts.current));
    } else if (!config.kiosk && config.rememberMe.offered && !triedRemembered.current) {
      triedRemembered.current = true;
      bridge.loadCredential().then((credential) => {
        if (cancelled || !credential) return;
        client.signInWithToken(credential.refreshToken).catch((error: Error & { code?: string }) => {
          if (error.code === 'sign_in_failed') void bridge.clearCredential();
          setNotice(error.message);
        });
      });
    }
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  }, [client, desktop, signedOut]);
  return notice;
}

/**
 * Launches what the shell asks for once the person is signed in and their apps are
 * known: the policy's auto-launch app (once per sign-in), and holdfast://launch/<id>
 * links, whether they came before sign-in or while signed in.
 */
export function useRequestedLaunches(desktop: DesktopShell | undefined, signedIn: boolean, apps: AppInfo[] | null, launch: (app: AppInfo) => void): string | null {
  const [notice, setNotice] = useState<string | null>(null);
  const [queue, setQueue] = useState<string[]>([]);
  const launchRef = useRef(launch);
  launchRef.current = launch;

  useEffect(() => {
    if (!desktop || !signedIn) return;
    const auto = desktop.config.autoLaunchApp;
    let live = true;
    void desktop.bridge.takePendingLaunch().then((appId) => live && setQueue((q) => [...(auto ? [auto] : []), ...q, ...(appId ? [appId] : [])]));
    const stop = desktop.bridge.onLaunchRequested(({ appId }) => {
      void desktop.bridge.takePendingLaunch();
      setQueue((q) => [...q, appId]);
    });
    return () => {
      live = false;
      stop();
    };
  }, [desktop, signedIn]);

  useEffect(() => {
    if (!signedIn || apps === null || queue.length === 0) return;
    const [appId, ...rest] = queue;
    setQueue(rest);
    const app = apps.find((candidate) => candidate.id === appId);
    if (app) {
      setNotice(null);
      launchRef.current(app);
    } else {
      setNotice(`“${appId}” is not one of your apps, so it was not launched.`);
    }
  }, [signedIn, apps, queue]);
  return notice;
}

export function UpdateBanner({ desktop }: { desktop: DesktopShell | undefined }) {
  const [status, setStatus] = useState<UpdateStatus>({ state: 'idle' });
  const [later, setLater] = useState(false);
  useEffect(() => desktop?.bridge.onUpdateStatus(setStatus), [desktop]);
  if (!desktop || later || status.state !== 'ready') return null;
  return (
    <div className="update-banner" role="alert">
      <span>Holdfast {status.version} is ready to install.</span>
      <button onClick={() => void desktop.bridge.installUpdate()}>Restart now</button>
      <button className="quiet" onClick={() => setLater(true)}>
        Later
      </button>
      <span className="muted">(it installs when you quit)</span>
    </div>
  );
}

/** The administrator escape: Ctrl+Alt+Shift+E on a kiosk asks for the escape secret. */
export function KioskEscape({ desktop }: { desktop: DesktopShell | undefined }) {
  const [open, setOpen] = useState(false);
  const [secret, setSecret] = useState('');
  const [message, setMessage] = useState('');
  useEffect(() => desktop?.bridge.onKioskEscapeRequested(() => setOpen(true)), [desktop]);
  if (!desktop || !open) return null;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    desktop.bridge.kioskEscape(secret).then((result) => {
      setSecret('');
      setMessage(result.message);
    });
  };
  return (
    <div className="modal" role="dialog" aria-modal="true" aria-labelledby="escape-title">
      <form className="card" onSubmit={submit}>
        <h1 id="escape-title">Leave kiosk mode</h1>
        <label htmlFor="escape-secret">Administrator escape secret</label>
        <input id="escape-secret" type="password" autoFocus value={secret} onChange={(e) => setSecret(e.target.value)} />
        <p className="error" role="alert">
          {message}
        </p>
        <button type="submit" disabled={secret === ''}>
          Leave kiosk mode
        </button>
        <button type="button" className="quiet" onClick={() => (setOpen(false), setMessage(''))}>
          Cancel
        </button>
      </form>
    </div>
  );
}

export function PolicyError({ error }: { error: NonNullable<DesktopConfig['policyError']> }) {
  return (
    <main className="sign-in">
      <section className="card policy-error" aria-labelledby="policy-title">
        <h1 id="policy-title">This computer’s Holdfast policy is not valid</h1>
        <p>Holdfast will not run until an administrator fixes it. The file is</p>
        <code>{error.file}</code>
        <ul aria-label="Problems">
          {error.problems.map((problem) => (
            <li key={problem}>{problem}</li>
          ))}
        </ul>
        <p className="muted">Holdfast starts again by itself when the file changes.</p>
      </section>
    </main>
  );
}

/** Broker and update channel, on the desktop sign-in screen; a locked setting is shown, not editable. */
export function DesktopSettings({ desktop }: { desktop: DesktopShell }) {
  const { settings } = desktop.config;
  const [broker, setBroker] = useState(settings.brokerUrl);
  const [channel, setChannel] = useState(settings.updateChannel);
  const [error, setError] = useState('');
  const brokerLocked = settings.locked.includes('brokerUrl');
  const channelLocked = settings.locked.includes('updateChannel');
  const apply = (patch: Parameters<DesktopApi['setSettings']>[0]) => {
    setError('');
    // A new broker reloads the page (the CSP names it); a refusal is shown here.
    desktop.bridge.setSettings(patch).catch((e: Error) => setError(e.message.replace(/^.*refused, /, '')));
  };
  return (
    <details className="desktop-settings">
      <summary>Settings</summary>
      <label htmlFor="broker-url">Broker</label>
      <input
        id="broker-url"
        value={broker}
        disabled={brokerLocked}
        title={brokerLocked ? 'Set by your administrator' : undefined}
        onChange={(e) => setBroker(e.target.value)}
        onBlur={() => broker !== settings.brokerUrl && apply({ brokerUrl: broker.trim() })}
      />
      <label htmlFor="update-channel">Updates</label>
      <select
        id="update-channel"
        value={channel}
        disabled={channelLocked}
        title={channelLocked ? 'Set by your administrator' : 'Applies from the next start'}
        onChange={(e) => {
          const value = e.target.value as 'stable' | 'beta';
          setChannel(value);
          apply({ updateChannel: value });
        }}
      >
        <option value="stable">Stable</option>
        <option value="beta">Beta</option>
      </select>
      {(brokerLocked || channelLocked) && <p className="muted">Some settings are set by your administrator.</p>}
      <p className="error" role="alert">
        {error}
      </p>
    </details>
  );
}
