// The Files panel of a session's tab (issue 23, downloads): the session's home folder —
// name, size, modified; folders open, the path above leads back up; sorted by name, size
// or modified — with Download per file, and files and folders selected (a box each,
// Space toggles; Select all) downloaded as one zip. A download shows its bytes, speed
// and time left, can be cancelled, resumes after a dropped network (resumable-download.ts;
// a zip starts over instead, as it is made anew each time), and ends as the browser's
// own download, in words. Where the administrator turned downloads off for the app, the
// panel says so and offers neither. The rows (FileRow.tsx), the toolbar (SelectionBar.tsx,
// where Upload will go) and the downloads (TransferList.tsx) are components of their own.
//
// A modal <dialog> drawn as a sheet over the right of the app (the app is not resized),
// in the body (not in the tab's tools, whose styles would reach it): Escape closes it and
// focus goes back to the Files button. It stays mounted while closed, so a download goes
// on behind it (beside the button, how far it is).
import { useCallback, useEffect, useId, useMemo, useRef, useState } from 'react';
import { createPortal } from 'react-dom';
import type { HoldfastClient } from '../../../shared/core/index.js';
import { FilesErrorCode, type FileEntry } from '../../../shared/protocol/index.js';
import { FilesApi, FilesApiError, childPath, formatBytes, saveBlob, zipFits, zipName } from '../files-api.js';
import { DownloadFailed, DownloadRefused, isAbort, type DownloadProgress, type DownloadResult } from '../resumable-download.js';
import { FileRow, selectable } from './FileRow.js';
import { SelectionBar } from './SelectionBar.js';
import { TransferList, percent, type Transfer } from './TransferList.js';
import { UploadButtons } from './UploadButtons.js';
import type { UploadQueue } from '../upload-queue.js';

type SortKey = 'name' | 'size' | 'modified';
interface Sort {
  key: SortKey;
  descending: boolean;
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

/** Why a download failed, and what to do next. */
function failureWords(failure: unknown, zip: boolean): string {
  const why = failure instanceof Error ? failure.message : String(failure);
  if (!(failure instanceof DownloadFailed)) return why;
  // A zip starts over whenever it is cut off (it cannot resume): this says it was, again and again.
  if (zip && /keeps changing/.test(why)) return 'It was cut off three times: a file in it kept changing while it was read, or the connection kept dropping. Download it again once the app has finished writing its files, and check the connection.';
  return `${why} Check the connection, then download it again.`;
}

/** The Files button of a session's tools, and the panel it opens. */
/** `uploads`: the tab's upload queue (its Upload buttons add to it; the listing follows what lands). */
export function FilesPanel({ client, sessionId, appName, uploads }: { client: HoldfastClient; sessionId: string; appName: string; uploads: UploadQueue | null }) {
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
  /** Names selected in the folder shown (for a zip); another folder starts with none. */
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
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

  // An upload that lands shows in the folder at once; the listing says whether uploads are allowed.
  const [uploadOff, setUploadOff] = useState<string | null>(null);
  useEffect(() => {
    let landed = uploads?.items.filter((item) => item.state === 'done').length ?? 0;
    return uploads?.subscribe(() => {
      const now = uploads.items.filter((item) => item.state === 'done').length;
      if (now > landed && opened.current) setReloads((n) => n + 1);
      landed = now;
      setUploadOff(uploads.off);
    });
  }, [uploads]);

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
        setSelected((now) => new Set(listing.entries.filter((entry) => now.has(entry.name) && selectable(entry)).map((entry) => entry.name)));
        setTruncated(listing.truncated);
        setOff(listing.downloadOff ?? null);
        uploads?.setOff(listing.uploadOff ?? null);
        setUploadOff(listing.uploadOff ?? null);
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
  }, [api, open, path, reloads, uploads]);

  // After moving to another folder, focus goes to where the path says it is now.
  useEffect(() => {
    if (moved.current && entries !== null) {
      moved.current = false;
      here.current?.focus();
    }
  }, [entries]);

  const go = (to: string) => {
    moved.current = true;
    setSelected(new Set());
    setPath(to);
  };

  const select = (name: string, on: boolean) =>
    setSelected((now) => {
      const next = new Set(now);
      if (on) next.add(name);
      else next.delete(name);
      return next;
    });

  const close = useCallback(() => {
    setOpen(false);
    button.current?.focus();
  }, []);

  const tell = (text: string, failed = false) => {
    setOutcome({ text, failed });
    setUnseen(!opened.current);
  };

  /** Runs one download (a file's or a zip's) with progress and Cancel, and says how it ended. */
  const transfer = (key: string, name: string, zip: boolean, start: (signal: AbortSignal, onProgress: (p: DownloadProgress) => void) => Promise<DownloadResult>) => {
    if (transfers.some((t) => t.key === key)) return;
    const controller = new AbortController();
    live.current.add(controller);
    const update = (progress: DownloadProgress) => setTransfers((all) => all.map((t) => (t.controller === controller ? { ...t, progress } : t)));
    setTransfers((all) => [...all, { key, name, zip, progress: null, controller }]);
    setOutcome(null);
    start(controller.signal, update).then(
      (result) => {
        saveBlob(result.blob, name);
        tell(`${name} is downloaded (${formatBytes(result.size)}).`);
      },
      (failure: unknown) => {
        if (isAbort(failure)) return tell(`${name} was not downloaded: you cancelled it.`);
        if (failure instanceof DownloadRefused && failure.code === FilesErrorCode.downloadOff) setOff(failure.message);
        tell(`${name} could not be downloaded. ${failureWords(failure, zip)}`, true);
      },
    ).finally(() => {
      live.current.delete(controller);
      setTransfers((all) => all.filter((t) => t.controller !== controller));
    });
  };

  const download = (entry: FileEntry) => {
    const target = childPath(path, entry.name);
    transfer(target, entry.name, false, (signal, onProgress) => api.download(target, { signal, onProgress }));
  };

  const downloadZip = () => {
    const names = sorted.filter((entry) => selected.has(entry.name)).map((entry) => entry.name);
    const paths = names.map((name) => childPath(path, name));
    transfer(`zip:${paths.join('\0')}`, zipName(names, appName), true, (signal, onProgress) => api.downloadZip(paths, { signal, onProgress }));
  };

  const sorted = useMemo(() => (entries ? sortEntries(entries, sort) : []), [entries, sort]);
  const pickable = useMemo(() => sorted.filter(selectable), [sorted]);
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
      {behind && <span className="muted hint">Downloading {transfers.length === 1 ? `${transfers[0]!.name} ${percent(transfers[0]!.progress)}%` : `${transfers.length} downloads`}</span>}
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
          <SelectionBar
            selectable={pickable.length}
            selected={selected.size}
            enabled={!off && entries !== null}
            zipping={transfers.some((t) => t.zip)}
            tooMany={selected.size > 0 && !zipFits([...selected].map((name) => childPath(path, name))) ? 'Too many selected for one zip: select their folder instead.' : null}
            onSelectAll={(all) => setSelected(new Set(all ? pickable.map((entry) => entry.name) : []))}
            onZip={downloadZip}
          >
            {uploads && !uploadOff && entries !== null && <UploadButtons queue={uploads} folder={path} />}
          </SelectionBar>
          {uploadOff && (
            <p className="files-off" role="status">
              {uploadOff}
            </p>
          )}
          {entries && (
            <div className="files-list">
              <table className="files-table" aria-busy={loading || undefined}>
                <caption className="visually-hidden">
                  {crumbs.length ? `Folder ${crumbs.join(' / ')}` : 'Your home folder'}, sorted by {SORT_LABELS[sort.key].toLowerCase()}
                </caption>
                <thead>
                  <tr>
                    <th scope="col" className="files-pick">
                      <span className="visually-hidden">Selected</span>
                    </th>
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
                  {sorted.map((entry) => (
                    <FileRow
                      key={entry.name}
                      entry={entry}
                      downloadable={!off}
                      busy={transfers.some((t) => t.key === childPath(path, entry.name))}
                      selected={selected.has(entry.name)}
                      onSelect={(on) => select(entry.name, on)}
                      onOpen={() => go(childPath(path, entry.name))}
                      onDownload={() => download(entry)}
                    />
                  ))}
                </tbody>
              </table>
              {sorted.length === 0 && <p className="muted files-empty">This folder is empty.</p>}
              {truncated && <p className="muted files-empty">This folder holds more than can be shown here; only the first {sorted.length} are listed.</p>}
            </div>
          )}
          {loading && !entries && <p className="muted">Reading the folder…</p>}
          <TransferList transfers={transfers} />
          <p className={outcome?.failed ? 'files-outcome error' : 'files-outcome'} role="status">
            {outcome?.text}
          </p>
        </dialog>,
        document.body,
      )}
    </>
  );
}
