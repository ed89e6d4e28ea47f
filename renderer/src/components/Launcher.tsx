import { useMemo, useState, type ReactNode } from 'react';
import { ConfirmDialog } from './ConfirmDialog.js';
import { SessionThumbnail } from './SessionThumbnail.js';
import { parseShareLink, type AppInfo, type SessionSummary } from '../../../shared/protocol/index.js';
import type { HoldfastClient } from '../../../shared/core/index.js';
import { AppIcon } from '../icons.js';

export function Launcher({
  apps,
  error,
  onLaunch,
  running,
  onAttach,
  onEnd,
  footer = null,
  notice = null,
  client = null,
  onJoin = null,
}: {
  apps: AppInfo[] | null;
  error: string | null;
  onLaunch: (app: AppInfo) => void;
  running: SessionSummary[];
  onAttach: (session: SessionSummary) => void;
  /** Ends a running session (after the person confirmed). */
  onEnd: (session: SessionSummary) => void;
  /** Below the apps: the person's own settings (two-step sign-in). */
  footer?: ReactNode;
  /** What just happened that the person should know (a session left running, a launch asked for). */
  notice?: string | null;
  /** Fetches each running session's thumbnail (absent: the app's icon stands in). */
  client?: HoldfastClient | null;
  /** Opens a session someone shared by link (absent: not offered, as in a kiosk). */
  onJoin?: ((link: string) => void) | null;
}) {
  const [query, setQuery] = useState('');
  const [ending, setEnding] = useState<SessionSummary | null>(null);
  // Last used first: the one just left is the one most likely wanted back.
  const sorted = useMemo(() => [...running].sort((a, b) => lastUsed(b) - lastUsed(a)), [running]);
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
          <input
            type="search"
            placeholder="Search apps"
            value={query}
            onChange={(e) => setQuery(e.target.value)}
            // Enter launches the app the search found, when it found exactly one.
            onKeyDown={(e) => {
              if (e.key === 'Enter' && query.trim() !== '' && shown.length === 1) onLaunch(shown[0]!);
            }}
          />
        </label>
      </header>
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      {sorted.length > 0 && (
        <section className="running" aria-labelledby="running-title">
          <h2 id="running-title">Your running sessions</h2>
          <ul>
            {sorted.map((session) => {
              const started = timeOfDay(session.startedAt);
              return (
                <li key={session.sessionId} className="running-session">
                  <SessionThumbnail client={client} sessionId={session.sessionId} fallback={<AppIcon name={apps?.find((a) => a.id === session.appId)?.icon ?? 'terminal'} />} />
                  <span className="running-about">
                    <span className="app-name">{session.appName}</span>
                    <span className="muted">
                      started {started}
                      {session.attached ? ' · in use now' : session.lastUsedAt !== undefined ? ` · last used ${timeOfDay(session.lastUsedAt)}` : ''}
                    </span>
                    <span className="muted">
                      {session.attached ? 'open on another device' : session.holdExpiresAt !== null ? `waiting for you until ${timeOfDay(session.holdExpiresAt)}` : 'waiting for you'}
                      {session.endsAt != null && (session.holdExpiresAt === null || session.endsAt < session.holdExpiresAt) && ` · ends at ${timeOfDay(session.endsAt)}`}
                    </span>
                  </span>
                  {/* "Open" whether or not it is open elsewhere (the words above say so): the visible label stays in the accessible name. */}
                  <button className="primary" onClick={() => onAttach(session)} aria-label={`Open ${session.appName} started ${started}`}>
                    Open
                  </button>
                  <button onClick={() => setEnding(session)} aria-label={`End ${session.appName} started ${started}`}>
                    End
                  </button>
                </li>
              );
            })}
          </ul>
        </section>
      )}
      {ending && (
        <ConfirmDialog
          title={`End ${ending.appName}?`}
          message={`${ending.appName}, started ${timeOfDay(ending.startedAt)}, stops${ending.attached ? ' on the device it is open on' : ''}. Unsaved work in it is lost.`}
          choices={[{ label: `End ${ending.appName}`, danger: true, onChoose: () => (setEnding(null), onEnd(ending)) }]}
          onCancel={() => setEnding(null)}
        />
      )}
      {error && <p className="error" role="alert">Could not load your apps: {error}</p>}
      {apps === null && !error && <p className="muted">Loading your apps…</p>}
      {apps !== null && apps.length === 0 && <p className="muted">You are not entitled to any apps yet. Ask your administrator.</p>}
      {apps !== null && apps.length > 0 && shown.length === 0 && <p className="muted">No app matches “{query}”.</p>}
      <ul className="app-grid" aria-label="Apps">
        {shown.map((app) => (
          <li key={app.id}>
            {/* Named "Launch NAME" by what it shows (not an aria-label that differs from it); the description describes it. */}
            <button className="app-tile" onClick={() => onLaunch(app)} aria-describedby={`app-description-${app.id}`} data-app-id={app.id}>
              <AppIcon name={app.icon} />
              <span className="visually-hidden">Launch </span>
              <span className="app-name">{app.name}</span>
              <span className="app-description" id={`app-description-${app.id}`} aria-hidden="true">
                {app.description}
              </span>
            </button>
          </li>
        ))}
      </ul>
      {onJoin && <JoinLink onJoin={onJoin} />}
      {footer}
    </section>
  );
}

const lastUsed = (session: SessionSummary) => session.lastUsedAt ?? session.startedAt;

const timeOfDay = (ms: number) => new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

/** Someone shared a session by link: paste it here (the desktop app has no address bar to open it in). */
function JoinLink({ onJoin }: { onJoin: (link: string) => void }) {
  const [link, setLink] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const submit = (event: React.FormEvent) => {
    event.preventDefault();
    if (!parseShareLink(link)) return setProblem('That is not a Holdfast share link. Paste the whole link you were sent.');
    setProblem(null);
    onJoin(link.trim());
    setLink('');
  };
  return (
    <form className="join-link" onSubmit={submit} aria-labelledby="join-title">
      <h2 id="join-title">Watch a shared session</h2>
      <label>
        Link someone shared with you{' '}
        <input value={link} onChange={(event) => setLink(event.target.value)} placeholder="https://…/#join=…" aria-invalid={problem !== null} aria-describedby={problem ? 'join-problem' : undefined} />
      </label>
      <button type="submit" disabled={link.trim() === ''}>
        Open
      </button>
      {problem && (
        <p id="join-problem" className="error" role="alert">
          {problem}
        </p>
      )}
    </form>
  );
}
