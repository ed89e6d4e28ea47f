// The administrators' page: the cluster's nodes and sessions, live (polled every
// second), recent failovers, divergences and moves; and the actions an operator needs
// — drain or undrain a node, move a session's primary, end a session; and the recorded
// sessions, with a player (RecordingsSection).
import { useCallback, useEffect, useMemo, useState } from 'react';
import type { ClusterStatus, NodeStatus, SessionStatus } from '../../../shared/protocol/index.js';
import type { HoldfastClient } from '../../../shared/core/index.js';
import { AdminApi } from '../admin-api.js';
import { ConfirmDialog } from './ConfirmDialog.js';
import { RecordingsSection } from './RecordingsSection.js';

/** An action that asks first: what it is called, what it does to people, and how to do it. */
interface Pending {
  title: string;
  message: string;
  label: string;
  run: () => void;
}

const POLL_MS = 1000;

const time = (at: number) => new Date(at).toLocaleTimeString();
const clock = (at: number) => new Date(at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
const short = (id: string) => id.slice(0, 8);

/** How long a session has had no input, as an administrator reads it at a glance. */
export function idleFor(ms: number): string {
  const minutes = Math.floor(Math.max(0, ms) / 60_000);
  if (minutes < 1) return 'under a minute';
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}

function nodeState(node: NodeStatus): string {
  if (node.draining) {
    const drain = node.drain;
    if (!drain) return 'draining';
    if (drain.finishedAt === null) return `draining (${drain.moved} moved)`;
    return `drained: ${drain.moved} moved${drain.staying.length > 0 ? `, ${drain.staying.length} staying` : ''}`;
  }
  return node.accepting ? 'accepting' : 'no lease';
}

/** `onShadow`: opens a person's session in a tab of its own, once they allow it (shadowing). */
export function AdminView({ client, visible, onShadow }: { client: HoldfastClient; visible: boolean; onShadow?: (sessionId: string, person: string, appName: string, control: boolean) => void }) {
  const api = useMemo(() => new AdminApi(client), [client]);
  const [status, setStatus] = useState<ClusterStatus | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState<Set<string>>(new Set());
  const [asking, setAsking] = useState<Pending | null>(null);

  const refresh = useCallback(() => api.status().then(
    (next) => {
      setStatus(next);
      setError(null);
    },
    (e: Error) => setError(e.message),
  ), [api]);

  useEffect(() => {
    if (!visible) return;
    void refresh();
    const timer = setInterval(() => void refresh(), POLL_MS);
    return () => clearInterval(timer);
  }, [visible, refresh]);

  /** Runs an action, marking `key` busy, and says how it went. */
  const act = async (key: string, what: string, action: () => Promise<unknown>) => {
    setBusy((b) => new Set(b).add(key));
    setNotice(null);
    try {
      await action();
      setNotice(what);
      setError(null);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy((b) => {
        const next = new Set(b);
        next.delete(key);
        return next;
      });
      void refresh();
    }
  };

  return (
    <section className="admin" aria-labelledby="admin-title" hidden={!visible}>
      {asking && (
        <ConfirmDialog
          title={asking.title}
          message={asking.message}
          choices={[{ label: asking.label, danger: true, onChoose: () => (setAsking(null), asking.run()) }]}
          onCancel={() => setAsking(null)}
        />
      )}
      <header>
        <h1 id="admin-title">Cluster</h1>
        <span className="muted">{status ? `as seen from ${status.node} · updated ${new Date().toLocaleTimeString()}` : 'loading…'}</span>
      </header>
      <p className="error" role="alert">{error ?? ''}</p>
      <p className="admin-notice" role="status">{notice ?? ''}</p>
      {status && (
        <>
          <h2 id="nodes-title">Nodes ({status.nodes.length})</h2>
          <table className="admin-table" aria-labelledby="nodes-title">
            <thead>
              <tr>
                <th scope="col">Node</th>
                <th scope="col">Address</th>
                <th scope="col">Version</th>
                <th scope="col">Load</th>
                <th scope="col">Lease</th>
                <th scope="col">State</th>
                <th scope="col">Failovers</th>
                <th scope="col">Divergences</th>
                <th scope="col"><span className="visually-hidden">Actions</span></th>
              </tr>
            </thead>
            <tbody>
              {status.nodes.map((node) => (
                <tr key={node.name} data-node={node.name}>
                  <th scope="row">{node.name}</th>
                  <td data-label="Address">{node.url}</td>
                  <td data-label="Version">{node.version ?? '?'}</td>
                  <td data-label="Load" className="num">{node.load}</td>
                  <td data-label="Lease" className="mono" title={node.leaseId}>{node.leaseId ? node.leaseId.slice(-8) : '—'}</td>
                  <td data-label="State" className={node.draining ? 'warn' : node.accepting ? 'good' : 'bad'}>{nodeState(node)}</td>
                  <td data-label="Failovers" className="num">{node.counters?.failovers ?? '?'}</td>
                  <td data-label="Divergences" className="num">{node.counters?.divergences ?? '?'}</td>
                  <td>
                    {node.draining ? (
                      <button disabled={busy.has(node.name)} onClick={() => void act(node.name, `${node.name} takes sessions again.`, () => api.undrain(node.name))}>
                        Undrain {node.name}
                      </button>
                    ) : (
                      <button
                        disabled={busy.has(node.name)}
                        onClick={() =>
                          setAsking({
                            title: `Drain ${node.name}?`,
                            message: `${node.name} takes no new sessions, and its ${node.load === 1 ? 'session moves' : 'sessions move'} to other nodes (a session with no standby stays until it ends). People notice a pause of about a second.`,
                            label: `Drain ${node.name}`,
                            run: () => void act(node.name, `${node.name} is draining: its sessions move to their standbys.`, () => api.drain(node.name)),
                          })
                        }
                      >
                        Drain {node.name}
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>

          <h2 id="sessions-title">Sessions ({status.sessions.length})</h2>
          <table className="admin-table" aria-labelledby="sessions-title">
            <thead>
              <tr>
                <th scope="col">Session</th>
                <th scope="col">Person</th>
                <th scope="col">App</th>
                <th scope="col">Primary</th>
                <th scope="col">Standbys (lag)</th>
                <th scope="col">Epoch</th>
                <th scope="col">Started</th>
                <th scope="col">Idle for</th>
                <th scope="col">Client</th>
                <th scope="col">State</th>
                <th scope="col"><span className="visually-hidden">Actions</span></th>
              </tr>
            </thead>
            <tbody>
              {status.sessions.length === 0 && (
                <tr>
                  <td colSpan={11} className="muted">No sessions are running.</td>
                </tr>
              )}
              {status.sessions.map((session) => (
                <SessionRow key={session.id} session={session} nodes={status.nodes} busy={busy.has(session.id)} act={act} api={api} ask={setAsking} onShadow={onShadow} />
              ))}
            </tbody>
          </table>

          {(status.apps ?? []).length > 0 && (
            <>
              <h2 id="apps-title">Apps whose standbys diverged</h2>
              <p className="muted">
                Lockstep keeps a session only while its replicas stay in step. An app listed here did not; a session that diverged three times runs without a standby and would be lost with its server. Set <code>failover: restart</code> for it in the catalog so a failover restarts it with its files.
              </p>
              <table className="admin-table" aria-labelledby="apps-title">
                <thead>
                  <tr>
                    <th scope="col">App</th>
                    <th scope="col">Failover</th>
                    <th scope="col">Divergences</th>
                    <th scope="col">Sessions</th>
                    <th scope="col">Left unprotected</th>
                    <th scope="col">Last</th>
                  </tr>
                </thead>
                <tbody>
                  {status.apps!.map((app) => (
                    <tr key={app.app} data-app={app.app}>
                      <th scope="row">{app.app}</th>
                      <td className={app.failover === 'lockstep' ? 'warn' : undefined}>{app.failover ?? 'not in the catalog'}</td>
                      <td className="num">{app.divergences}</td>
                      <td className="num">{app.sessions}</td>
                      <td className={app.unprotected > 0 ? 'num bad' : 'num'}>{app.unprotected}</td>
                      <td>
                        <time dateTime={new Date(app.lastAt).toISOString()}>{time(app.lastAt)}</time> — {app.lastDetail}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          )}

          <h2 id="events-title">Recent events</h2>
          {status.events.length === 0 ? (
            <p className="muted">No failovers, divergences or moves yet.</p>
          ) : (
            <ol className="admin-events" aria-labelledby="events-title">
              {status.events.slice(0, 20).map((event, i) => (
                <li key={`${event.at}-${i}`} className={`event-${event.kind}`}>
                  <time dateTime={new Date(event.at).toISOString()}>{time(event.at)}</time> <strong>{event.kind}</strong> on {event.node}
                  {event.app ? ` · ${event.app}` : ''}
                  {event.session ? ` (${short(event.session)})` : ''} — {event.detail}
                </li>
              ))}
            </ol>
          )}
        </>
      )}
      <RecordingsSection api={api} visible={visible} />
    </section>
  );
}

function SessionRow({
  session,
  nodes,
  busy,
  act,
  api,
  ask,
  onShadow,
}: {
  session: SessionStatus;
  nodes: NodeStatus[];
  busy: boolean;
  act: (key: string, what: string, action: () => Promise<unknown>) => Promise<void>;
  api: AdminApi;
  ask: (pending: Pending) => void;
  onShadow?: ((sessionId: string, person: string, appName: string, control: boolean) => void) | undefined;
}) {
  const targets = nodes.filter((n) => n.name !== session.primary && n.accepting);
  const [to, setTo] = useState('');
  const target = targets.some((n) => n.name === to) ? to : (session.standbys.find((s) => targets.some((n) => n.name === s)) ?? targets[0]?.name ?? '');
  const label = `${session.app} of ${session.user} (${short(session.id)})`;
  return (
    <tr data-session={session.id}>
      <th scope="row" className="mono">{short(session.id)}</th>
      <td data-label="Person">{session.user}</td>
      <td data-label="App">{session.app}</td>
      <td data-label="Primary" className="primary">{session.primary}</td>
      <td data-label="Standbys (lag)">
        {session.standbys.length === 0 ? '—' : session.standbys.map((s) => `${s} (${session.lag[s] ?? '?'})`).join(', ')}
        {session.protection && session.protection !== 'protected' && (
          <span className={`protection ${session.protection}`} title={session.protection === 'unprotected' ? 'No standby: if its server stops, this session is lost.' : 'A new standby is replaying the session: until it joins, the session is not protected.'}>
            {session.protection === 'unprotected' ? ' unprotected' : ' catching up'}
          </span>
        )}
      </td>
      <td data-label="Epoch" className="num">{session.epoch}</td>
      <td data-label="Started">{session.startedAt !== undefined ? clock(session.startedAt) : '—'}</td>
      <td data-label="Idle for" className="num">{session.lastInputAt !== undefined ? idleFor(Date.now() - session.lastInputAt) : '—'}</td>
      <td data-label="Client" className="mono">{session.clientAddress ?? '—'}</td>
      <td data-label="State">{session.attached ? 'open' : session.holdExpiresAt ? `waiting until ${clock(session.holdExpiresAt)}` : 'waiting'}</td>
      <td className="admin-actions">
        {targets.length === 0 ? (
          // Say why there is no Move, rather than show a control that cannot work.
          <span className="muted">{nodes.length === 1 ? 'No other node to move to' : 'No other node takes sessions now'}</span>
        ) : (
          <>
            <label>
              <span className="visually-hidden">Move {label} to</span>
              <select value={target} onChange={(e) => setTo(e.target.value)} disabled={busy}>
                {targets.map((n) => (
                  <option key={n.name} value={n.name}>
                    {n.name}
                  </option>
                ))}
              </select>
            </label>
            <button disabled={busy || !target} aria-label={`Move ${label}`} onClick={() => void act(session.id, `${label} moved to ${target}.`, () => api.move(session.id, target))}>
              Move
            </button>
          </>
        )}
        {onShadow && (
          <>
            <button disabled={busy} aria-label={`View ${label}`} title={`Asks ${session.user} first, where their session policy says so`} onClick={() => onShadow(session.id, session.user, session.app, false)}>
              View
            </button>
            <button disabled={busy} aria-label={`Control ${label}`} title={`View and type; asks ${session.user} first, where their session policy says so`} onClick={() => onShadow(session.id, session.user, session.app, true)}>
              Control
            </button>
          </>
        )}
        <button
          disabled={busy}
          aria-label={`End ${label}`}
          onClick={() =>
            ask({
              title: `End ${session.app} of ${session.user}?`,
              message: `${session.user} loses what is not saved in it, and is told an administrator ended it.`,
              label: `End ${session.app}`,
              run: () => void act(session.id, `${label} ended.`, () => api.end(session.id)),
            })
          }
        >
          End
        </button>
      </td>
    </tr>
  );
}
