// One session's terminal: xterm.js fitted to its pane. Output is acknowledged to the
// host only after xterm has parsed it (its write callback), which is what makes a
// slow screen hold a fast app back. While the link is down the last screen stays,
// dimmed, with the time the session is held and a way to retry at once; typing goes
// on into the queue and is applied once when the session is back.
import { useEffect, useRef } from 'react';
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import type { SessionTab } from '../session-tab.js';
import { SessionFrame } from './SessionFrame.js';

export function TerminalView({ tab, visible, onSize }: { tab: SessionTab; visible: boolean; onSize: ((size: { cols: number; rows: number }) => void) | undefined }) {
  const host = useRef<HTMLDivElement>(null);
  const fitRef = useRef<(() => void) | null>(null);
  const onSizeRef = useRef(onSize);
  onSizeRef.current = onSize;
  const { stream } = tab;

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
    <SessionFrame tab={tab} visible={visible}>
      <div className="terminal-host" ref={host} />
    </SessionFrame>
  );
}
