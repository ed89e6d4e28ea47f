// What a person dropped on a session's tab, or picked in the Files panel, as files with
// the paths they go to in the home: a folder dropped arrives as a folder (its files
// under its name, however deep), read through the File and Directory Entries API.
import type { Pick } from './upload-queue.js';

/** Files one drop may bring (a whole disk dropped by mistake stops here, with words). */
export const MAX_DROPPED_FILES = 10_000;

export class TooManyFiles extends Error {}

/** The files of a drop, folders walked. Call it in the drop handler itself: the browser forgets the items after it. */
export function droppedFiles(data: DataTransfer): Promise<Pick[]> {
  const entries = [...data.items].filter((item) => item.kind === 'file').map((item) => item.webkitGetAsEntry?.() ?? null);
  if (entries.length === 0 || entries.some((entry) => entry === null)) return Promise.resolve(pickedFiles(data.files));
  return (async () => {
    const picks: Pick[] = [];
    for (const entry of entries) await walk(entry!, '', picks);
    return picks;
  })();
}

/** Files from a file input: a folder picked (webkitdirectory) keeps its relative paths. */
export function pickedFiles(files: FileList | readonly File[]): Pick[] {
  return [...files].map((file) => ({ file, path: file.webkitRelativePath || file.name }));
}

async function walk(entry: FileSystemEntry, prefix: string, picks: Pick[]): Promise<void> {
  if (picks.length >= MAX_DROPPED_FILES) throw new TooManyFiles(`That is more than ${MAX_DROPPED_FILES} files; upload fewer at a time (or a zip of them).`);
  if (entry.isFile) {
    const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
    picks.push({ file, path: prefix + entry.name });
    return;
  }
  if (!entry.isDirectory) return;
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  // readEntries gives a batch at a time (about 100 in Chromium), then an empty one.
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) return;
    for (const child of batch) await walk(child, `${prefix}${entry.name}/`, picks);
  }
}
