// GET /api/sessions/ID/thumbnail (docs/protocol.md#session-thumbnails): a small picture
// of a running session's screen, for its person's list of running sessions. It answers
// the session's owner, or an administrator, given their access token as
// `Authorization: Bearer <token>`; anyone else learns nothing — another person's
// session gets the very answer an unknown id gets. Like the admin API, any node
// answers: a session whose primary is on another node is asked of that node.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { requestJson, type JsonReply } from '../tls/trust.js';
import { ADMIN_GROUP } from '../catalog.js';
import { ThumbnailSchema, type Thumbnail } from '../../shared/protocol/index.js';
import { FORWARDED, HttpError, json } from './admin-api.js';
import type { NodeContext } from './context.js';

const PATH = /^\/api\/sessions\/([^/]+)\/thumbnail$/;
const FORWARD_TIMEOUT_MS = 10_000;
/** The answer to "not there" and to "not yours" alike. */
const NO_SUCH_SESSION = () => new HttpError(404, 'no_such_session', 'You have no running session with that id.');

/** Whether this module answers the request (by its path). */
export function isThumbnailCall(url: string | undefined): boolean {
  return PATH.test((url ?? '').split('?')[0]!);
}

export async function thumbnailHandler(ctx: NodeContext, request: IncomingMessage, response: ServerResponse): Promise<void> {
  try {
    if (request.method !== 'GET' && request.method !== 'HEAD') throw new HttpError(405, 'method_not_allowed', 'A thumbnail is read with GET.');
    const header = request.headers.authorization ?? '';
    const token = header.startsWith('Bearer ') ? header.slice(7) : '';
    const claims = token ? await ctx.tokens.verify(token) : null;
    if (!claims) throw new HttpError(401, 'unauthenticated', 'Send an access token: Authorization: Bearer <token>.');
    let id: string;
    try {
      id = decodeURIComponent(PATH.exec((request.url ?? '').split('?')[0]!)![1]!);
    } catch {
      throw NO_SUCH_SESSION();
    }
    const found = await ctx.sessions.record(id);
    const admin = ctx.catalog.identify(claims.user, claims.federated)?.groups.includes(ADMIN_GROUP) ?? false;
    if (!found || found.record.state !== 'running' || (found.record.owner !== claims.user && !admin)) throw NO_SUCH_SESSION();
    const record = found.record;
    const forwarded = request.headers[FORWARDED] === '1';
    if (record.owner !== claims.user && !forwarded) {
      ctx.audit.record('admin.thumbnail', { user: claims.user, address: request.socket.remoteAddress ?? 'unknown', session: id, app: record.appId, target: record.owner });
    }
    return json(response, 200, record.primary === ctx.sessions.self ? await here(ctx, id) : await elsewhere(ctx, record.primary, id, token, forwarded));
  } catch (error) {
    if (error instanceof HttpError) return json(response, error.status, { error: error.code, message: error.message });
    ctx.log.error('thumbnail failed', { url: request.url, error: String(error) });
    json(response, 503, { error: 'unavailable', message: 'The session’s picture could not be made; try again.' });
  }
}

/** The primary is here: its display makes the picture. */
async function here(ctx: NodeContext, id: string): Promise<Thumbnail> {
  const session = await ctx.sessions.awaitPrimary(id, 0);
  if (!session) throw new HttpError(409, 'moved', 'The session is changing primary; try again.');
  const thumbnail = await session.thumbnail();
  if (!thumbnail) throw new HttpError(503, 'not_ready', 'The session’s screen is not ready yet; try again.');
  return thumbnail;
}

/** The primary is on another node: ask it (with the caller's token, which it checks again). */
async function elsewhere(ctx: NodeContext, primary: string, id: string, token: string, forwarded: boolean): Promise<Thumbnail> {
  if (forwarded) throw new HttpError(409, 'moved', 'The session is not here any more; try again.');
  const node = ctx.sessions.member(primary);
  if (!node || !ctx.sessions.isLive(primary)) throw new HttpError(409, 'no_primary', 'The session’s node is not answering; it fails over on its own.');
  let reply: JsonReply;
  try {
    const path = `/api/sessions/${encodeURIComponent(id)}/thumbnail`;
    reply = await requestJson(`${node.url}${path}`, { method: 'GET', headers: { authorization: `Bearer ${token}`, [FORWARDED]: '1' }, timeoutMs: FORWARD_TIMEOUT_MS }, ctx.trust);
  } catch (error) {
    throw new HttpError(502, 'unreachable', `${primary} did not answer: ${error instanceof Error ? error.message : String(error)}`);
  }
  const answer = reply.body as { error?: string; message?: string } | null;
  if (!reply.ok) throw new HttpError(reply.status, answer?.error ?? 'failed', answer?.message ?? `HTTP ${reply.status}`);
  const thumbnail = ThumbnailSchema.safeParse(reply.body);
  if (!thumbnail.success) throw new HttpError(502, 'unreachable', `${primary} sent a thumbnail this node does not understand.`);
  return thumbnail.data;
}
