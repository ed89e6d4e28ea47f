// What every owner-only HTTP call on a session shares (its files, its uploads): the
// caller is the session's owner, shown by their access token — an administrator is
// told what anyone else is, and another person's session gets the answer an unknown id
// gets — and the call is answered by the node running the session's primary: any
// other node passes it on, body and answer streamed, and vouches for the caller's
// address under the cluster's key so the primary's audit log names the person's own.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SessionRecord } from '../cluster/records.js';
import { requestStream } from '../tls/trust.js';
import { FORWARDED, HttpError } from './admin-api.js';
import { SECURITY_HEADERS } from './static-files.js';
import { ZIP_HEADERS } from './files-zip.js';
import type { NodeContext } from './context.js';

/** A forwarded call's answer must start within this long (after its body is sent)… */
const FORWARD_TIMEOUT_MS = 15_000;
/** …and its connection may not be quiet for longer than this. */
const FORWARD_IDLE_MS = 120_000;
/** The client's address, passed on by the node that forwarded a call and vouched for with the cluster's key (for the audit log). */
const CLIENT = 'x-holdfast-client';
/** Request headers passed on to the primary's node. */
const PASSED_ON = ['range', 'if-range', 'if-match', 'holdfast-resume', 'content-type', 'content-length', 'upload-offset', 'upload-done'];
/** What a forwarded answer keeps of the primary's headers. */
const PASSED_BACK = ['content-type', 'content-length', 'content-range', 'content-disposition', 'accept-ranges', 'etag', 'last-modified', 'cache-control', 'location', ...ZIP_HEADERS];

/** The answer to "not there" and to "not yours" alike. */
export const NO_SUCH_SESSION = () => new HttpError(404, 'no_such_session', 'You have no running session with that id.');

/** A call by a session's owner, checked. */
export interface OwnerCall {
  user: string;
  groups: string[];
  token: string;
  /** The person's address (a forwarded call: as the forwarding node vouched for it). */
  address: string;
  record: SessionRecord;
  /** The primary is on another node (its name): pass the call on (`relay`). */
  elsewhere: string | null;
  /** This call was passed on by another node (never pass it on again). */
  forwarded: boolean;
}

/** Checks the caller's token and that `id` is a running session of theirs; refuses (HttpError) otherwise. */
export async function ownerCall(ctx: NodeContext, request: IncomingMessage, id: string): Promise<OwnerCall> {
  const header = request.headers.authorization ?? '';
  const token = header.startsWith('Bearer ') ? header.slice(7) : '';
  const claims = token ? await ctx.tokens.verify(token) : null;
  const person = claims ? ctx.catalog.identify(claims.user, claims.federated) : null;
  if (!claims || !person) throw new HttpError(401, 'unauthenticated', 'Send an access token: Authorization: Bearer <token>.');
  const found = await ctx.sessions.record(id);
  // The owner only: an administrator is told what anyone else is.
  if (!found || found.record.state !== 'running' || found.record.owner !== claims.user) throw NO_SUCH_SESSION();
  const record = found.record;
  return {
    user: claims.user,
    groups: person.groups ?? [],
    token,
    address: clientAddress(ctx, request, token),
    record,
    elsewhere: record.primary === ctx.sessions.self ? null : record.primary,
    forwarded: request.headers[FORWARDED] === '1',
  };
}

/** The primary is on another node: ask it (with the caller's token, which it checks again), body and answer streamed as they come. */
export async function relay(ctx: NodeContext, request: IncomingMessage, response: ServerResponse, call: OwnerCall, withBody = false): Promise<void> {
  const primary = call.elsewhere!;
  if (call.forwarded) throw new HttpError(409, 'moved', 'The session is not here any more; try again.');
  const node = ctx.sessions.member(primary);
  if (!node || !ctx.sessions.isLive(primary)) throw new HttpError(409, 'no_primary', 'The session’s node is not answering; it fails over on its own. Try again in a moment.');
  const headers: Record<string, string> = { authorization: `Bearer ${call.token}`, [FORWARDED]: '1', [CLIENT]: `${call.address} ${vouch(ctx, call.address, call.token)}` };
  for (const name of PASSED_ON) {
    const value = request.headers[name];
    if (typeof value === 'string') headers[name] = value;
  }
  const method = (request.method ?? 'GET') as 'GET' | 'HEAD' | 'POST' | 'PATCH' | 'DELETE';
  let reply: IncomingMessage;
  try {
    reply = await requestStream(`${node.url}${request.url}`, { method, headers, ...(withBody ? { body: request } : {}), timeoutMs: FORWARD_TIMEOUT_MS, idleMs: FORWARD_IDLE_MS }, ctx.trust);
  } catch (error) {
    throw new HttpError(502, 'unreachable', `${primary} did not answer: ${error instanceof Error ? error.message : String(error)}`);
  }
  const passed: Record<string, string> = {};
  for (const name of PASSED_BACK) {
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
