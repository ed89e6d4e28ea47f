// One session's terminal: xterm.js fitted to its pane. Output is acknowledged to the
// host only after xterm has parsed it (its write callback), which is what makes a
// slow screen hold a fast app back. While the link is down the last screen stays,
// dimmed, with the time the session is held and a way to retry at once; typing goes
// on into the queue and is applied once when the session is back. Copy and paste as
// xterm.js-based terminals do it (VS Code, Windows Terminal): Ctrl+Shift+C / Ctrl+Shift+V
// (Ctrl+C stays the app's interrupt), and a context menu; where the person chose it, a
// selection is copied as it is made (Windows Terminal's copyOnSelect). The app's window
// title (OSC 0/2) names its tab. On a slow link, what is typed shows before the app's
// echo comes back, predicted and underlined until it does (terminal-echo.ts), as far as
// the host says the app echoes (session.echo) and the person's setting allows.
import { useCallback, useEffect, useRef, useState } from 'react';
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import type { SessionTab } from '../session-tab.js';
import type { LocalEchoSetting } from './local-echo.js';
import { SessionFrame, useView } from './SessionFrame.js';
import { TerminalMenu } from './TerminalMenu.js';
import { terminalEcho, type TerminalEcho } from './terminal-echo.js';

/** Clipboard access the browser may refuse (no permission, not a secure context): the person is told, nothing breaks. */
async function readClipboard(): Promise<string | null> {
  try {
    return await navigator.clipboard.readText();
  } catch {
    return null;
  }
}

/**
 * Writes to the clipboard in order, the newest text last: a drag changes the selection
 * many times, and the clipboard must end with what is selected when it stops. Refusals
 * are quiet (Copy in the context menu still says why).
 */
function clipboardWriter(): (text: string) => void {
  let writing = false;
  let next: string | null = null;
  const flush = () => {
    if (writing || next === null) return;
    const text = next;
    next = null;
    writing = true;
    navigator.clipboard
      .writeText(text)
      .catch(() => {})
      .finally(() => {
        writing = false;
        flush();
      });
  };
  return (text) => {
    next = text;
    flush();
  };
}

export function TerminalView({
  tab,
  visible,
  onSize,
  escapeKeys,
  copyOnSelect,
  localEcho,
}: {
  tab: SessionTab;
  visible: boolean;
  onSize: ((size: { cols: number; rows: number }) => void) | undefined;
  /** The keys that leave the app for the tabs, for the pane's hint. */
  escapeKeys: readonly string[];
  /** Copy a selection to the clipboard as it is made. */
  copyOnSelect: boolean;
  /** Show keystrokes before the app echoes them (predictive local echo). */
  localEcho: LocalEchoSetting;
}) {
  const host = useRef<HTMLDivElement>(null);
  const fitRef = useRef<(() => void) | null>(null);
  const onSizeRef = useRef(onSize);
  onSizeRef.current = onSize;
  const { stream } = tab;
  // Watching through a share link: the owner's size, and keys only where the link lets them type.
  const joined = tab.link !== undefined || tab.shadowOf !== undefined;
  const watching = useView(tab).watching;
  const termRef = useRef<Terminal | null>(null);
  const [menuAt, setMenuAt] = useState<{ x: number; y: number } | null>(null);
  const [clipboardNote, setClipboardNote] = useState<string | null>(null);
  const titledRef = useRef(tab.actions.titled);
  titledRef.current = tab.actions.titled;
  // Read at each selection, so turning it on or off applies to terminals already open.
  const copyOnSelectRef = useRef(copyOnSelect);
  copyOnSelectRef.current = copyOnSelect;
  const localEchoRef = useRef(localEcho);
  localEchoRef.current = localEcho;
  const echoRef = useRef<TerminalEcho | null>(null);

  const copy = useCallback(() => {
    const text = termRef.current?.getSelection() ?? '';
    if (text) navigator.clipboard.writeText(text).catch(() => setClipboardNote('The browser did not allow copying; select the text and use your browser’s Copy.'));
  }, []);
  const paste = useCallback(() => {
    void readClipboard().then((text) => {
      if (text === null) setClipboardNote('The browser did not allow pasting here: allow clipboard access for this site, or use your browser’s Paste.');
      else if (text) termRef.current?.paste(text);
      termRef.current?.focus();
    });
  }, []);

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
    termRef.current = term;
    // Ctrl+Shift+C / Ctrl+Shift+V copy and paste; everything else (Ctrl+C included) goes to the app.
    term.attachCustomKeyEventHandler((event) => {
      if (event.type !== 'keydown' || !event.ctrlKey || !event.shiftKey || event.altKey) return true;
      const key = event.key.toLowerCase();
      if (key === 'c') copy();
      else if (key === 'v') paste();
      else return true;
      event.preventDefault();
      return false;
    });
    const titled = term.onTitleChange((title) => titledRef.current(title));
    const writeClipboard = clipboardWriter();
    const selected = term.onSelectionChange(() => {
      if (!copyOnSelectRef.current) return;
      const text = term.getSelection();
      if (text) writeClipboard(text);
    });
    if (joined) term.options.disableStdin = true;
    const refit = () => {
      if (!host.current || host.current.offsetParent === null || joined) return;
      fit.fit();
      onSizeRef.current?.({ cols: term.cols, rows: term.rows });
    };
    fitRef.current = refit;
    // Predictions only for one's own session: the host tells its owner how keys come back, not a watcher.
    let sent = 0;
    const echo = joined ? null : terminalEcho(term, { applied: () => sent - stream.view.pendingInputs, setting: localEchoRef.current, mode: stream.view.echo });
    echoRef.current = echo;
    const told = stream.subscribe((view) => echo?.setMode(view.echo));
    const resized = term.onResize(({ cols, rows }) => {
      echo?.reset();
      stream.resize(cols, rows);
    });
    const typed = term.onData((data) => {
      // Predicted first, so it is on screen before the rest of the page hears of the keystroke.
      // Inputs are counted as the stream numbers them (a paste past 16 KiB is several, counted as one: predictions then only wait longer).
      echo?.typed(data, sent + 1);
      if (stream.sendInput(data)) sent += 1;
      else echo?.reset();
    });
    stream.setSink({
      write: (data, done) =>
        term.write(data, () => {
          done();
          echo?.parsed();
        }),
      reset: (snapshot) => {
        term.reset();
        echo?.reset();
        term.write(snapshot, () => echo?.parsed());
      },
    });
    const observer = new ResizeObserver(refit);
    observer.observe(host.current);
    refit();
    stream.resize(term.cols, term.rows);
    term.focus();
    return () => {
      observer.disconnect();
      told();
      echo?.dispose();
      echoRef.current = null;
      resized.dispose();
      typed.dispose();
      titled.dispose();
      selected.dispose();
      termRef.current = null;
      term.dispose();
      fitRef.current = null;
    };
  }, [stream, copy, paste, joined]);

  useEffect(() => {
    const term = termRef.current;
    if (!term || !watching) return;
    if (term.cols !== watching.cols || term.rows !== watching.rows) term.resize(watching.cols, watching.rows);
    term.options.disableStdin = watching.mode !== 'type';
    onSizeRef.current?.({ cols: watching.cols, rows: watching.rows });
  }, [watching]);

  useEffect(() => {
    if (visible) fitRef.current?.();
  }, [visible]);

  useEffect(() => echoRef.current?.setSetting(localEcho), [localEcho]);

  const closeMenu = useCallback(() => {
    setMenuAt(null);
    termRef.current?.focus();
  }, []);

  return (
    <SessionFrame tab={tab} visible={visible} escapeKeys={escapeKeys}>
      <div
        className="terminal-host"
        ref={host}
        onContextMenu={(event) => {
          event.preventDefault();
          setMenuAt({ x: event.clientX, y: event.clientY });
        }}
        onKeyDown={(event) => {
          // The Menu key (or Shift+F10) opens the same menu, at the cursor.
          if (event.key === 'ContextMenu' || (event.key === 'F10' && event.shiftKey)) {
            event.preventDefault();
            const box = host.current!.getBoundingClientRect();
            setMenuAt({ x: box.left + 20, y: box.top + 20 });
          }
        }}
      />
      {menuAt && (
        <TerminalMenu
          at={menuAt}
          onClose={closeMenu}
          items={[
            { label: 'Copy', shortcut: 'Ctrl+Shift+C', disabled: !termRef.current?.hasSelection(), run: copy },
            { label: 'Paste', shortcut: 'Ctrl+Shift+V', run: paste },
            { label: 'Select all', run: () => termRef.current?.selectAll() },
          ]}
        />
      )}
      {clipboardNote && (
        <p className="clipboard-note" role="status">
          {clipboardNote}{' '}
          <button className="quiet" onClick={() => setClipboardNote(null)}>
            Dismiss
          </button>
        </p>
      )}
    </SessionFrame>
  );
}
