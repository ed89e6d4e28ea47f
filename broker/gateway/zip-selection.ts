// A walked selection of a session's home as one zip, built as it is sent (yazl): the
// files are read one after another, each only when its turn comes, and their bytes go
// through as they come — a zip of any size takes the memory of a few blocks and the
// list of its entries. Entries are stored, not compressed: so the zip's exact size is
// known before its first byte (Content-Length, a true progress bar, and a client can
// tell a zip cut short), the node's CPU stays with the apps, and most large files are
// compressed already. Names are UTF-8 (the zip's language-encoding flag), sizes and
// offsets past 4 GiB are written as ZIP64, and the end record is always ZIP64's (so the
// size reckoned in advance is the size written, however long the central directory).
import type { Readable } from 'node:stream';
import { ZipFile, type ReadStreamOptions } from 'yazl';
import type { SessionSelection } from './context.js';

export interface SelectionZip {
  /** The zip's bytes; errors (the file's SessionFileError) if a file cannot be read whole, or changed. */
  readonly stream: Readable;
  /** Exactly how many bytes `stream` gives when all goes well. */
  readonly size: number;
}

export function zipSelection(selection: SessionSelection): SelectionZip {
  const zip = new ZipFile();
  const stream = zip.outputStream as Readable;
  /** The file being read now: stopped with the zip. */
  let reading: Readable | null = null;
  let failed = false;
  const fail = (error: Error) => {
    if (failed) return;
    failed = true;
    reading?.destroy();
    stream.destroy(error);
  };
  zip.on('error', fail);
  stream.on('close', () => reading?.destroy());
  for (const entry of selection.entries) {
    const options = { mtime: new Date(entry.modifiedAt) };
    if (entry.kind === 'folder' || !entry.file) {
      zip.addEmptyDirectory(zipName(entry.path), options);
      continue;
    }
    const file = entry.file;
    const stored: Partial<ReadStreamOptions> = { ...options, size: entry.size, compress: false };
    zip.addReadStreamLazy(zipName(entry.path), stored, (opened) => {
      if (failed) return;
      reading = file.read(0, entry.size);
      reading.once('error', fail);
      opened(null, reading);
    });
  }
  let size = -1;
  // Every size is known and nothing is compressed: yazl reckons the total at once.
  (zip.end as (options: { forceZip64Format: boolean }, reckoned: (bytes: number) => void) => void)({ forceZip64Format: true }, (bytes) => (size = bytes));
  if (size < 0) throw new Error('the zip’s size could not be reckoned in advance');
  return { stream, size };
}

/**
 * A path of the home as a name in the zip. Zip names use "/" alone: a "\" in a Linux
 * name would read as a folder to an unzipper (yazl makes it one), so it is stored as
 * "_"; and a first name like "C:x" would read as a Windows drive, so its ":" is too.
 */
export function zipName(path: string): string {
  const name = path.replace(/\\/g, '_');
  return /^[a-zA-Z]:/.test(name) ? `${name[0]}_${name.slice(2)}` : name;
}
