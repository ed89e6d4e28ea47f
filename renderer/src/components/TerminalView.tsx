// One session's terminal: xterm.js fitted to its pane. Output is acknowledged to the
// host only after xterm has parsed it (its write callback), which is what makes a
// slow screen hold a fast app back instead of piling up output in memory.
import { useEffect, useRef, useState } from 'react';
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import type { ExitInfo } from '../../../shared/core/index.js';
import type { SessionTab } from '../App.js';

export function TerminalView({ tab, visible, onSize }: { tab: SessionTab; visible: boolean; onSize: ((size: { cols: number; rows: number }) => void) | undefined }) {
  const host = useRef<HTMLDivElement>(null);
  const [exit, setExit] = useState<ExitInfo | null>(null);
  const fitRef = useRef<(() => void) | null>(null);
  const onSizeRef = useRef(onSize);
  onSizeRef.current = onSize;
  const { stream } = tab;

  useEffect(() => {
    if (!stream || !host.current) return;
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
    stream.setConsumer((data, done) => term.write(data, done));
    const stop = stream.onExit(setExit);
    const observer = new ResizeObserver(refit);
    observer.observe(host.current);
    refit();
    stream.resize(term.cols, term.rows);
    term.focus();
    return () => {
      observer.disconnect();
      resized.dispose();
      typed.dispose();
      stop();
      term.dispose();
      fitRef.current = null;
    };
  }, [stream]);

  useEffect(() => {
    if (!visible) return;
    fitRef.current?.();
  }, [visible]);

  return (
    <section className="session" hidden={!visible} aria-label={`${tab.app.name} session`}>
      {!stream && !tab.error && <p className="muted session-note">Starting {tab.app.name}…</p>}
      {tab.error && (
        <p className="error session-note" role="alert">
          {tab.app.name} could not start: {tab.error}
        </p>
      )}
      <div className="terminal-host" ref={host} />
      {exit && (
        <div className="session-ended" role="status">
          <p>{exit.message}</p>
          {exit.exitCode !== 0 && <p className="muted">Exit code {exit.exitCode}</p>}
        </div>
      )}
    </section>
  );
}
