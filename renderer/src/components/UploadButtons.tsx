// The Files panel's Upload buttons (FilesPanel.tsx): files, or a whole folder, picked
// with the system's own dialog, go into the folder the panel shows (upload-queue.ts;
// their progress shows in the tab's upload tray). Not shown where uploads are off.
import { useRef } from 'react';
import { childPath } from '../files-api.js';
import { pickedFiles } from '../dropped-files.js';
import type { UploadQueue } from '../upload-queue.js';

export function UploadButtons({ queue, folder }: { queue: UploadQueue; folder: string }) {
  const files = useRef<HTMLInputElement>(null);
  const directory = useRef<HTMLInputElement>(null);
  const take = (input: HTMLInputElement | null) => {
    if (!input?.files || input.files.length === 0) return;
    queue.add(pickedFiles(input.files).map((pick) => ({ ...pick, path: childPath(folder, pick.path) })));
    input.value = '';
  };
  return (
    <span className="files-upload">
      <input ref={files} type="file" multiple hidden tabIndex={-1} aria-hidden="true" data-testid="upload-files" onChange={() => take(files.current)} />
      <input
        ref={(element) => {
          directory.current = element;
          // Not a React attribute: set on the element.
          element?.setAttribute('webkitdirectory', '');
        }}
        type="file"
        hidden
        tabIndex={-1}
        aria-hidden="true"
        onChange={() => take(directory.current)}
      />
      <button onClick={() => files.current?.click()}>Upload files…</button>
      <button onClick={() => directory.current?.click()}>Upload a folder…</button>
    </span>
  );
}
