// A session's files over HTTP (docs/protocol.md#session-files):
//   GET /api/sessions/ID/files?path=REL           one folder of the session's home, as JSON
//   GET /api/sessions/ID/files/content?path=REL   one file's bytes: Range, If-Range, If-Match
// They answer the session's owner only, given their access token as
// `Authorization: Bearer <token>` — not administrators: a person's files are theirs — and
// anyone else learns nothing (another person's session gets the answer an unknown id
// gets). Any node answers: a session whose primary is on another node is asked of that
// node, and a file's bytes stream through as they come, never gathered. The primary's
// node reads the home (host/home-files.ts), applies the transfer policy
// (config/transfer-policy.ts) and records every download in the audit log: who, which
// session and file, the bytes sent from where, their SHA-256, completed or cut.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { requestStream } from '../tls/trust.js';
import { transferRulesFor } from '../config/transfer-policy.js';
import type { AuditFields } from '../audit.js';
import type { SessionRecord } from '../cluster/records.js';
import { SessionFileError, type FilesErrorCode } from '../../shared/protocol/index.js';
import { FORWARDED, HttpError, json } from './admin-api.js';
import { SECURITY_HEADERS } from './static-files.js';
import { contentDisposition, etagOf, ifMatchHolds, ifRangeHolds, parseRange } from './byte-ranges.js';
import type { NodeContext, StreamedSession } from './context.js';

const PATH = /^\/api\/sessions\/([^/]+)\/files(\/content)?$/;
/** A forwarded call's answer must start within this long; its body may then take as long as it takes… */
const FORWARD_TIMEOUT_MS = 15_000;
/** …but not stall for longer than this. */
const FORWARD_IDLE_MS = 120_000;
/** The client's address, passed on by the node that forwarded a call and vouched for with the cluster's key (for the audit log). */
const CLIENT = 'x-holdfast-client';
/** What a forwarded answer keeps of the primary's headers. */
const PASSED = ['content-type', 'content-length', 'content-range', 'content-disposition', 'accept-ranges', 'etag', 'last-modified', 'cache-control'];
const MiB = 1024 * 1024;
/** The answer to "not there" and to "not yours" alike. */
const NO_SUCH_SESSION = () => new HttpError(404, 'no_such_session', 'You have no running session with that id.');
const STATUS: Partial<Record<FilesErrorCode, number>> = {
  outside_home: 400,
  bad_path: 400,
  not_a_folder: 400,
  not_a_file: 400,
  no_such_file: 404,
  unreadable: 403,
  changed: 409,
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
    if (request.method !== 'GET' && request.method !== 'HEAD') throw new HttpError(405, 'method_not_allowed', 'A session’s files are read with GET (uploading is not built yet).');
    const header = request.headers.authorization ?? '';
    const token = header.startsWith('Bearer ') ? header.slice(7) : '';
    const claims = token ? await ctx.tokens.verify(token) : null;
    if (!claims || !ctx.catalog.identify(claims.user, claims.federated)) throw new HttpError(401, 'unauthenticated', 'Send an access token: Authorization: Bearer <token>.');
    const url = new URL(request.url ?? '', 'http://node');
    let id: string;
    try {
      id = decodeURIComponent(PATH.exec(url.pathname)![1]!);
    } catch {
      throw NO_SUCH_SESSION();
    }
    const found = await ctx.sessions.record(id);
    // The owner only: an administrator is told what anyone else is.
    if (!found || found.record.state !== 'running' || found.record.owner !== claims.user) throw NO_SUCH_SESSION();
    const record = found.record;
    const address = clientAddress(ctx, request, token);
    const forwarded = request.headers[FORWARDED] === '1';
    if (record.primary !== ctx.sessions.self) return await relay(ctx, request, response, record.primary, token, address, forwarded);
    const session = await ctx.sessions.awaitPrimary(id, 0);
    if (!session) throw new HttpError(409, 'moved', 'The session is changing primary; try again.');
    const call: Call = { ctx, request, response, user: claims.user, token, address, record, path: url.searchParams.get('path') ?? '' };
    const person = { name: claims.user, groups: ctx.catalog.identify(claims.user, claims.federated)?.groups ?? [] };
    const rules = transferRulesFor(ctx.config.transferPolicies, record.appId, person);
    // A listing says whether its files may be downloaded, so a client offers Download only where it works.
    if (!PATH.exec(url.pathname)![2]) return json(response, 200, { ...(await session.homeFiles.list(call.path)), downloadOff: rules.download ? null : downloadOff(record) });
    return await download(call, session, rules);
  } catch (error) {
    if (response.headersSent) return void response.destroy();
    if (error instanceof HttpError) return json(response, error.status, { error: error.code, message: error.message });
    if (error instanceof SessionFileError) return json(response, STATUS[error.code] ?? 400, { error: error.code, message: error.message });
    ctx.log.error('session files failed', { url: request.url, error: String(error) });
    json(response, 503, { error: 'unavailable', message: 'The session’s files could not be read; try again.' });
  }
}

/** The primary is here: the file's bytes, as asked (Range, If-Range, If-Match), hashed and audited as they go. */
/** The administrator's switch, in words: what a listing carries and a refused download says. */
const downloadOff = (record: SessionRecord) => `Downloading files from ${record.appName} is turned off by your administrator.`;

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
    throw new HttpError(413, 'too_large', `${file.name} is ${mebibytes(file.size)}; files larger than ${rules.maxFileMiB} MiB cannot be downloaded from ${record.appName} (your administrator’s limit).`);
  }
  const etag = etagOf(file.version);
  const ifMatch = request.headers['if-match'];
  if (ifMatch !== undefined && !ifMatchHolds(ifMatch, etag)) throw new HttpError(412, 'changed', `${file.name} has changed since you started downloading it; download it again from the start.`);
  let range = parseRange(request.headers.range, file.size);
  // A resume of another version of the file gets the whole of this one, never a splice of the two.
  const ifRange = request.headers['if-range'];
  if (range !== null && ifRange !== undefined && !ifRangeHolds(String(ifRange), etag, file.modifiedAt)) range = null;
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
  const bytes = file.read(start, length);
  const hash = createHash('sha256');
  let sent = 0;
  let recorded = false;
  const done = (result: 'completed' | 'cut', detail?: string) => {
    if (recorded) return;
    recorded = true;
    audit({ result, offset: start, bytes: sent, sha256: hash.copy().digest('hex'), ...(detail ? { detail } : {}) });
  };
  // The head goes with the first bytes: a read that fails at once is still answered in words.
  const head = () => response.headersSent || response.writeHead(status, headers);
  await new Promise<void>((resolve) => {
    bytes.on('data', (chunk: Buffer) => {
      head();
      hash.update(chunk);
      sent += chunk.length;
      if (!response.write(chunk)) bytes.pause();
    });
    response.on('drain', () => bytes.resume());
    bytes.on('end', () => {
      head();
      response.end();
    });
    bytes.on('error', (error) => {
      done('cut', error.message);
      if (response.headersSent) response.destroy();
      else if (error instanceof SessionFileError) json(response, STATUS[error.code] ?? 400, { error: error.code, message: error.message });
      else json(response, 503, { error: 'unavailable', message: 'The file could not be read; try again.' });
      resolve();
    });
    response.on('finish', () => {
      done('completed');
      resolve();
    });
    response.on('close', () => {
      if (!response.writableFinished) {
        done('cut', 'the connection closed before the end');
        bytes.destroy();
      }
      resolve();
    });
  });
}

/** The primary is on another node: ask it (with the caller's token, which it checks again) and pass its answer on as it comes. */
async function relay(ctx: NodeContext, request: IncomingMessage, response: ServerResponse, primary: string, token: string, address: string, forwarded: boolean): Promise<void> {
  if (forwarded) throw new HttpError(409, 'moved', 'The session is not here any more; try again.');
  const node = ctx.sessions.member(primary);
  if (!node || !ctx.sessions.isLive(primary)) throw new HttpError(409, 'no_primary', 'The session’s node is not answering; it fails over on its own. Try again in a moment.');
  const headers: Record<string, string> = { authorization: `Bearer ${token}`, [FORWARDED]: '1', [CLIENT]: `${address} ${vouch(ctx, address, token)}` };
  for (const name of ['range', 'if-range', 'if-match']) {
    const value = request.headers[name];
    if (typeof value === 'string') headers[name] = value;
  }
  let reply: IncomingMessage;
  try {
    reply = await requestStream(`${node.url}${request.url}`, { method: request.method === 'HEAD' ? 'HEAD' : 'GET', headers, timeoutMs: FORWARD_TIMEOUT_MS, idleMs: FORWARD_IDLE_MS }, ctx.trust);
  } catch (error) {
    throw new HttpError(502, 'unreachable', `${primary} did not answer: ${error instanceof Error ? error.message : String(error)}`);
  }
  const passed: Record<string, string> = {};
  for (const name of PASSED) {
    const value = reply.headers[name];
    if (typeof value === 'string') passed[name] = value;
  }
  response.writeHead(reply.statusCode ?? 502, { ...SECURITY_HEADERS, ...passed });
  await new Promise<void>((resolve) => {
    // A body cut short upstream is cut short here too: the client sees it was not all.
    reply.on('error', () => response.destroy());
    reply.on('aborted', () => response.destroy());
    response.on('close', () => {
      if (!reply.complete) reply.destroy();
      resolve();
    });
    reply.pipe(response);
  });
}

/** The forwarding node's word for the client's address, under the cluster's shared key (and bound to the caller's token). */
function vouch(ctx: NodeContext, address: string, token: string): string {
  return createHmac('sha256', ctx.tokens.key).update(`holdfast-client:${address}:${token}`).digest('base64url');
}

/** Who asked: the connection's address, or the one a node of the cluster vouched for. */
function clientAddress(ctx: NodeContext, request: IncomingMessage, token: string): string {
  const own = request.socket.remoteAddress ?? 'unknown';
  const header = request.headers[CLIENT];
  if (typeof header !== 'string') return own;
  const [address, given] = header.split(' ');
  if (!address || !given) return own;
  const expected = Buffer.from(vouch(ctx, address, token));
  const presented = Buffer.from(given);
  return expected.length === presented.length && timingSafeEqual(expected, presented) ? address : own;
}

/** "5.0 MiB", "2048 MiB". */
function mebibytes(bytes: number): string {
  const value = bytes / MiB;
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} MiB`;
}
