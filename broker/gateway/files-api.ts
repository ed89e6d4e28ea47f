// A session's files over HTTP (docs/protocol.md#session-files):
//   GET /api/sessions/ID/files?path=REL           one folder of the session's home, as JSON
//   GET /api/sessions/ID/files/content?path=REL   one file's bytes: Range, If-Range, If-Match
//   GET /api/sessions/ID/files/zip?path=A&path=B  a selection, folders whole, as one zip (files-zip.ts)
// They answer the session's owner only, given their access token as
// `Authorization: Bearer <token>` — not administrators: a person's files are theirs — and
// anyone else learns nothing (another person's session gets the answer an unknown id
// gets). Any node answers: a session whose primary is on another node is asked of that
// node, and a file's bytes stream through as they come, never gathered. The primary's
// node reads the home (host/home-files.ts), applies the transfer policy
// (config/transfer-policy.ts) and records every download in the audit log: who, which
// session and file, the bytes sent from where, their SHA-256, completed or cut.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { transferRulesFor } from '../config/transfer-policy.js';
import type { AuditFields } from '../audit.js';
import type { SessionRecord } from '../cluster/records.js';
import { SessionFileError, type FilesErrorCode } from '../../shared/protocol/index.js';
import { HttpError, json } from './admin-api.js';
import { SECURITY_HEADERS } from './static-files.js';
import { contentDisposition, etagOf, ifMatchHolds, ifRangeHolds, parseRange } from './byte-ranges.js';
import { sendHashed } from './hashed-body.js';
import { RESUME_PROOF_HEADER, headMatches, parseResumeProof } from './resume-proof.js';
import { downloadOffWords, tooLarge, uploadOffWords } from './transfer-words.js';
import { downloadZip } from './files-zip.js';
import { NO_SUCH_SESSION, ownerCall, relay } from './session-call.js';
import type { NodeContext, StreamedSession } from './context.js';

const PATH = /^\/api\/sessions\/([^/]+)\/files(?:\/(content|zip))?$/;
const MiB = 1024 * 1024;
const STATUS: Partial<Record<FilesErrorCode, number>> = {
  outside_home: 400,
  bad_path: 400,
  not_a_folder: 400,
  not_a_file: 400,
  no_such_file: 404,
  unreadable: 403,
  changed: 409,
  too_many_files: 413,
  busy: 429,
  not_ready: 503,
  timeout: 504,
};

/** Whether this module answers the request (by its path). */
export function isFilesCall(url: string | undefined): boolean {
  return PATH.test((url ?? '').split('?')[0]!);
}

interface Call {
  ctx: NodeContext;
  request: IncomingMessage;
  response: ServerResponse;
  user: string;
  token: string;
  /** The person's address (a forwarded call: as the forwarding node vouched for it). */
  address: string;
  record: SessionRecord;
  /** The `path` asked for, as given. */
  path: string;
}

export async function filesHandler(ctx: NodeContext, request: IncomingMessage, response: ServerResponse): Promise<void> {
  try {
    if (request.method !== 'GET' && request.method !== 'HEAD') throw new HttpError(405, 'method_not_allowed', 'A session’s files are read with GET; uploads go to /api/sessions/ID/uploads.');
    const url = new URL(request.url ?? '', 'http://node');
    let id: string;
    try {
      id = decodeURIComponent(PATH.exec(url.pathname)![1]!);
    } catch {
      throw NO_SUCH_SESSION();
    }
    const owner = await ownerCall(ctx, request, id);
    if (owner.elsewhere) return await relay(ctx, request, response, owner);
    const { record, address, token } = owner;
    const session = await ctx.sessions.awaitPrimary(id, 0);
    if (!session) throw new HttpError(409, 'moved', 'The session is changing primary; try again.');
    const call: Call = { ctx, request, response, user: owner.user, token, address, record, path: url.searchParams.get('path') ?? '' };
    const rules = transferRulesFor(ctx.config.transferPolicies, record.appId, { name: owner.user, groups: owner.groups });
    // A listing says whether files may be downloaded and uploaded, so a client offers only what works.
    const what = PATH.exec(url.pathname)![2];
    if (!what) return json(response, 200, { ...(await session.homeFiles.list(call.path)), downloadOff: rules.download ? null : downloadOff(record), uploadOff: rules.upload ? null : uploadOffWords(record.appName) });
    if (what === 'zip') {
      const paths = url.searchParams.getAll('path');
      const audit = (fields: AuditFields) => ctx.audit.record('session.download', { user: call.user, address: call.address, session: record.id, app: record.appId, ...fields });
      return await downloadZip({ request, response, files: session.homeFiles, rules, appName: record.appName, paths, audit, downloadOff: () => downloadOff(record), refuse: (error) => refuse(response, error) });
    }
    return await download(call, session, rules);
  } catch (error) {
    if (response.headersSent) return void response.destroy();
    if (!(error instanceof HttpError) && !(error instanceof SessionFileError)) ctx.log.error('session files failed', { url: request.url, error: String(error) });
    refuse(response, error);
  }
}

/** A refusal (or a failure) in words, as JSON: HttpError and SessionFileError say their own; anything else is 503. */
function refuse(response: ServerResponse, error: unknown): void {
  if (error instanceof HttpError) return json(response, error.status, { error: error.code, message: error.message });
  if (error instanceof SessionFileError) return json(response, STATUS[error.code] ?? 400, { error: error.code, message: error.message });
  json(response, 503, { error: 'unavailable', message: 'The session’s files could not be read; try again.' });
}

const downloadOff = (record: SessionRecord) => downloadOffWords(record.appName);

/** The primary is here: the file's bytes, as asked (Range, If-Range, If-Match), hashed and audited as they go. */
async function download(call: Call, session: StreamedSession, rules: { download: boolean; maxFileMiB: number }): Promise<void> {
  const { ctx, request, response, record } = call;
  const audit = (fields: AuditFields) =>
    ctx.audit.record('session.download', { user: call.user, address: call.address, session: record.id, app: record.appId, path: call.path.slice(0, 1024), ...fields });
  if (!rules.download) {
    audit({ result: 'refused', detail: 'transferPolicies: download is off' });
    throw new HttpError(403, 'download_off', downloadOff(record));
  }
  let file;
  try {
    file = await session.homeFiles.file(call.path);
  } catch (error) {
    if (error instanceof SessionFileError && error.code === 'outside_home') audit({ result: 'refused', detail: error.message });
    throw error;
  }
  if (file.size > rules.maxFileMiB * MiB) {
    audit({ result: 'refused', detail: `${file.size} bytes; the limit is ${rules.maxFileMiB} MiB` });
    throw tooLarge(file.name, file.size, rules.maxFileMiB, record.appName);
  }
  const etag = etagOf(file.version);
  const ifMatch = request.headers['if-match'];
  if (ifMatch !== undefined && !ifMatchHolds(ifMatch, etag)) throw new HttpError(412, 'changed', `${file.name} has changed since you started downloading it; download it again from the start.`);
  let range = parseRange(request.headers.range, file.size);
  // A resume of another version of the file gets the whole of this one, never a splice of the
  // two — unless the client shows that what it holds is this file's head (after a failover the
  // new primary's copy has the same bytes under another ETag: resume-proof.ts).
  const ifRange = request.headers['if-range'];
  if (range !== null && range !== 'unsatisfiable' && ifRange !== undefined && !ifRangeHolds(String(ifRange), etag, file.modifiedAt)) {
    const proof = parseResumeProof(request.headers[RESUME_PROOF_HEADER]);
    if (!proof || proof.offset !== range.start || !(await headMatches(file, proof))) range = null;
  }
  if (range === 'unsatisfiable') {
    response.writeHead(416, { ...SECURITY_HEADERS, 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Range': `bytes */${file.size}` });
    return void response.end(JSON.stringify({ error: 'range_not_satisfiable', message: `${file.name} is ${file.size} bytes: the range asked for starts at or past its end.` }) + '\n');
  }
  const start = range?.start ?? 0;
  const length = range ? range.end - range.start + 1 : file.size;
  const status = range ? 206 : 200;
  const headers = {
    ...SECURITY_HEADERS,
    'Content-Type': 'application/octet-stream',
    'Content-Length': String(length),
    'Content-Disposition': contentDisposition(file.name),
    'Accept-Ranges': 'bytes',
    ETag: etag,
    'Last-Modified': new Date(file.modifiedAt).toUTCString(),
    'Cache-Control': 'no-store',
    ...(range ? { 'Content-Range': `bytes ${range.start}-${range.end}/${file.size}` } : {}),
  };
  if (request.method === 'HEAD') {
    response.writeHead(status, headers);
    return void response.end();
  }
  const sent = await sendHashed(
    response,
    file.read(start, length),
    () => response.writeHead(status, headers),
    (error) => refuse(response, error),
  );
  audit({ result: sent.result, offset: start, bytes: sent.bytes, sha256: sent.sha256, ...(sent.detail ? { detail: sent.detail } : {}) });
}

