// A session tab's uploads (upload-queue.ts), shown under its tools whether or not the
// Files panel is open: each file's name, how far it is (bytes, speed, time left — or
// why it waits), a progress bar and Cancel; once it ends, in words ("report.pdf is in
// your home folder"), until the person dismisses them.
import { useEffect, useMemo, useState } from 'react';
import type { HoldfastClient } from '../../../shared/core/index.js';
import { UploadQueue, nameOf, uploadWords } from '../upload-queue.js';

/** A session's upload queue: one per session id, its uploads stopped when the tab goes. */
export function useUploadQueue(client: HoldfastClient, sessionId: string | null): UploadQueue | null {
  const queue = useMemo(() => (sessionId ? new UploadQueue(client, sessionId) : null), [client, sessionId]);
  useEffect(() => () => queue?.stop(), [queue]);
  return queue;
}

/** The queue's items, re-read whenever it changes. */
export function useUploads(queue: UploadQueue | null) {
  const [, setVersion] = useState(0);
  useEffect(() => queue?.subscribe(() => setVersion((v) => v + 1)), [queue]);
  return queue ? { items: queue.items, off: queue.off } : { items: [], off: null };
}

export function UploadTray({ queue }: { queue: UploadQueue | null }) {
  const { items } = useUploads(queue);
  if (!queue || items.length === 0) return null;
  const running = items.filter((item) => item.state === 'waiting' || item.state === 'uploading');
  const ended = items.filter((item) => item.state !== 'waiting' && item.state !== 'uploading');
  return (
    <section className="upload-tray" aria-label="Uploads">
      {running.length > 0 && (
        <ul className="files-transfers">
          {running.map((item) => (
            <li key={item.id} className="files-transfer">
              <div className="files-transfer-words">
                <strong>{nameOf(item.path)}</strong> <span className="muted">{uploadWords(item)}</span>
              </div>
              <progress max={item.size || 1} value={item.progress ? item.progress.sent : undefined} aria-label={`Uploading ${nameOf(item.path)}`} />
              <button onClick={() => queue.cancel(item.id)} aria-label={`Cancel upload of ${nameOf(item.path)}`}>
                Cancel
              </button>
            </li>
          ))}
        </ul>
      )}
      <div role="status" aria-live="polite">
        {ended.length > 0 && (
          <div className="upload-outcomes">
            <ul>
              {ended.map((item) => (
                <li key={item.id} className={item.state === 'failed' ? 'error' : undefined}>
                  {item.words}
                </li>
              ))}
            </ul>
            <button onClick={() => queue.clearEnded()}>Dismiss</button>
          </div>
        )}
      </div>
    </section>
  );
}
