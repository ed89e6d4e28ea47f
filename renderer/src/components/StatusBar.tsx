import type { ClientState } from '../../../shared/core/index.js';

const LABEL = { online: 'Connected', connecting: 'Connecting…', offline: 'Offline' } as const;

export function StatusBar({ state, size, onSignOut }: { state: ClientState; size: { cols: number; rows: number } | null; onSignOut: (() => void) | null }) {
  return (
    <footer className="status-bar">
      <span className={`connection ${state.user || state.status !== 'offline' ? state.status : 'idle'}`} role="status" aria-live="polite" title={state.statusDetail}>
        <span className="dot" aria-hidden="true" />
        {state.user || state.status !== 'offline' ? LABEL[state.status] : 'Not signed in'}
        {state.node ? ` · ${state.node}` : ''}
      </span>
      {size && (
        <span className="term-size" aria-label="Terminal size">
          {size.cols}×{size.rows}
        </span>
      )}
      <span className="spacer" />
      {state.user && <span className="user">{state.user.displayName}</span>}
      {onSignOut && (
        <button className="sign-out" onClick={onSignOut}>
          Sign out
        </button>
      )}
    </footer>
  );
}
