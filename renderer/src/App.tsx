// The client's screens: sign-in, then the launcher and one tab per session, with the
// connection status and the signed-in person always in view.
import { useCallback, useEffect, useState, useSyncExternalStore } from 'react';
import type { AppInfo, SessionSummary } from '../../shared/protocol/index.js';
import type { ClientState, HoldfastClient, SessionStream } from '../../shared/core/index.js';
import { SignIn } from './components/SignIn.js';
import { Launcher } from './components/Launcher.js';
import { TerminalView } from './components/TerminalView.js';
import { RfbView } from './components/RfbView.js';
import { StatusBar } from './components/StatusBar.js';
import { Tabs, type Tab } from './components/Tabs.js';
import { AdminView } from './components/AdminView.js';
import { TwoStepSetup } from './components/TwoStep.js';
import { KioskEscape, UpdateBanner, useAutomaticSignIn, useRequestedLaunches, type DesktopShell } from './desktop.js';
import type { SessionTab } from './session-tab.js';

/** Members of this group see the admin page (the broker checks it again on every call). */
const ADMIN_GROUP = 'admins';

function useClientState(client: HoldfastClient): ClientState {
  const subscribe = useCallback((notify: () => void) => client.subscribe(notify), [client]);
  return useSyncExternalStore(subscribe, () => client.state);
}

let nextKey = 1;

/** `desktop` is set inside the Electron shell only; the web client runs without it. */
export function App({ client, desktop }: { client: HoldfastClient; desktop?: DesktopShell }) {
  const state = useClientState(client);
  const kiosk = desktop?.config.kiosk != null;
  const signInNotice = useAutomaticSignIn(client, state, desktop);
  const [ended, setEnded] = useState<string | null>(null);
  const [apps, setApps] = useState<AppInfo[] | null>(null);
  const [appsError, setAppsError] = useState<string | null>(null);
  const [sessions, setSessions] = useState<SessionTab[]>([]);
  const [active, setActive] = useState<string>('launcher');
  const [size, setSize] = useState<{ cols: number; rows: number } | null>(null);
  const [running, setRunning] = useState<SessionSummary[]>([]);

  useEffect(() => {
    setAppsError(null);
    if (!state.user) {
      setApps(null);
      setSessions([]);
      setActive('launcher');
      return;
    }
    client.listApps().then(setApps, (error: Error) => setAppsError(error.message));
  }, [client, state.user]);

  // Sessions this person has running elsewhere (or left behind), offered for attaching.
  useEffect(() => {
    if (!state.user || active !== 'launcher') return;
    let live = true;
    const refresh = () => client.listSessions().then((list) => live && setRunning(list), () => {});
    refresh();
    const timer = setInterval(refresh, 5000);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [client, state.user, active]);

  const open = (name: string, display: SessionTab['display'], stream: SessionStream) => {
    const key = `s${nextKey++}`;
    setSessions((all) => [...all, { key, name, display, stream }]);
    setActive(key);
    setEnded(null);
    // A kiosk goes back to its launcher when an app ends, never to an ended tab.
    if (kiosk) void stream.finished().then((view) => (closeTab(key), setEnded(`${name} ended. ${view.reason ?? ''}`)));
  };
  const displayOf = (appId: string) => apps?.find((app) => app.id === appId)?.display ?? 'terminal';
  // Start at a guess; the terminal view fits itself and resizes as soon as it mounts.
  const launch = (app: AppInfo) => open(app.name, app.display, client.launch(app.id, 80, 24));
  const attach = (summary: SessionSummary) => open(summary.appName, displayOf(summary.appId), client.attach(summary, 80, 24));
  const launchNotice = useRequestedLaunches(desktop, state.user !== null, apps, launch);

  const closeTab = (key: string) => {
    setSessions((all) => {
      all.find((s) => s.key === key)?.stream.close();
      return all.filter((s) => s.key !== key);
    });
    setActive((current) => (current === key ? 'launcher' : current));
  };
  const openHere = new Set(sessions.map((s) => s.stream.sessionId));

  if (!state.user) {
    return (
      <div className="shell">
        <SignIn client={client} status={state} desktop={desktop} notice={signInNotice} />
        <StatusBar state={state} size={null} onSignOut={null} />
        <KioskEscape desktop={desktop} />
      </div>
    );
  }

  const isAdmin = state.user.groups.includes(ADMIN_GROUP) && !kiosk;
  const tabs: Tab[] = [
    { key: 'launcher', label: 'Apps', closable: false },
    ...(isAdmin ? [{ key: 'admin', label: 'Admin', closable: false }] : []),
    ...sessions.map((s) => ({ key: s.key, label: s.name, closable: true })),
  ];
  const current = sessions.find((s) => s.key === active);

  return (
    <div className={kiosk ? 'shell kiosk' : 'shell'}>
      <UpdateBanner desktop={desktop} />
      <Tabs tabs={tabs} active={active} onSelect={setActive} onClose={closeTab} />
      <main className="content">
        {active === 'launcher' && (launchNotice ?? ended) && (
          <p className="notice" role="status">
            {launchNotice ?? ended}
          </p>
        )}
        {active === 'launcher' && (
          <Launcher
            apps={apps}
            error={appsError}
            onLaunch={launch}
            running={running.filter((r) => !openHere.has(r.sessionId))}
            onAttach={attach}
            footer={kiosk ? null : <TwoStepSetup client={client} />}
          />
        )}
        {isAdmin && <AdminView client={client} visible={active === 'admin'} />}
        {sessions.map((s) =>
          s.display === 'rfb' ? (
            <RfbView key={s.key} tab={s} visible={s.key === active} />
          ) : (
            <TerminalView key={s.key} tab={s} visible={s.key === active} onSize={s.key === active ? setSize : undefined} />
          ),
        )}
      </main>
      <StatusBar
        state={state}
        size={current?.display === 'terminal' ? size : null}
        onSignOut={kiosk ? null : () => (void desktop?.bridge.clearCredential(), client.signOut())}
      />
      <KioskEscape desktop={desktop} />
    </div>
  );
}
