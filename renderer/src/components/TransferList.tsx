// The Files panel's downloads in progress (FilesPanel.tsx): each one's name, its bytes,
// speed and time left — or why it waits — a progress bar, and Cancel.
import { formatBytes, formatSecondsLeft } from '../files-api.js';
import type { DownloadProgress } from '../resumable-download.js';

export interface Transfer {
  /** What it is, unique among those running: a file's path, or "zip:" and the paths of a zip. */
  key: string;
  /** What the person sees it as: the file's name, or the zip's. */
  name: string;
  /** A zip starts over after a drop (it cannot resume from a byte). */
  zip: boolean;
  progress: DownloadProgress | null;
  controller: AbortController;
}

/** "1.2 MB of 3.0 MB · 2.4 MB/s · 1 s left", or why it waits. */
export function progressWords(progress: DownloadProgress | null, zip = false): string {
  if (!progress) return zip ? 'Making the zip…' : 'Starting…';
  const { received, total, bytesPerSecond, secondsLeft, retrying } = progress;
  if (retrying) return zip ? `${retrying} Starting the zip again…` : `${retrying} Resuming from ${formatBytes(received)}…`;
  const parts = [total === null ? formatBytes(received) : `${formatBytes(received)} of ${formatBytes(total)}`];
  if (bytesPerSecond) parts.push(`${formatBytes(bytesPerSecond)}/s`);
  if (secondsLeft !== null) parts.push(`${formatSecondsLeft(secondsLeft)} left`);
  return parts.join(' · ');
}

export const percent = (progress: DownloadProgress | null) => (progress?.total ? Math.floor((progress.received / progress.total) * 100) : 0);

export function TransferList({ transfers }: { transfers: readonly Transfer[] }) {
  if (transfers.length === 0) return null;
  return (
    <ul className="files-transfers" aria-label="Downloads">
      {transfers.map((t) => (
        <li key={t.key} className="files-transfer">
          <div className="files-transfer-words">
            <strong>{t.name}</strong> <span className="muted">{progressWords(t.progress, t.zip)}</span>
          </div>
          <progress max={t.progress?.total || 1} value={t.progress?.total ? t.progress.received : undefined} aria-label={`Downloading ${t.name}`} />
          <button onClick={() => t.controller.abort()} aria-label={`Cancel download of ${t.name}`}>
            Cancel
          </button>
        </li>
      ))}
    </ul>
  );
}
