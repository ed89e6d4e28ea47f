// The client's screens: sign-in, then the launcher and one tab per session, with the
// connection status and the signed-in person always in view.
import { useCallback, useEffect, useRef, useState, useSyncExternalStore } from 'react';
import type { AppInfo, SessionSummary } from '../../shared/protocol/index.js';
import type { ClientState, HoldfastClient, SessionStream, SessionView } from '../../shared/core/index.js';
import { SignIn } from './components/SignIn.js';
import { Launcher } from './components/Launcher.js';
import { TerminalView } from './components/TerminalView.js';
import { RfbView } from './components/RfbView.js';
import { DisplaySettings } from './components/DisplaySettings.js';
import { SessionFrame } from './components/SessionFrame.js';
import { StatusBar } from './components/StatusBar.js';
import { Tabs, type Tab } from './components/Tabs.js';
import { AdminView } from './components/AdminView.js';
import { TwoStepSetup } from './components/TwoStep.js';
import { KeyboardSettings } from './components/KeyboardSettings.js';
import { TypingSettings } from './components/TypingSettings.js';
import { ConfirmDialog } from './components/ConfirmDialog.js';
import { KioskEscape, UpdateBanner, useAutomaticSignIn, useRequestedLaunches, type DesktopShell } from './desktop.js';
import type { SessionActions, SessionTab } from './session-tab.js';
import { endKeptSignIn, keepSignIn, rememberTabs, takeRememberedTabs } from './kept-sign-in.js';
import { ESCAPE_CHORDS, PREFERENCES_KEY, escapeChord, type PreferenceStore, type Preferences } from './preferences.js';

/** Members of this group see the admin page (the broker checks it again on every call). */
const ADMIN_GROUP = 'admins';

function useClientState(client: HoldfastClient): ClientState {
  const subscribe = useCallback((notify: () => void) => client.subscribe(notify), [client]);
  return useSyncExternalStore(subscribe, () => client.state);
}

/** This device's preferences, as they change (another window of the client's changes come through the storage event). */
function usePreferences(store: PreferenceStore): Preferences {
  const subscribe = useCallback(
    (notify: () => void) => {
      const unsubscribe = store.subscribe(notify);
      const onStorage = (event: StorageEvent) => {
        if (event.key === PREFERENCES_KEY || event.key === null) store.reload();
      };
      window.addEventListener('storage', onStorage);
      return () => (unsubscribe(), window.removeEventListener('storage', onStorage));
    },
    [store],
  );
  return useSyncExternalStore(subscribe, () => store.preferences);
}

/** The view of the session a tab shows (null: no session tab is active). */
function useSessionView(stream: SessionStream | undefined): SessionView | null {
  const subscribe = useCallback((notify: () => void) => stream?.subscribe(notify) ?? (() => {}), [stream]);
  return useSyncExternalStore(subscribe, () => stream?.view ?? null);
}

/** A session that still runs (or is starting, or reconnecting): closing its tab leaves it running. */
const isLive = (stream: SessionStream) => ['launching', 'streaming', 'reconnecting', 'resuming'].includes(stream.view.status);

let nextKey = 1;

/** Labels by key; the second and later of a label get " 2", " 3"… in tab order. */
function numbered(entries: Array<[string, string]>): Map<string, string> {
  const seen = new Map<string, number>();
  return new Map(
    entries.map(([key, label]) => {
      const count = (seen.get(label) ?? 0) + 1;
      seen.set(label, count);
      return [key, count === 1 ? label : `${label} ${count}`];
    }),
  );
}

/**
 * `desktop` is set inside the Electron shell only; the web client runs without it.
 * `preferences`: this device's keyboard, clipboard and display choices (preferences.ts).
 */
export function App({ client, desktop, preferences }: { client: HoldfastClient; desktop?: DesktopShell; preferences: PreferenceStore }) {
  const state = useClientState(client);
  const chosen = usePreferences(preferences);
  // The one way out of an app that takes every key (Ctrl+Alt+Shift unless the person chose other keys) moves focus to the tabs.
  const chord = escapeChord(chosen.escapeChord);
  const kiosk = desktop?.config.kiosk != null;
  const signInNotice = useAutomaticSignIn(client, state, desktop);
  const [ended, setEnded] = useState<string | null>(null);
  const [apps, setApps] = useState<AppInfo[] | null>(null);
  const [appsError, setAppsError] = useState<string | null>(null);
  const [sessions, setSessions] = useState<SessionTab[]>([]);
  const [active, setActive] = useState<string>('launcher');
  const [size, setSize] = useState<{ cols: number; rows: number } | null>(null);
  const [running, setRunning] = useState<SessionSummary[]>([]);
  const [signingOut, setSigningOut] = useState(false);
  // A share link this page was opened with (#join=…): opened once the person is signed in.
  const [pendingJoin, setPendingJoin] = useState<string | null>(() => joinLinkOf(location.hash));
  // Watching through that link as a guest, without signing in (where the link lets guests in).
  const [guestTab, setGuestTab] = useState<SessionTab | null>(null);
  const guestView = useSessionView(guestTab?.stream);
  // The tabs as last rendered: a tab's buttons act later and must see the current ones.
  const tabsNow = useRef(sessions);
  tabsNow.current = sessions;
  // The catalog as last rendered: a tab opened from an older render's closure (the tabs a reload opens again) must see it.
  const appsNow = useRef(apps);
  appsNow.current = apps;
  const current = sessions.find((s) => s.key === active);
  const currentView = useSessionView(current?.stream);

  // The window's title names what is in front: "Python 2 — Holdfast", "Apps — Holdfast".
  const frontLabel = current ? numbered(sessions.map((s) => [s.key, s.title ?? s.name])).get(current.key) : active === 'admin' ? 'Admin' : state.user ? 'Apps' : 'Sign in';
  useEffect(() => {
    document.title = `${frontLabel} — Holdfast`;
  }, [frontLabel]);

  const activeRef = useRef(active);
  activeRef.current = active;
  const chordRef = useRef(chord);
  chordRef.current = chord;
  // Before any app sees the keys (capture phase): the chord leaves the app for the tab bar.
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (!chordRef.current.matches(event)) return;
      event.preventDefault();
      event.stopPropagation();
      document.getElementById(`tab-${activeRef.current}`)?.focus();
    };
    window.addEventListener('keydown', onKey, true);
    return () => window.removeEventListener('keydown', onKey, true);
  }, []);

  useEffect(() => {
    setAppsError(null);
    if (!state.user) {
      setApps(null);
      setSessions([]);
      setActive('launcher');
      return;
    }
    client.listApps().then(setApps, (error: Error) => setAppsError(error.message));
    // An administrator comes to administer: the Admin page first (the apps are a tab away).
    if (state.user.groups.includes(ADMIN_GROUP) && !kiosk) setActive('admin');
  }, [client, state.user, kiosk]);

  const reopened = useRef(false);
  // The web client keeps each sign-in for the next reload (the desktop app has its own, remember me).
  useEffect(() => {
    if (desktop || !state.user || !client.apiToken) return;
    void keepSignIn(client.brokerUrl, client.apiToken);
  }, [client, desktop, state.user]);

  // The tabs open now, for a reload to open again.
  useEffect(() => {
    // Not before the tabs of the last reload were opened again: until then there is nothing to say.
    if (desktop || !state.user || !reopened.current) return;
    rememberTabs(sessions.filter((s) => s.link === undefined && !s.shadowOf && s.stream.sessionId && isLive(s.stream)).map((s) => ({ sessionId: s.stream.sessionId!, appId: s.appId, appName: s.name })));
  });

  // Sessions this person has running elsewhere (or left behind), offered for attaching.
  useEffect(() => {
    if (!state.user || active !== 'launcher') return;
    let live = true;
    const refresh = () =>
      client.listSessions().then((list) => {
        if (!live) return;
        setRunning(list);
        // After a reload: the tabs that were open open again, once.
        if (!reopened.current && !desktop) {
          reopened.current = true;
          const wanted = new Set(takeRememberedTabs());
          for (const summary of list) if (wanted.has(summary.sessionId)) attach(summary);
        }
      }, () => {});
    refresh();
    const timer = setInterval(refresh, 5000);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [client, state.user, active]);

  // A tab opened before the catalog came (one a reload opens again) learns then that its app has sound.
  useEffect(() => {
    const withSound = new Set(apps?.filter((app) => app.sound === true).map((app) => app.id));
    if (withSound.size === 0) return;
    const unaware = (s: SessionTab) => !s.sound && s.link === undefined && !s.shadowOf && withSound.has(s.appId);
    setSessions((all) => (all.some(unaware) ? all.map((s) => (unaware(s) ? { ...s, sound: true } : s)) : all));
  }, [apps]);

  /** What a tab's buttons do; they find the tab by key, so a relaunch or a take-back keeps its place. */
  const actionsFor = (key: string): SessionActions => ({
    end: () => tabByKey(key)?.stream.close(),
    relaunch: () => {
      const tab = tabByKey(key);
      if (tab?.link !== undefined) replaceStream(key, client.join(tab.link, 80, 24));
      else if (tab?.shadowOf) replaceStream(key, client.shadow(tab.shadowOf.sessionId, tab.shadowOf.control, 80, 24));
      else if (tab) replaceStream(key, client.launch(tab.appId, 80, 24));
    },
    takeBack: () => {
      const tab = tabByKey(key);
      const sessionId = tab?.stream.sessionId;
      if (tab && sessionId) replaceStream(key, client.attach({ sessionId, appId: tab.appId, appName: tab.name, startedAt: 0, attached: true, holdExpiresAt: null }, 80, 24));
    },
    close: () => closeTab(key),
    titled: (title) => setSessions((all) => all.map((s) => (s.key === key ? { ...s, title: title.trim().slice(0, 80) || undefined } : s))),
  });
  const tabByKey = (key: string) => tabsNow.current.find((s) => s.key === key);
  const replaceStream = (key: string, stream: SessionStream) => setSessions((all) => all.map((s) => (s.key === key ? { ...s, stream, title: undefined } : s)));

  const open = (appId: string, name: string, display: SessionTab['display'], stream: SessionStream) => {
    const key = `s${nextKey++}`;
    const sound = appsNow.current?.find((app) => app.id === appId)?.sound === true;
    setSessions((all) => [...all, { key, name, appId, display, stream, client, actions: actionsFor(key), ...(sound ? { sound } : {}) }]);
    setActive(key);
    setEnded(null);
    // A kiosk goes back to its launcher when an app ends, never to an ended tab.
    if (kiosk) void stream.finished().then((view) => (closeTab(key, true), setEnded(`${name} ended. ${view.reason ?? ''}`)));
  };
  const displayOf = (appId: string) => appsNow.current?.find((app) => app.id === appId)?.display ?? 'terminal';
  // Start at a guess; the terminal view fits itself and resizes as soon as it mounts.
  const launch = (app: AppInfo) => open(app.id, app.name, app.display, client.launch(app.id, 80, 24));
  const attach = (summary: SessionSummary) => open(summary.appId, summary.appName, displayOf(summary.appId), client.attach(summary, 80, 24));
  const launchNotice = useRequestedLaunches(desktop, state.user !== null, apps, launch);
  /** Watches a session someone shared (its name is known once joined). */
  const join = (link: string) => {
    const stream = client.join(link, 80, 24);
    const key = `s${nextKey++}`;
    setSessions((all) => [...all, { key, name: 'Shared session', appId: '', display: 'pending', stream, client, actions: actionsFor(key), link }]);
    setActive(key);
    setEnded(null);
    named(key, stream);
  };
  /** An administrator views someone's session (from the Admin page), once its person allows it. */
  const shadow = (sessionId: string, person: string, appName: string, control: boolean) => {
    const stream = client.shadow(sessionId, control, 80, 24);
    const key = `s${nextKey++}`;
    setSessions((all) => [...all, { key, name: `${person}’s ${appName}`, appId: '', display: 'pending', stream, client, actions: actionsFor(key), shadowOf: { sessionId, person, control } }]);
    setActive(key);
    named(key, stream);
  };
  /** Once joined, a watched session's tab is named as its owner and app are known: "Ann Lee’s Python". */
  const named = (key: string, stream: SessionStream) =>
    void stream.ready().then(
      () => {
        const watching = stream.view.watching;
        // Drawn once it is known what draws it: what the host sent meanwhile waits in the stream for the view.
        if (watching) setSessions((all) => all.map((s) => (s.key === key ? { ...s, name: `${watching.ownerName}’s ${watching.appName}`, appId: stream.appId, display: watching.display } : s)));
      },
      () => {},
    );
  useEffect(() => {
    if (!state.user || pendingJoin === null) return;
    setPendingJoin(null);
    // The link is not kept in the address: a reload does not join again, and it is not left in the history.
    history.replaceState(null, '', location.pathname + location.search);
    join(pendingJoin);
  }, [state.user, pendingJoin]);

  /**
   * Closing a tab disconnects: a running session keeps running on the broker, waiting
   * for its owner (Citrix's Disconnect), and the launcher lists it to open again. Only
   * End (which asks first) ends one. `gone`: the session is over anyway.
   */
  const closeTab = (key: string, gone = false) => {
    const tab = tabByKey(key);
    // Someone else's session, watched: closing its tab stops watching (it runs on for its owner).
    if (tab?.link !== undefined || tab?.shadowOf) tab.stream.close();
    else if (tab && !gone && isLive(tab.stream)) {
      tab.stream.detach();
      setEnded(`${tab.name} is still running. Open it again from “Your running sessions” below, or end it there.`);
    }
    setSessions((all) => all.filter((s) => s.key !== key));
    setActive((current) => (current === key ? 'launcher' : current));
  };

  /** Sign out asks once what to do with running sessions; keeping them is the default. */
  const signOut = (sessions: 'disconnect' | 'end') => {
    setSigningOut(false);
    void desktop?.bridge.clearCredential();
    if (!desktop) void endKeptSignIn(client.brokerUrl);
    const elsewhere = sessions === 'end' ? running.filter((r) => !openHere.has(r.sessionId)) : [];
    void Promise.all(elsewhere.map((r) => client.endSession(r).catch(() => {}))).then(() => client.signOut({ sessions }));
  };
  // Tabs are named by the app's own title, else the app; two alike get numbers ("Python", "Python 2").
  const tabLabels = numbered(sessions.map((s) => [s.key, s.title ?? s.name]));
  const liveSessions = sessions.filter((s) => isLive(s.stream)).length + running.filter((r) => !sessions.some((s) => s.stream.sessionId === r.sessionId)).length;
  const openHere = new Set(sessions.map((s) => s.stream.sessionId));

  if (!state.user && guestTab) {
    return (
      <div className="shell">
        <main className="content">
          {guestTab.display === 'rfb' ? (
            <RfbView tab={guestTab} visible={true} escapeKeys={chord.keys} pixels={chosen.displayPixels} />
          ) : guestTab.display === 'terminal' ? (
            <TerminalView tab={guestTab} visible={true} onSize={setSize} escapeKeys={chord.keys} copyOnSelect={chosen.copyOnSelect} localEcho={chosen.localEcho} />
          ) : (
            <SessionFrame tab={guestTab} visible={true} escapeKeys={chord.keys}>
              {null}
            </SessionFrame>
          )}
        </main>
        <StatusBar state={state} session={{ name: guestTab.name, view: guestView }} size={guestTab.display === 'terminal' ? size : null} onSignOut={null} />
      </div>
    );
  }

  if (!state.user) {
    const watchAsGuest = (name: string) => {
      const link = pendingJoin!;
      const start = (): SessionTab => {
        const stream = client.joinAsGuest(link, name, 80, 24);
        const tab: SessionTab = {
          key: 'guest',
          name: 'Shared session',
          appId: '',
          display: 'pending',
          stream,
          client,
          link,
          actions: {
            end: () => {},
            takeBack: () => {},
            titled: () => {},
            relaunch: () => setGuestTab(start()),
            // Closed: back to signing in, the link still at hand.
            close: () => (stream.close(), setGuestTab(null)),
          },
        };
        void stream.ready().then(
          () => {
            const watching = stream.view.watching;
            if (watching) setGuestTab((current) => (current?.stream === stream ? { ...current, name: `${watching.ownerName}’s ${watching.appName}`, appId: stream.appId, display: watching.display } : current));
          },
          () => {},
        );
        return tab;
      };
      setGuestTab(start());
    };
    return (
      <div className="shell">
        <SignIn
          client={client}
          status={state}
          desktop={desktop}
          notice={signInNotice ?? (pendingJoin ? 'Someone shared a session with you: sign in to watch it.' : null)}
          below={pendingJoin && !desktop ? <GuestJoin onJoin={watchAsGuest} /> : null}
        />
        <StatusBar state={state} session={null} size={null} onSignOut={null} />
        <KioskEscape desktop={desktop} />
      </div>
    );
  }

  const isAdmin = state.user.groups.includes(ADMIN_GROUP) && !kiosk;
  const tabs: Tab[] = [
    { key: 'launcher', label: 'Apps', closable: false },
    ...(isAdmin ? [{ key: 'admin', label: 'Admin', closable: false }] : []),
    ...sessions.map((s) => ({ key: s.key, label: tabLabels.get(s.key)!, closable: true })),
  ];

  return (
    <div className={kiosk ? 'shell kiosk' : 'shell'}>
      <UpdateBanner desktop={desktop} />
      <Tabs tabs={tabs} active={active} onSelect={setActive} onClose={(key) => closeTab(key)} />
      <main className="content">
        {active === 'launcher' && (
          <Launcher
            apps={apps}
            error={appsError}
            onLaunch={launch}
            running={running.filter((r) => !openHere.has(r.sessionId))}
            onAttach={attach}
            onEnd={(summary) => void client.endSession(summary).catch(() => {}).then(() => client.listSessions().then(setRunning, () => {}))}
            notice={launchNotice ?? ended}
            client={client}
            onJoin={kiosk ? null : join}
            footer={
              kiosk ? null : (
                <div className="settings">
                  <TwoStepSetup client={client} />
                  <KeyboardSettings preferences={chosen} chords={ESCAPE_CHORDS} onChange={(change) => preferences.update(change)} />
                  <DisplaySettings preferences={chosen} devicePixelRatio={window.devicePixelRatio} onChange={(change) => preferences.update(change)} />
                  <TypingSettings preferences={chosen} onChange={(change) => preferences.update(change)} />
                </div>
              )
            }
          />
        )}
        {isAdmin && <AdminView client={client} visible={active === 'admin'} onShadow={shadow} />}
        {sessions.map((s) =>
          s.display === 'rfb' ? (
            <RfbView key={s.key} tab={s} visible={s.key === active} escapeKeys={chord.keys} pixels={chosen.displayPixels} />
          ) : s.display === 'pending' ? (
            <SessionFrame key={s.key} tab={s} visible={s.key === active} escapeKeys={chord.keys}>
              {null}
            </SessionFrame>
          ) : (
            <TerminalView key={s.key} tab={s} visible={s.key === active} onSize={s.key === active ? setSize : undefined} escapeKeys={chord.keys} copyOnSelect={chosen.copyOnSelect} localEcho={chosen.localEcho} />
          ),
        )}
      </main>
      <StatusBar
        state={state}
        session={current ? { name: current.name, view: currentView } : null}
        size={current?.display === 'terminal' ? size : null}
        onSignOut={kiosk ? null : () => (liveSessions > 0 ? setSigningOut(true) : signOut('disconnect'))}
      />
      {signingOut && (
        <ConfirmDialog
          title="Sign out?"
          message={`You have ${liveSessions} ${liveSessions === 1 ? 'session' : 'sessions'} running. Kept running, they wait for you to sign in again; ended, unsaved work in them is lost.`}
          choices={[
            { label: 'Sign out, keep them running', onChoose: () => signOut('disconnect') },
            { label: 'End them and sign out', danger: true, onChoose: () => signOut('end') },
          ]}
          onCancel={() => setSigningOut(false)}
        />
      )}
      <KioskEscape desktop={desktop} />
    </div>
  );
}

/** The share link in a page address's fragment (#join=…), if any. */
function joinLinkOf(hash: string): string | null {
  const match = /^#join=([A-Za-z0-9_.-]{1,300})$/.exec(hash);
  return match ? match[1]! : null;
}

/** Watch a shared session without signing in: a name is all a guest link asks for (the broker says if the link does not let guests in). */
function GuestJoin({ onJoin }: { onJoin: (name: string) => void }) {
  const [name, setName] = useState('');
  return (
    <form
      className="guest-join"
      aria-labelledby="guest-title"
      onSubmit={(event) => {
        event.preventDefault();
        if (name.trim()) onJoin(name.trim());
      }}
    >
      <h2 id="guest-title">Or watch without signing in</h2>
      <label htmlFor="guest-name">Your name, as the others will see it</label>
      <input id="guest-name" value={name} maxLength={40} autoComplete="name" onChange={(event) => setName(event.target.value)} />
      <button type="submit" disabled={name.trim() === ''}>
        Watch as a guest
      </button>
    </form>
  );
}
