// Files dropped on a session's tab go into its home (upload-queue.ts): while files are
// dragged over it, the tab says where they will go — or, where the administrator turned
// uploads off for the app, says that instead and takes nothing. Folders drop as folders.
import { useRef, useState, type DragEvent, type ReactNode } from 'react';
import { droppedFiles } from '../dropped-files.js';
import type { UploadQueue } from '../upload-queue.js';
import { useUploads } from './UploadTray.js';

const carriesFiles = (event: DragEvent) => [...event.dataTransfer.types].includes('Files');

export function DropZone({ queue, appName, children }: { queue: UploadQueue | null; appName: string; children: ReactNode }) {
  const { off } = useUploads(queue);
  const [over, setOver] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  // dragenter/dragleave fire for every child crossed: count them.
  const depth = useRef(0);
  // Always the same element, queue or not: a wrapper that came and went would remount the app's view.
  const enter = (event: DragEvent) => {
    if (!queue || !carriesFiles(event)) return;
    event.preventDefault();
    depth.current += 1;
    setOver(true);
    void queue.checkAllowed();
  };
  const leave = () => {
    depth.current = Math.max(0, depth.current - 1);
    if (depth.current === 0) setOver(false);
  };
  const overIt = (event: DragEvent) => {
    if (!queue || !carriesFiles(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = queue.off ? 'none' : 'copy';
  };
  const drop = (event: DragEvent) => {
    if (!queue || !carriesFiles(event)) return;
    event.preventDefault();
    depth.current = 0;
    setOver(false);
    if (queue.off) return;
    droppedFiles(event.dataTransfer).then(
      (picks) => (setProblem(null), queue.add(picks)),
      (error: unknown) => setProblem(error instanceof Error ? error.message : String(error)),
    );
  };
  return (
    <div className="drop-zone" onDragEnter={enter} onDragLeave={leave} onDragOver={overIt} onDrop={drop}>
      {children}
      {over && (
        <div className={`drop-hint${off ? ' drop-off' : ''}`} aria-hidden="true">
          <p>{off ?? `Drop to upload to your home folder in ${appName}`}</p>
        </div>
      )}
      {problem && (
        <p className="error drop-problem" role="alert">
          {problem}
        </p>
      )}
    </div>
  );
}
