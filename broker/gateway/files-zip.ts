// GET /api/sessions/ID/files/zip?path=A&path=B — a selection of a session's home as
// one zip (docs/protocol.md#session-files), on the primary's node, once files-api.ts
// has checked who asks. The selection is walked first (host/home-tree.ts) and checked
// whole before the first byte — the transfer policy, each file against maxFileMiB, at
// most MAX_ZIP_ENTRIES files and folders and MAX_ZIP_BYTES in all — so a refusal is an
// answer in words, not a zip cut short. Then the zip is built as it is sent
// (zip-selection.ts), its exact size in Content-Length; a file that changed since the
// walk, or cannot be read, cuts it off before that length, and the client says so. One
// audit event per zip: the paths chosen, the files, the bytes sent and their SHA-256.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuditFields } from '../audit.js';
import { MAX_ZIP_BYTES, MAX_ZIP_ENTRIES, SessionFileError } from '../../shared/protocol/index.js';
import { HttpError } from './admin-api.js';
import type { SessionFiles } from './context.js';
import { contentDisposition } from './byte-ranges.js';
import { sendHashed } from './hashed-body.js';
import { SECURITY_HEADERS } from './static-files.js';
import { tooLarge } from './transfer-words.js';
import { zipSelection } from './zip-selection.js';

/** How many links and special files were left out of the zip (a client says so). */
export const SKIPPED_HEADER = 'holdfast-zip-skipped';
/** The headers of a zip's answer a forwarding node passes on besides the usual ones. */
export const ZIP_HEADERS = [SKIPPED_HEADER];
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
/** Most paths one zip may name (each is a `path` parameter; a whole folder is one). */
const MAX_PATHS = 1000;

export interface ZipCall {
  request: IncomingMessage;
  response: ServerResponse;
  files: SessionFiles;
  rules: { download: boolean; maxFileMiB: number };
  appName: string;
  /** The `path` parameters, as given. */
  paths: string[];
  /** Records a session.download event (who, session and app filled in). */
  audit(fields: AuditFields): void;
  downloadOff(): string;
  /** Answers a failure before the first byte, in words. */
  refuse(error: Error): void;
}

export async function downloadZip(call: ZipCall): Promise<void> {
  const { response, rules } = call;
  const paths = call.paths.slice(0, MAX_PATHS).map((path) => path.slice(0, 1024));
  const refused = (detail: string) => call.audit({ result: 'refused', paths, detail });
  if (call.paths.length === 0) throw new HttpError(400, 'bad_path', 'Choose at least one file or folder to zip (?path=…, once for each).');
  if (call.paths.length > MAX_PATHS) throw new HttpError(400, 'bad_path', `A zip names at most ${MAX_PATHS} paths; choose their folder instead.`);
  if (!rules.download) {
    refused('transferPolicies: download is off');
    throw new HttpError(403, 'download_off', call.downloadOff());
  }
  let selection;
  try {
    selection = await call.files.selection(call.paths, MAX_ZIP_ENTRIES);
  } catch (error) {
    if (error instanceof SessionFileError && (error.code === 'outside_home' || error.code === 'too_many_files')) refused(error.message);
    throw error;
  }
  const files = selection.entries.filter((entry) => entry.kind === 'file');
  const over = files.find((entry) => entry.size > rules.maxFileMiB * MiB);
  if (over) {
    refused(`${over.path}: ${over.size} bytes; the limit is ${rules.maxFileMiB} MiB`);
    throw tooLarge(over.path, over.size, rules.maxFileMiB, call.appName, ' Leave it out of the selection.');
  }
  const total = files.reduce((sum, entry) => sum + entry.size, 0);
  if (total > MAX_ZIP_BYTES) {
    refused(`${total} bytes; a zip holds at most ${MAX_ZIP_BYTES}`);
    throw new HttpError(413, 'too_large', `The selection holds ${(total / GiB).toFixed(1)} GiB of files; one zip holds at most ${MAX_ZIP_BYTES / GiB} GiB. Select fewer files and download them in several zips.`);
  }
  const zip = zipSelection(selection);
  const headers = {
    ...SECURITY_HEADERS,
    'Content-Type': 'application/zip',
    'Content-Length': String(zip.size),
    'Content-Disposition': contentDisposition(zipFileName(roots(selection.entries), call.appName)),
    // A zip is made anew for each request: it cannot be resumed from a byte (Range is ignored).
    'Accept-Ranges': 'none',
    'Cache-Control': 'no-store',
    [SKIPPED_HEADER]: String(selection.skipped.length),
  };
  if (call.request.method === 'HEAD') {
    zip.stream.destroy();
    response.writeHead(200, headers);
    return void response.end();
  }
  const sent = await sendHashed(response, zip.stream, () => response.writeHead(200, headers), call.refuse);
  const skipped = selection.skipped.length ? `; ${selection.skipped.length} links or special files left out` : '';
  call.audit({ result: sent.result, paths: selection.paths, files: files.length, bytes: sent.bytes, sha256: sent.sha256, detail: `zip${skipped}${sent.detail ? `; ${sent.detail}` : ''}` });
}

/** The chosen paths' own names, as the zip holds them (the entries without a "/"). */
const roots = (entries: ReadonlyArray<{ path: string }>) => entries.filter((entry) => !entry.path.includes('/')).map((entry) => entry.path);

/** "report.zip" for one chosen path, else "Shell files.zip". */
function zipFileName(roots: string[], appName: string): string {
  return roots.length === 1 ? `${roots[0]}.zip` : `${appName} files.zip`;
}
