// The Files panel of a session's tab (issue 23, downloads): the session's home folder —
// name, size, modified; folders open, the path above leads back up; sorted by name, size
// or modified — with Download per file. A download shows its bytes, speed and time
// left, can be cancelled, resumes after a dropped network (resumable-download.ts), and
// ends as the browser's own download, in words. Where the administrator turned
// downloads off for the app, the panel says so and offers no Download.
//
// A modal <dialog> drawn as a sheet over the right of the app (the app is not resized),
// in the body (not in the tab's tools, whose styles would reach it): Escape closes it and
// focus goes back to the Files button. It stays mounted while closed, so a download goes
// on behind it (beside the button, how far it is).
import { useCallback, useEffect, useId, useMemo, useRef, useState } from 'react';
import { createPortal } from 'react-dom';
import type { HoldfastClient } from '../../../shared/core/index.js';
import { FilesErrorCode, type FileEntry } from '../../../shared/protocol/index.js';
import { FilesApi, FilesApiError, childPath, formatBytes, formatSecondsLeft, saveBlob } from '../files-api.js';
import { DownloadFailed, DownloadRefused, isAbort, type DownloadProgress } from '../resumable-download.js';

type SortKey = 'name' | 'size' | 'modified';
interface Sort {
  key: SortKey;
  descending: boolean;
}

interface Transfer {
  path: string;
  name: string;
  progress: DownloadProgress | null;
  controller: AbortController;
}

/** What the last finished download came to, in words. */
interface Outcome {
  text: string;
  failed: boolean;
}

const SORT_LABELS: Record<SortKey, string> = { name: 'Name', size: 'Size', modified: 'Modified' };
const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

/** Folders first, then by the chosen column (name breaks ties). */
function sortEntries(entries: readonly FileEntry[], sort: Sort): FileEntry[] {
  const direction = sort.descending ? -1 : 1;
  return [...entries].sort((a, b) => {
    const folders = Number(b.kind === 'folder') - Number(a.kind === 'folder');
    if (folders !== 0) return folders;
    const byName = collator.compare(a.name, b.name);
    const by = sort.key === 'size' ? a.size - b.size : sort.key === 'modified' ? a.modifiedAt - b.modifiedAt : byName;
    return (by || byName) * direction;
  });
}

/** A modification time for people and for <time> (a time no Date can hold shows as nothing). */
function When({ ms }: { ms: number }) {
  const date = new Date(ms);
  if (Number.isNaN(date.getTime())) return null;
  return <time dateTime={date.toISOString()}>{date.toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' })}</time>;
}

/** "1.2 MB of 3.0 MB · 2.4 MB/s · 1 s left", or why it waits. */
function progressWords(progress: DownloadProgress | null): string {
  if (!progress) return 'Starting…';
  const { received, total, bytesPerSecond, secondsLeft, retrying } = progress;
  if (retrying) return `${retrying} Resuming from ${formatBytes(received)}…`;
  const parts = [total === null ? formatBytes(received) : `${formatBytes(received)} of ${formatBytes(total)}`];
  if (bytesPerSecond) parts.push(`${formatBytes(bytesPerSecond)}/s`);
  if (secondsLeft !== null) parts.push(`${formatSecondsLeft(secondsLeft)} left`);
  return parts.join(' · ');
}

const percent = (progress: DownloadProgress | null) => (progress?.total ? Math.floor((progress.received / progress.total) * 100) : 0);

function KindIcon({ kind }: { kind: FileEntry['kind'] }) {
  return (
    <svg className="files-icon" viewBox="0 0 16 16" aria-hidden="true" focusable="false">
      {kind === 'folder' ? <path d="M1.5 3.5h5l1.5 1.5h6.5v8h-13z" /> : <path d="M3.5 1.5h6l3 3v10h-9z M9.5 1.5v3h3" />}
    </svg>
  );
}

/** The Files button of a session's tools, and the panel it opens. */
export function FilesPanel({ client, sessionId, appName }: { client: HoldfastClient; sessionId: string; appName: string }) {
  const api = useMemo(() => new FilesApi(client, sessionId), [client, sessionId]);
  const ids = useId();
  const dialog = useRef<HTMLDialogElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  const here = useRef<HTMLSpanElement>(null);
  const [open, setOpen] = useState(false);
  const [path, setPath] = useState('');
  const [entries, setEntries] = useState<FileEntry[] | null>(null);
  const [truncated, setTruncated] = useState(false);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  /** The administrator's words, when downloads are off for this app. */
  const [off, setOff] = useState<string | null>(null);
  const [sort, setSort] = useState<Sort>({ key: 'name', descending: false });
  const [reloads, setReloads] = useState(0);
  const [transfers, setTransfers] = useState<Transfer[]>([]);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  /** A download ended while the panel was closed: the words show beside the button until it opens. */
  const [unseen, setUnseen] = useState(false);
  const opened = useRef(false);
  useEffect(() => {
    opened.current = open;
  }, [open]);
  const live = useRef(new Set<AbortController>());
  const moved = useRef(false);

  // Shown and closed with the state; a closed dialog stays mounted (downloads go on).
  useEffect(() => {
    const element = dialog.current;
    if (!element) return;
    if (open && !element.open) element.showModal();
    if (!open && element.open) element.close();
  }, [open]);

  // Downloads end with the panel (the session is over, or its tab closed).
  useEffect(() => {
    const running = live.current;
    return () => {
      for (const controller of running) controller.abort();
      running.clear();
    };
  }, []);

  // The folder, each time the panel opens and whenever it changes.
  useEffect(() => {
    if (!open) return;
    const controller = new AbortController();
    setLoading(true);
    setError(null);
    api.list(path, controller.signal).then(
      (listing) => {
        setEntries(listing.entries);
        setTruncated(listing.truncated);
        setOff(listing.downloadOff ?? null);
        setLoading(false);
      },
      (failure: unknown) => {
        if (controller.signal.aborted) return;
        setLoading(false);
        setEntries(null);
        if (failure instanceof FilesApiError && failure.downloadOff) setOff(failure.message);
        else setError(failure instanceof Error ? failure.message : String(failure));
      },
    );
    return () => controller.abort();
  }, [api, open, path, reloads]);

  // After moving to another folder, focus goes to where the path says it is now.
  useEffect(() => {
    if (moved.current && entries !== null) {
      moved.current = false;
      here.current?.focus();
    }
  }, [entries]);

  const go = (to: string) => {
    moved.current = true;
    setPath(to);
  };

  const close = useCallback(() => {
    setOpen(false);
    button.current?.focus();
  }, []);

  const tell = (text: string, failed = false) => {
    setOutcome({ text, failed });
    setUnseen(!opened.current);
  };

  const download = (entry: FileEntry) => {
    const target = childPath(path, entry.name);
    if (transfers.some((t) => t.path === target)) return;
    const controller = new AbortController();
    live.current.add(controller);
    const update = (progress: DownloadProgress) => setTransfers((all) => all.map((t) => (t.controller === controller ? { ...t, progress } : t)));
    setTransfers((all) => [...all, { path: target, name: entry.name, progress: null, controller }]);
    setOutcome(null);
    api.download(target, { signal: controller.signal, onProgress: update }).then(
      (result) => {
        saveBlob(result.blob, entry.name);
        tell(`${entry.name} is downloaded (${formatBytes(result.size)}).`);
      },
      (failure: unknown) => {
        if (isAbort(failure)) return tell(`${entry.name} was not downloaded: you cancelled it.`);
        if (failure instanceof DownloadRefused && failure.code === FilesErrorCode.downloadOff) setOff(failure.message);
        const why = failure instanceof Error ? failure.message : String(failure);
        const next = failure instanceof DownloadFailed ? ' Check the connection, then download it again.' : '';
        tell(`${entry.name} could not be downloaded. ${why}${next}`, true);
      },
    ).finally(() => {
      live.current.delete(controller);
      setTransfers((all) => all.filter((t) => t.controller !== controller));
    });
  };

  const sorted = useMemo(() => (entries ? sortEntries(entries, sort) : []), [entries, sort]);
  const crumbs = path ? path.split('/') : [];
  const heading = `${ids}-title`;
  const behind = !open && transfers.length > 0;

  const sortButton = (key: SortKey) => (
    <button className="files-sort" onClick={() => setSort((s) => ({ key, descending: s.key === key ? !s.descending : key !== 'name' }))}>
      {SORT_LABELS[key]}
      <span aria-hidden="true" className="files-sort-mark">
        {sort.key === key ? (sort.descending ? ' ▼' : ' ▲') : ''}
      </span>
    </button>
  );
  const ariaSort = (key: SortKey) => (sort.key === key ? (sort.descending ? 'descending' : 'ascending') : undefined);

  return (
    <>
      {behind && <span className="muted hint">Downloading {transfers.length === 1 ? `${transfers[0]!.name} ${percent(transfers[0]!.progress)}%` : `${transfers.length} files`}</span>}
      {!open && !behind && unseen && outcome && <span className={outcome.failed ? 'hint error' : 'muted hint'}>{outcome.text}</span>}
      <button ref={button} aria-haspopup="dialog" onClick={() => (setOpen(true), setUnseen(false))}>
        Files
      </button>
      {createPortal(
        <dialog ref={dialog} className="files-panel" aria-labelledby={heading} onClose={() => open && close()}>
          <header className="files-head">
            <h2 id={heading}>Files in {appName}</h2>
            <button onClick={() => setReloads((n) => n + 1)}>
              Refresh
            </button>
            <button onClick={close}>Close</button>
          </header>
          <nav aria-label="Folder path" className="files-crumbs">
            <ol>
              <li>
                {crumbs.length === 0 ? (
                  <span aria-current="location" tabIndex={-1} ref={here}>
                    Home
                  </span>
                ) : (
                  <button onClick={() => go('')}>Home</button>
                )}
              </li>
              {crumbs.map((name, index) => (
                <li key={crumbs.slice(0, index + 1).join('/')}>
                  {index === crumbs.length - 1 ? (
                    <span aria-current="location" tabIndex={-1} ref={here}>
                      {name}
                    </span>
                  ) : (
                    <button onClick={() => go(crumbs.slice(0, index + 1).join('/'))}>{name}</button>
                  )}
                </li>
              ))}
            </ol>
          </nav>
          {off && (
            <p className="files-off" role="status">
              {off} You can still work with your files inside {appName}.
            </p>
          )}
          {error && (
            <div className="files-error" role="alert">
              <p className="error">{error}</p>
              <button onClick={() => setReloads((n) => n + 1)}>Try again</button>
            </div>
          )}
          {entries && (
            <div className="files-list">
              <table className="files-table" aria-busy={loading || undefined}>
                <caption className="visually-hidden">
                  {crumbs.length ? `Folder ${crumbs.join(' / ')}` : 'Your home folder'}, sorted by {SORT_LABELS[sort.key].toLowerCase()}
                </caption>
                <thead>
                  <tr>
                    <th scope="col" aria-sort={ariaSort('name')}>
                      {sortButton('name')}
                    </th>
                    <th scope="col" className="number" aria-sort={ariaSort('size')}>
                      {sortButton('size')}
                    </th>
                    <th scope="col" aria-sort={ariaSort('modified')}>
                      {sortButton('modified')}
                    </th>
                    <th scope="col">
                      <span className="visually-hidden">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {sorted.map((entry) => {
                    const busy = transfers.some((t) => t.path === childPath(path, entry.name));
                    return (
                      <tr key={entry.name} data-kind={entry.kind}>
                        <th scope="row" className="files-name">
                          <KindIcon kind={entry.kind} />
                          {entry.kind === 'folder' ? (
                            <button className="files-open" onClick={() => go(childPath(path, entry.name))} aria-label={`Open folder ${entry.name}`}>
                              {entry.name}
                            </button>
                          ) : (
                            <span>
                              {entry.name}
                              {entry.kind === 'link' && <span className="muted"> (link)</span>}
                              {entry.kind === 'other' && <span className="muted"> (not a file)</span>}
                            </span>
                          )}
                        </th>
                        <td className="number">{entry.kind === 'folder' ? <span className="muted">Folder</span> : formatBytes(entry.size)}</td>
                        <td>
                          <When ms={entry.modifiedAt} />
                        </td>
                        <td className="files-actions">
                          {entry.kind === 'file' && !off && (
                            <button onClick={() => download(entry)} disabled={busy} aria-label={`${busy ? 'Downloading' : 'Download'} ${entry.name}`}>
                              {busy ? 'Downloading' : 'Download'}
                            </button>
                          )}
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
              {sorted.length === 0 && <p className="muted files-empty">This folder is empty.</p>}
              {truncated && <p className="muted files-empty">This folder holds more than can be shown here; only the first {sorted.length} are listed.</p>}
            </div>
          )}
          {loading && !entries && <p className="muted">Reading the folder…</p>}
          {transfers.length > 0 && (
            <ul className="files-transfers" aria-label="Downloads">
              {transfers.map((t) => (
                <li key={t.path} className="files-transfer">
                  <div className="files-transfer-words">
                    <strong>{t.name}</strong> <span className="muted">{progressWords(t.progress)}</span>
                  </div>
                  <progress max={t.progress?.total || 1} value={t.progress?.total ? t.progress.received : undefined} aria-label={`Downloading ${t.name}`} />
                  <button onClick={() => t.controller.abort()} aria-label={`Cancel download of ${t.name}`}>
                    Cancel
                  </button>
                </li>
              ))}
            </ul>
          )}
          <p className={outcome?.failed ? 'files-outcome error' : 'files-outcome'} role="status">
            {outcome?.text}
          </p>
        </dialog>,
        document.body,
      )}
    </>
  );
}
