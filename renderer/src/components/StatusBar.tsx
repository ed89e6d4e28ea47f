// One truthful state: the status bar says what the overlay says. With a session tab in
// front, its link is what matters (a stream reconnecting while the catalog's
// connection is fine is "Reconnecting", not a green "Connected"); the server is labelled
// as a server, and the person as the person.
import type { ClientState, SessionView } from '../../../shared/core/index.js';

const LABEL = { online: 'Connected', connecting: 'Connecting…', offline: 'Offline' } as const;

/** What the front session's link means for the status bar; null: the client's own state says it. */
function sessionState(view: SessionView | null, name: string): { label: string; kind: 'online' | 'connecting' | 'offline' } | null {
  if (!view) return null;
  if (view.status === 'reconnecting' || view.status === 'resuming') return { label: `Reconnecting ${name} — what you type is kept and will be sent`, kind: 'connecting' };
  if (view.status === 'ended' && view.watching) return { label: `No longer watching ${name}`, kind: 'offline' };
  if (view.status === 'ended') return { label: view.displacedAt !== null ? `${name} is open on another device` : `${name} ended`, kind: 'offline' };
  if (view.status === 'failed') return { label: view.kind === 'own' ? `${name} could not start` : `${name} could not be opened`, kind: 'offline' };
  return null;
}

export function StatusBar({
  state,
  session,
  size,
  onSignOut,
}: {
  state: ClientState;
  /** The session tab in front, if any. */
  session: { name: string; view: SessionView | null } | null;
  size: { cols: number; rows: number } | null;
  onSignOut: (() => void) | null;
}) {
  const signedIn = state.user !== null || state.status !== 'offline';
  const front = session ? sessionState(session.view, session.name) : null;
  const kind = front?.kind ?? (signedIn ? state.status : 'idle');
  const label = front?.label ?? (signedIn ? LABEL[state.status] : 'Not signed in');
  return (
    <footer className="status-bar">
      <span className={`connection ${kind}`} role="status" aria-live="polite" title={state.statusDetail}>
        <span className="dot" aria-hidden="true" />
        {label}
        {state.node && !front ? ` to server ${state.node}` : ''}
      </span>
      {size && (
        <span className="term-size" aria-label="Terminal size" title="The terminal’s size: columns × rows">
          {size.cols}×{size.rows}
        </span>
      )}
      <span className="spacer" />
      {state.user && (
        <span className="user" title={`Signed in as ${state.user.name}`}>
          {state.user.displayName}
        </span>
      )}
      {onSignOut && (
        <button className="sign-out" onClick={onSignOut}>
          Sign out
        </button>
      )}
    </footer>
  );
}
