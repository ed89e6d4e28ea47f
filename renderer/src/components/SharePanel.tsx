// Sharing one's session (docs/protocol.md#sharing-a-session): a modal dialog to make a
// link — view only (the default: nobody types into your app unless you say so) or can
// type, and for how long — with the link to copy; the links that work now, each
// switchable between view only and can type, and revocable; and who is watching, each
// of whom can be sent away. Everything takes effect at once on the broker.
import { useEffect, useRef, useState } from 'react';
import type { SessionStream, SessionView } from '../../../shared/core/index.js';
import type { ShareMode } from '../../../shared/protocol/index.js';

const LENGTHS: Array<{ minutes: number; label: string }> = [
  { minutes: 15, label: '15 minutes' },
  { minutes: 60, label: '1 hour' },
  { minutes: 8 * 60, label: '8 hours' },
  { minutes: 24 * 60, label: '1 day' },
];

const modeWords = (mode: ShareMode) => (mode === 'type' ? 'Can type' : 'View only');
const until = (ms: number) => new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

/** The address someone opens to watch: this client's own page with the link in its fragment (never sent to a server in a request line). */
export function shareUrl(link: string): string {
  return `${location.origin}${location.pathname}#join=${link}`;
}

export function SharePanel({ stream, view, appName, onClose }: { stream: SessionStream; view: SessionView; appName: string; onClose: () => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [mode, setMode] = useState<ShareMode>('view');
  const [minutes, setMinutes] = useState(60);
  const [guests, setGuests] = useState(false);
  const [made, setMade] = useState<string | null>(null);
  const [copied, setCopied] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    const element = dialog.current;
    if (element && !element.open) element.showModal();
    return () => element?.close();
  }, []);

  const act = (work: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    work()
      .catch((e: Error) => setError(`${e.message} Try again.`))
      .finally(() => setBusy(false));
  };
  const create = () =>
    act(async () => {
      const reply = await stream.share(mode, minutes, guests);
      const link = reply.shares.find((share) => share.link)?.link;
      if (link) setMade(shareUrl(link));
      setCopied(false);
    });
  const copy = () => {
    if (!made) return;
    navigator.clipboard.writeText(made).then(
      () => setCopied(true),
      () => setError('The browser did not allow copying: select the link and copy it yourself.'),
    );
  };

  const sharing = view.sharing;
  const now = Date.now();
  const shares = (sharing?.shares ?? []).filter((share) => share.expiresAt > now);
  const watchers = sharing?.watchers ?? [];
  return (
    <dialog ref={dialog} className="share-panel" aria-labelledby="share-title" onCancel={(event) => (event.preventDefault(), onClose())}>
      <h2 id="share-title">Share {appName}</h2>
      <p className="muted">People you give the link to sign in and see {appName} as you do, live. Only you decide whether they can type.</p>
      <fieldset disabled={busy}>
        <legend>What can they do?</legend>
        <label>
          <input type="radio" name="share-mode" value="view" checked={mode === 'view'} onChange={() => setMode('view')} /> View only
        </label>
        <label>
          <input type="radio" name="share-mode" value="type" checked={mode === 'type'} onChange={() => setMode('type')} /> Can type
        </label>
      </fieldset>
      <label className="share-length">
        The link works for{' '}
        <select value={minutes} onChange={(event) => setMinutes(Number(event.target.value))} disabled={busy}>
          {LENGTHS.map((length) => (
            <option key={length.minutes} value={length.minutes}>
              {length.label}
            </option>
          ))}
        </select>
      </label>
      {view.sharing?.guestsAllowed && (
        <label className="share-guests">
          <input type="checkbox" checked={guests} onChange={(event) => setGuests(event.target.checked)} disabled={busy} /> Anyone with the link, without signing in (they give a name)
        </label>
      )}
      <div className="actions">
        <button className="primary" onClick={create} disabled={busy}>
          Create link
        </button>
      </div>
      {made && (
        <div className="share-made" role="status">
          <label>
            Link <input readOnly value={made} onFocus={(event) => event.target.select()} aria-describedby="share-made-hint" />
          </label>
          <button onClick={copy}>{copied ? 'Copied' : 'Copy link'}</button>
          <p id="share-made-hint" className="muted">
            Shown only now. Anyone {guests ? '' : 'signed in '}with this link can {mode === 'type' ? 'watch and type' : 'watch'} until {until(now + minutes * 60_000)}.
          </p>
        </div>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <h3>Links</h3>
      {shares.length === 0 ? (
        <p className="muted">No links work now.</p>
      ) : (
        <ul className="share-list">
          {shares.map((share) => (
            <li key={share.id}>
              <span>
                {modeWords(share.mode)}
                {share.guests ? ', guests too' : ''}, until {until(share.expiresAt)}
              </span>
              <button disabled={busy} onClick={() => act(() => stream.updateShare(share.id, share.mode === 'view' ? 'type' : 'view'))}>
                {share.mode === 'view' ? 'Let them type' : 'Make view only'}
              </button>
              <button className="danger" disabled={busy} onClick={() => act(() => stream.revokeShare(share.id))}>
                Revoke
              </button>
            </li>
          ))}
        </ul>
      )}
      <h3>
        Watching now ({watchers.length} of at most {sharing?.maxWatchers ?? '…'})
      </h3>
      {watchers.length === 0 ? (
        <p className="muted">Nobody.</p>
      ) : (
        <ul className="share-list">
          {watchers.map((watcher) => (
            <li key={watcher.id}>
              <span>
                {watcher.displayName} ({watcher.shadow ? 'administrator' : watcher.guest ? 'guest, not signed in' : watcher.user}), {watcher.mode === 'type' ? 'can type' : 'view only'}
              </span>
              <button className="danger" disabled={busy} onClick={() => act(() => stream.removeWatcher(watcher.id))}>
                Remove
              </button>
            </li>
          ))}
        </ul>
      )}
      <div className="actions">
        <button onClick={onClose}>Close</button>
      </div>
    </dialog>
  );
}
