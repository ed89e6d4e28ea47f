import { useMemo, useState, type ReactNode } from 'react';
import type { AppInfo, SessionSummary } from '../../../shared/protocol/index.js';
import { AppIcon } from '../icons.js';

export function Launcher({
  apps,
  error,
  onLaunch,
  running,
  onAttach,
  footer = null,
}: {
  apps: AppInfo[] | null;
  error: string | null;
  onLaunch: (app: AppInfo) => void;
  running: SessionSummary[];
  onAttach: (session: SessionSummary) => void;
  /** Below the apps: the person's own settings (two-step sign-in). */
  footer?: ReactNode;
}) {
  const [query, setQuery] = useState('');
  const shown = useMemo(() => {
    const q = query.trim().toLowerCase();
    return (apps ?? []).filter((app) => !q || app.name.toLowerCase().includes(q) || app.description.toLowerCase().includes(q) || app.id.includes(q));
  }, [apps, query]);

  return (
    <section className="launcher" aria-labelledby="launcher-title">
      <header>
        <h1 id="launcher-title">Your apps</h1>
        <label className="search">
          <span className="visually-hidden">Search apps</span>
          <input type="search" placeholder="Search apps" value={query} onChange={(e) => setQuery(e.target.value)} />
        </label>
      </header>
      {running.length > 0 && (
        <section className="running" aria-labelledby="running-title">
          <h2 id="running-title">Your running sessions</h2>
          <ul>
            {running.map((session) => (
              <li key={session.sessionId} className="running-session">
                <AppIcon name={apps?.find((a) => a.id === session.appId)?.icon ?? 'terminal'} />
                <span className="app-name">{session.appName}</span>
                <span className="muted">
                  started {new Date(session.startedAt).toLocaleTimeString()} · {session.attached ? 'open on another client' : 'waiting for you'}
                </span>
                <button onClick={() => onAttach(session)} aria-label={`Attach to ${session.appName} started ${new Date(session.startedAt).toLocaleTimeString()}`}>
                  {session.attached ? 'Move here' : 'Attach'}
                </button>
              </li>
            ))}
          </ul>
        </section>
      )}
      {error && <p className="error" role="alert">Could not load your apps: {error}</p>}
      {apps === null && !error && <p className="muted">Loading your apps…</p>}
      {apps !== null && apps.length === 0 && <p className="muted">You are not entitled to any apps yet. Ask your administrator.</p>}
      {apps !== null && apps.length > 0 && shown.length === 0 && <p className="muted">No app matches “{query}”.</p>}
      <ul className="app-grid" aria-label="Apps">
        {shown.map((app) => (
          <li key={app.id}>
            <button className="app-tile" onClick={() => onLaunch(app)} aria-label={`Launch ${app.name}`} data-app-id={app.id}>
              <AppIcon name={app.icon} />
              <span className="app-name">{app.name}</span>
              <span className="app-description">{app.description}</span>
            </button>
          </li>
        ))}
      </ul>
      {footer}
    </section>
  );
}
