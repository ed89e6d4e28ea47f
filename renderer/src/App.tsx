// The client's screens: sign-in, then the launcher and one tab per session, with the
// connection status and the signed-in person always in view.
import { useCallback, useEffect, useState, useSyncExternalStore } from 'react';
import type { AppInfo } from '../../shared/protocol/index.js';
import type { ClientState, HoldfastClient, SessionStream } from '../../shared/core/index.js';
import { SignIn } from './components/SignIn.js';
import { Launcher } from './components/Launcher.js';
import { TerminalView } from './components/TerminalView.js';
import { StatusBar } from './components/StatusBar.js';
import { Tabs, type Tab } from './components/Tabs.js';

export interface SessionTab {
  key: string;
  app: AppInfo;
  stream: SessionStream | null;
  error: string | null;
}

function useClientState(client: HoldfastClient): ClientState {
  const subscribe = useCallback((notify: () => void) => client.subscribe(notify), [client]);
  return useSyncExternalStore(subscribe, () => client.state);
}

let nextKey = 1;

export function App({ client }: { client: HoldfastClient }) {
  const state = useClientState(client);
  const [apps, setApps] = useState<AppInfo[] | null>(null);
  const [appsError, setAppsError] = useState<string | null>(null);
  const [sessions, setSessions] = useState<SessionTab[]>([]);
  const [active, setActive] = useState<string>('launcher');
  const [size, setSize] = useState<{ cols: number; rows: number } | null>(null);

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

  const launch = (app: AppInfo) => {
    const key = `s${nextKey++}`;
    setSessions((all) => [...all, { key, app, stream: null, error: null }]);
    setActive(key);
    // Start at a guess; the terminal view fits itself and resizes as soon as it mounts.
    client.launch(app.id, 80, 24).then(
      (stream) => setSessions((all) => all.map((s) => (s.key === key ? { ...s, stream } : s))),
      (error: Error) => setSessions((all) => all.map((s) => (s.key === key ? { ...s, error: error.message } : s))),
    );
  };

  const closeTab = (key: string) => {
    setSessions((all) => {
      all.find((s) => s.key === key)?.stream?.close();
      return all.filter((s) => s.key !== key);
    });
    setActive((current) => (current === key ? 'launcher' : current));
  };

  if (!state.user) {
    return (
      <div className="shell">
        <SignIn client={client} status={state} />
        <StatusBar state={state} size={null} onSignOut={null} />
      </div>
    );
  }

  const tabs: Tab[] = [
    { key: 'launcher', label: 'Apps', closable: false },
    ...sessions.map((s) => ({ key: s.key, label: s.app.name, closable: true })),
  ];
  const current = sessions.find((s) => s.key === active);

  return (
    <div className="shell">
      <Tabs tabs={tabs} active={active} onSelect={setActive} onClose={closeTab} />
      <main className="content">
        {active === 'launcher' && <Launcher apps={apps} error={appsError} onLaunch={launch} />}
        {sessions.map((s) => (
          <TerminalView
            key={s.key}
            tab={s}
            visible={s.key === active}
            onSize={s.key === active ? setSize : undefined}
          />
        ))}
      </main>
      <StatusBar state={state} size={current ? size : null} onSignOut={() => client.signOut()} />
    </div>
  );
}
