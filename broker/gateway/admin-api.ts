// The operators' API over HTTP (docs/protocol.md#admin-api). Every call needs an
// access token of a user in the "admins" group, as `Authorization: Bearer <token>`
// (a header, never a cookie: no other site can make a browser send it).
//   GET  /api/status                 the cluster: nodes, sessions, lag, recent events
//   GET  /api/replicas               this node's replicas, counters, events, drain (what /api/status gathers)
//   GET  /api/recordings[/ID[/search?q=WORD]]  recorded sessions, cluster-wide; one's asciicast; key search (recordings-api.ts)
//   POST /api/nodes/NAME/drain       stop placing sessions on NAME and move its primaries away
//   POST /api/nodes/NAME/undrain     let NAME take sessions again
//   POST /api/sessions/ID/move       move a session's primary to a standby ({"to": NODE} optional)
//   POST /api/sessions/ID/end        end a session (its person is told an administrator ended it)
//   POST /api/users/NAME/revoke      revoke every token NAME holds, cluster-wide; their connections close
//   POST /api/users/NAME/second-factor/reset   turn NAME's two-step sign-in off (lost phone and codes)
// Any node answers any call: a call about another node or session is forwarded to the
// node that can act on it.
import { requestJson, type JsonReply } from '../tls/trust.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SECURITY_HEADERS } from './static-files.js';
import { readJsonBody } from './request-body.js';
import type { NodeContext } from './context.js';
import { ADMIN_GROUP } from '../catalog.js';
import { MoveRequestSchema, type ClusterStatus } from '../../shared/protocol/index.js';
import { clusterStatus, localReport } from './cluster-report.js';

export type { ClusterStatus };

/** Marks a call one node passes to another, so it is never passed on again. */
export const FORWARDED = 'x-holdfast-forwarded';
const MAX_BODY_BYTES = 4096;

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
  response.end(JSON.stringify(body) + '\n');
}

export async function adminHandler(ctx: NodeContext, request: IncomingMessage, response: ServerResponse): Promise<void> {
  try {
    const header = request.headers.authorization ?? '';
    const token = header.startsWith('Bearer ') ? header.slice(7) : '';
    const claims = token ? await ctx.tokens.verify(token) : null;
    if (!claims) throw new HttpError(401, 'unauthenticated', 'Send an access token: Authorization: Bearer <token>.');
    const address = request.socket.remoteAddress ?? 'unknown';
    if (!ctx.catalog.identify(claims.user, claims.federated)?.groups.includes(ADMIN_GROUP)) {
      ctx.audit.record('admin.denied', { user: claims.user, address, target: request.url ?? '' });
      throw new HttpError(403, 'forbidden', `Only members of the "${ADMIN_GROUP}" group may use the admin API.`);
    }
    const path = (request.url ?? '').split('?')[0]!;
    const method = request.method ?? 'GET';
    const call = { ctx, token, admin: claims.user, address, forwarded: request.headers[FORWARDED] === '1' };
    if (method === 'GET' || method === 'HEAD') {
      if (path === '/api/replicas') return json(response, 200, localReport(ctx));
      if (path === '/api/status') return json(response, 200, await clusterStatus(ctx, token));
      throw new HttpError(404, 'not_found', 'Try GET /api/status.');
    }
    if (method !== 'POST') throw new HttpError(405, 'method_not_allowed', 'The admin API takes GET and POST.');
    const body = await readBody(request);
    const node = /^\/api\/nodes\/([^/]+)\/(drain|undrain)$/.exec(path);
    if (node) return json(response, 200, await nodeAction(call, decodeURIComponent(node[1]!), node[2] as 'drain' | 'undrain'));
    const revoke = /^\/api\/users\/([^/]+)\/revoke$/.exec(path);
    if (revoke) {
      const name = decodeURIComponent(revoke[1]!);
      // People the identity provider lets in unlisted are in no catalog, but hold tokens all the same.
      if (!ctx.catalog.user(name) && !(ctx.catalog.allowsUnlisted && /^[a-z][a-z0-9_-]{0,63}$/.test(name))) {
        throw new HttpError(404, 'no_such_user', `There is no user "${name}" in this node's catalog.`);
      }
      await ctx.revocations.revokeUser(name);
      ctx.audit.record('admin.revoke', { user: claims.user, address, target: name, result: 'revoked' });
      ctx.log.warn('admin: revoke', { admin: claims.user, user: name });
      return json(response, 200, { user: name, revoked: true });
    }
    const reset = /^\/api\/users\/([^/]+)\/second-factor\/reset$/.exec(path);
    if (reset) {
      const name = decodeURIComponent(reset[1]!);
      if (!ctx.catalog.user(name)) throw new HttpError(404, 'no_such_user', `There is no user "${name}" in this node's catalog.`);
      const wasOn = await ctx.secondFactors.reset(name);
      ctx.audit.record('admin.totp-reset', { user: claims.user, address, target: name, result: wasOn ? 'reset' : 'was-off' });
      ctx.log.warn('admin: two-step sign-in reset', { admin: claims.user, user: name, wasOn });
      return json(response, 200, { user: name, reset: wasOn });
    }
    const session = /^\/api\/sessions\/([^/]+)\/(move|end)$/.exec(path);
    if (session) return json(response, 200, await sessionAction(call, decodeURIComponent(session[1]!), session[2] as 'move' | 'end', body));
    throw new HttpError(404, 'not_found', 'No such admin call; see docs/protocol.md#admin-api.');
  } catch (error) {
    if (error instanceof HttpError) return json(response, error.status, { error: error.code, message: error.message });
    ctx.log.error('admin call failed', { url: request.url, error: String(error) });
    json(response, 503, { error: 'unavailable', message: `The cluster could not answer: ${error instanceof Error ? error.message : String(error)}` });
  }
}

async function readBody(request: IncomingMessage): Promise<unknown> {
  const body = await readJsonBody(request, MAX_BODY_BYTES);
  if (!body.ok) throw new HttpError(body.status, body.status === 413 ? 'too_large' : 'bad_request', body.status === 413 ? `Admin requests are at most ${MAX_BODY_BYTES} bytes.` : body.message);
  return body.value;
}

interface Call {
  ctx: NodeContext;
  token: string;
  admin: string;
  /** The caller's address (for a forwarded call: the node that passed it on). */
  address: string;
  forwarded: boolean;
}

/** Passes a call to the node that can act on it, and returns its answer (or its error). */
async function forward(call: Call, url: string, path: string, body: unknown): Promise<unknown> {
  if (call.forwarded) throw new HttpError(409, 'moved', 'That node or session is not here any more; try again.');
  let reply: JsonReply;
  try {
    reply = await requestJson(`${url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${call.token}`, [FORWARDED]: '1' }, body, timeoutMs: 120_000 }, call.ctx.trust);
  } catch (error) {
    throw new HttpError(502, 'unreachable', `${url} did not answer: ${error instanceof Error ? error.message : String(error)}`);
  }
  const answer = reply.body as { error?: string; message?: string } | null;
  if (!reply.ok) throw new HttpError(reply.status, answer?.error ?? 'failed', answer?.message ?? `HTTP ${reply.status}`);
  return answer;
}

async function nodeAction(call: Call, name: string, action: 'drain' | 'undrain'): Promise<unknown> {
  const { ctx } = call;
  const sessions = ctx.sessions;
  if (name !== sessions.self) {
    const node = sessions.member(name);
    if (!node || !sessions.isLive(name)) throw new HttpError(404, 'no_such_node', `There is no live node "${name}" in the cluster.`);
    return forward(call, node.url, `/api/nodes/${encodeURIComponent(name)}/${action}`, {});
  }
  ctx.log.warn(`admin: ${action}`, { admin: call.admin });
  ctx.audit.record(action === 'drain' ? 'admin.drain' : 'admin.undrain', { user: call.admin, address: call.address, target: name });
  if (action === 'undrain') {
    await sessions.undrain();
    return { node: name, draining: false };
  }
  // Drains take as long as the slowest standby to catch up: answer at once, report progress in /api/status.
  void sessions.drain().catch((error: unknown) => ctx.log.error('drain failed', { error: String(error) }));
  return { node: name, draining: true };
}

async function sessionAction(call: Call, id: string, action: 'move' | 'end', body: unknown): Promise<unknown> {
  const { ctx } = call;
  const parsed = action === 'move' ? MoveRequestSchema.safeParse(body) : null;
  if (parsed && !parsed.success) throw new HttpError(400, 'bad_request', `A move takes {"to": "NODE"} or {}: ${parsed.error.issues[0]?.message ?? 'invalid'}.`);
  const to = parsed?.data.to ?? null;
  const sessions = ctx.sessions;
  const found = await sessions.record(id);
  if (!found || found.record.state !== 'running') throw new HttpError(404, 'no_such_session', `There is no running session "${id}".`);
  const record = found.record;
  if (record.primary !== sessions.self) {
    const node = sessions.member(record.primary);
    if (!node || !sessions.isLive(record.primary)) throw new HttpError(409, 'no_primary', `The session's primary (${record.primary}) is not live; it fails over on its own.`);
    return forward(call, node.url, `/api/sessions/${encodeURIComponent(id)}/${action}`, body);
  }
  if (!sessions.localReplicas().some((r) => r.sessionId === id && r.role === 'primary')) throw new HttpError(409, 'moved', 'The session is changing primary; try again.');
  ctx.log.warn(`admin: session ${action}`, { admin: call.admin, session: id, user: record.owner, to });
  const audit = { user: call.admin, address: call.address, session: id, app: record.appId, target: record.owner };
  if (action === 'end') {
    ctx.audit.record('admin.end', { ...audit, result: 'ended' });
    if (!sessions.endSession(id, { kind: 'admin' })) throw new HttpError(409, 'moved', 'The session is changing primary; try again.');
    return { session: id, ended: true };
  }
  if (to === sessions.self) throw new HttpError(400, 'bad_request', `The session's primary is already on ${to}.`);
  const problem = await sessions.move(id, to, 30_000);
  ctx.audit.record('admin.move', { ...audit, result: problem === null ? 'moved' : 'refused', detail: problem ?? `to ${to ?? 'a standby'}` });
  if (problem !== null) throw new HttpError(409, 'cannot_move', `The session could not move: ${problem}.`);
  const now = await sessions.record(id);
  return { session: id, primary: now?.record.primary ?? null, epoch: now?.record.epoch ?? null };
}
