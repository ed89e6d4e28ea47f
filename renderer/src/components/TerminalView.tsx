// One session's terminal: xterm.js fitted to its pane. Output is acknowledged to the
// host only after xterm has parsed it (its write callback), which is what makes a
// slow screen hold a fast app back. While the link is down the last screen stays,
// dimmed, with the time the session is held and a way to retry at once; typing goes
// on into the queue and is applied once when the session is back.
import { useEffect, useRef, useState } from 'react';
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import type { SessionView } from '../../../shared/core/index.js';
import type { SessionTab } from '../App.js';

function useView(tab: SessionTab): SessionView {
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

export function TerminalView({ tab, visible, onSize }: { tab: SessionTab; visible: boolean; onSize: ((size: { cols: number; rows: number }) => void) | undefined }) {
  const host = useRef<HTMLDivElement>(null);
  const fitRef = useRef<(() => void) | null>(null);
  const onSizeRef = useRef(onSize);
  onSizeRef.current = onSize;
  const { stream } = tab;
  const view = useView(tab);
  const down = view.status === 'reconnecting' || view.status === 'resuming';
  const now = useNow(down);

  useEffect(() => {
    if (!host.current) return;
    const term = new Terminal({
      fontFamily: '"DejaVu Sans Mono", "Cascadia Mono", Menlo, monospace',
      fontSize: 14,
      cursorBlink: true,
      scrollback: 5000,
      theme: { background: '#0b0f14', foreground: '#e6e1cf' },
    });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(host.current);
    const refit = () => {
      if (!host.current || host.current.offsetParent === null) return;
      fit.fit();
      onSizeRef.current?.({ cols: term.cols, rows: term.rows });
    };
    fitRef.current = refit;
    const resized = term.onResize(({ cols, rows }) => stream.resize(cols, rows));
    const typed = term.onData((data) => stream.sendInput(data));
    stream.setSink({
      write: (data, done) => term.write(data, done),
      reset: (snapshot) => {
        term.reset();
        term.write(snapshot);
      },
    });
    const observer = new ResizeObserver(refit);
    observer.observe(host.current);
    refit();
    stream.resize(term.cols, term.rows);
    term.focus();
    return () => {
      observer.disconnect();
      resized.dispose();
      typed.dispose();
      term.dispose();
      fitRef.current = null;
    };
  }, [stream]);

  useEffect(() => {
    if (visible) fitRef.current?.();
  }, [visible]);

  return (
    <section className={`session${down ? ' down' : ''}`} hidden={!visible} aria-label={`${tab.name} session`} data-status={view.status}>
      {view.status === 'launching' && <p className="muted session-note">Starting {tab.name}…</p>}
      {view.status === 'failed' && (
        <p className="error session-note" role="alert">
          {tab.name} could not start: {view.reason}
        </p>
      )}
      <div className="terminal-host" ref={host} />
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
