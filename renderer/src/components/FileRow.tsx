// One entry of the Files panel's list (FilesPanel.tsx): a box to select it (files and
// folders — a link or a pipe cannot go into a zip, so it has none), its name (a folder
// opens), size, modified time, and Download for a file. Space on the box selects it, as
// on any checkbox.
import type { FileEntry } from '../../../shared/protocol/index.js';
import { formatBytes } from '../files-api.js';

/** A modification time for people and for <time> (a time no Date can hold shows as nothing). */
function When({ ms }: { ms: number }) {
  const date = new Date(ms);
  if (Number.isNaN(date.getTime())) return null;
  return <time dateTime={date.toISOString()}>{date.toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' })}</time>;
}

function KindIcon({ kind }: { kind: FileEntry['kind'] }) {
  return (
    <svg className="files-icon" viewBox="0 0 16 16" aria-hidden="true" focusable="false">
      {kind === 'folder' ? <path d="M1.5 3.5h5l1.5 1.5h6.5v8h-13z" /> : <path d="M3.5 1.5h6l3 3v10h-9z M9.5 1.5v3h3" />}
    </svg>
  );
}

/** Files and folders can be selected for a zip; links and pipes cannot. */
export const selectable = (entry: FileEntry) => entry.kind === 'file' || entry.kind === 'folder';

export interface FileRowProps {
  entry: FileEntry;
  /** Downloads are allowed here (the administrator did not turn them off). */
  downloadable: boolean;
  /** This file is downloading now. */
  busy: boolean;
  selected: boolean;
  onSelect(selected: boolean): void;
  onOpen(): void;
  onDownload(): void;
}

export function FileRow({ entry, downloadable, busy, selected, onSelect, onOpen, onDownload }: FileRowProps) {
  return (
    <tr data-kind={entry.kind}>
      <td className="files-pick">
        {downloadable && selectable(entry) && <input type="checkbox" checked={selected} onChange={(event) => onSelect(event.target.checked)} aria-label={`Select ${entry.name}`} />}
      </td>
      <th scope="row" className="files-name">
        <KindIcon kind={entry.kind} />
        {entry.kind === 'folder' ? (
          <button className="files-open" onClick={onOpen} aria-label={`Open folder ${entry.name}`}>
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
        {entry.kind === 'file' && downloadable && (
          <button onClick={onDownload} disabled={busy} aria-label={`${busy ? 'Downloading' : 'Download'} ${entry.name}`}>
            {busy ? 'Downloading' : 'Download'}
          </button>
        )}
      </td>
    </tr>
  );
}
