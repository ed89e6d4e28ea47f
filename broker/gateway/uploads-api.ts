// Uploads into a session's home over HTTP (docs/protocol.md#uploads), resumable:
//   POST   /api/sessions/ID/uploads        {path, size, key?} → 201, where it stands
//   GET    /api/sessions/ID/uploads/N      where it stands
//   PATCH  /api/sessions/ID/uploads/N      bytes from Upload-Offset (Upload-Done: 1 on the last)
//   DELETE /api/sessions/ID/uploads/N      cancel: nothing is kept
// The session's owner only (session-call.ts), answered by its primary's node, which
// logs the upload so every replica writes the same file (session/session-uploads.ts):
// a client whose connection dies — its network, or the primary's node — asks where the
// upload stands and goes on from there, on whichever node now runs the primary. The
// transfer policy (upload, maxFileMiB) is read on every call; every begun, completed,
// cancelled, failed or refused upload is in the audit log, a completed one with its SHA-256.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { transferRulesFor } from '../config/transfer-policy.js';
import type { AuditFields } from '../audit.js';
import { SessionFileError, UPLOAD_DONE_HEADER, UPLOAD_OFFSET_HEADER, UploadBeginSchema, UploadError } from '../../shared/protocol/index.js';
import { HttpError, json } from './admin-api.js';
import { readJsonBody } from './request-body.js';
import { NO_SUCH_SESSION, ownerCall, relay } from './session-call.js';
import type { NodeContext } from './context.js';

const PATH = /^\/api\/sessions\/([^/]+)\/uploads(?:\/(\d{1,10}))?$/;
const MiB = 1024 * 1024;
const STATUS: Record<string, number> = { outside_home: 400, bad_path: 400, not_a_folder: 400, busy: 429, not_ready: 503, timeout: 504 };

/** Whether this module answers the request (by its path). */
export function isUploadsCall(url: string | undefined): boolean {
  return PATH.test((url ?? '').split('?')[0]!);
}

export async function uploadsHandler(ctx: NodeContext, request: IncomingMessage, response: ServerResponse): Promise<void> {
  let audit: ((fields: AuditFields) => void) | null = null;
  try {
    const match = PATH.exec(new URL(request.url ?? '', 'http://node').pathname)!;
    const upload = match[2] === undefined ? null : Number(match[2]);
    const method = request.method ?? 'GET';
    const allowed = upload === null ? ['POST'] : ['GET', 'PATCH', 'DELETE'];
    if (!allowed.includes(method)) throw new HttpError(405, 'method_not_allowed', upload === null ? 'Begin an upload with POST.' : 'An upload is read with GET, written with PATCH and cancelled with DELETE.');
    let id: string;
    try {
      id = decodeURIComponent(match[1]!);
    } catch {
      throw NO_SUCH_SESSION();
    }
    const call = await ownerCall(ctx, request, id);
    if (call.elsewhere) return await relay(ctx, request, response, call, method === 'POST' || method === 'PATCH');
    const session = await ctx.sessions.awaitPrimary(id, 0);
    if (!session) throw new HttpError(409, 'moved', 'The session is changing primary; try again.');
    const { record } = call;
    const rules = transferRulesFor(ctx.config.transferPolicies, record.appId, { name: call.user, groups: call.groups });
    const limits = { maxBytes: rules.maxFileMiB * MiB };
    audit = (fields) => ctx.audit.record('session.upload', { user: call.user, address: call.address, session: record.id, app: record.appId, ...fields });
    if (!rules.upload && method !== 'GET' && method !== 'DELETE') {
      audit({ result: 'refused', detail: 'transferPolicies: upload is off' });
      throw new HttpError(403, 'upload_off', `Uploading files to ${record.appName} is turned off by your administrator.`);
    }
    if (upload === null) {
      const body = await readJsonBody(request, 8192);
      if (!body.ok) throw new HttpError(body.status, 'bad_request', body.message);
      const begin = UploadBeginSchema.safeParse(body.value);
      if (!begin.success) throw new HttpError(400, 'bad_request', `Begin an upload with {"path": "name", "size": bytes}: ${begin.error.issues[0]?.message ?? 'malformed'}.`);
      const state = await session.uploads.begin(begin.data.path, begin.data.size, begin.data.key ?? null, limits);
      audit({ result: 'begun', upload: state.upload, path: state.path, size: state.size });
      return json(response, 201, state);
    }
    if (method === 'GET') return json(response, 200, session.uploads.state(upload));
    if (method === 'DELETE') {
      const state = await session.uploads.cancel(upload);
      if (state.status === 'aborted') audit({ result: 'cancelled', upload, path: state.path, bytes: state.offset });
      return json(response, 200, state);
    }
    const offset = Number(request.headers[UPLOAD_OFFSET_HEADER]);
    if (!Number.isSafeInteger(offset) || offset < 0) throw new HttpError(400, 'bad_request', `Say where these bytes start: the ${UPLOAD_OFFSET_HEADER} header (the upload's offset).`);
    const before = session.uploads.state(upload);
    // Not destroyed when the session stops taking bytes (a full home): the answer must still reach the client.
    const state = await session.uploads.write(upload, offset, request.iterator({ destroyOnReturn: false }), request.headers[UPLOAD_DONE_HEADER] === '1', limits);
    if (state.status === 'done' && before.status === 'receiving') audit({ result: 'completed', upload, path: state.path, bytes: state.offset, sha256: state.sha256 ?? undefined });
    return json(response, 200, state);
  } catch (error) {
    if (response.headersSent) return void response.destroy();
    // Refused while the client is still sending (a full home): it reads the answer only once
    // its body is sent, so the rest is read and dropped (up to a bound) rather than reset.
    if (!request.complete) discardBody(request, response);
    if (error instanceof UploadError) {
      if (error.code !== 'offset_mismatch' && error.code !== 'busy') audit?.({ result: 'failed', detail: error.message });
      return json(response, error.status, { error: error.code, message: error.message, ...(error.offset !== undefined ? { offset: error.offset } : {}) });
    }
    if (error instanceof HttpError) return json(response, error.status, { error: error.code, message: error.message });
    if (error instanceof SessionFileError) {
      if (error.code === 'outside_home') audit?.({ result: 'refused', detail: error.message });
      return json(response, STATUS[error.code] ?? 400, { error: error.code, message: error.message });
    }
    ctx.log.error('session upload failed', { url: request.url, error: String(error) });
    json(response, 503, { error: 'unavailable', message: 'The upload could not be taken; ask where it stands and try again.' });
  }
}

/** Bytes of a refused upload's body read and dropped before the connection is closed instead. */
const DISCARD_LIMIT = 64 * 1024 * 1024;

function discardBody(request: IncomingMessage, response: ServerResponse): void {
  let dropped = 0;
  response.setHeader('Connection', 'close');
  request.on('data', (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > DISCARD_LIMIT) request.destroy();
  });
  request.resume();
}
