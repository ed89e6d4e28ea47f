// What every session view shares, whatever it draws: the starting and failed notes,
// the reconnecting overlay over the dimmed last screen (with the time the session is
// held, inputs waiting to be sent, and a way to retry at once), and why it ended.
import { useEffect, useState, type ReactNode } from 'react';
import type { SessionView } from '../../../shared/core/index.js';
import type { SessionTab } from '../session-tab.js';

export function useView(tab: SessionTab): SessionView {
  const [view, setView] = useState(tab.stream.view);
  useEffect(() => tab.stream.subscribe(setView), [tab.stream]);
  return view;
}

function useNow(active: boolean): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [active]);
  return now;
}

const clock = (ms: number) => {
  const seconds = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
};

export function SessionFrame({ tab, visible, children }: { tab: SessionTab; visible: boolean; children: ReactNode }) {
  const { stream } = tab;
  const view = useView(tab);
  const down = view.status === 'reconnecting' || view.status === 'resuming';
  const now = useNow(down);
  return (
    <section className={`session${down ? ' down' : ''}`} hidden={!visible} aria-label={`${tab.name} session`} data-status={view.status}>
      {view.status === 'launching' && <p className="muted session-note">Starting {tab.name}…</p>}
      {view.status === 'failed' && (
        <p className="error session-note" role="alert">
          {tab.name} could not start: {view.reason}
        </p>
      )}
      {children}
      {down && (
        <div className="reconnecting" role="status" aria-live="polite">
          <p className="reconnecting-title">
            Reconnecting…{view.holdDeadline !== null && <> {clock(view.holdDeadline - now)} left</>}
          </p>
          <p className="muted">
            {view.status === 'resuming' ? `Trying now (attempt ${view.attempt})` : view.nextTryAt ? `Next try in ${clock(view.nextTryAt - now)}` : ''}
            {view.lastError ? ` · ${view.lastError}` : ''}
          </p>
          {view.pendingInputs > 0 && <p className="pending">{view.pendingInputs} pending input{view.pendingInputs === 1 ? '' : 's'} will be sent when the session is back</p>}
          <button onClick={() => stream.retryNow()} disabled={view.status === 'resuming'}>
            Reconnect now
          </button>
        </div>
      )}
      {view.status === 'ended' && (
        <div className="session-ended" role="status">
          <p>{view.reason}</p>
          {view.exitCode !== null && view.exitCode !== 0 && <p className="muted">Exit code {view.exitCode}</p>}
        </div>
      )}
    </section>
  );
}
