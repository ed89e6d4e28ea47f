// A PDF a session's app printed (docs/protocol.md#printing):
//   GET /api/sessions/ID/print/JOB   the PDF, as `session.printed` announced it
// For the session's owner only, given their access token as `Authorization: Bearer
// <token>` (as the files API: an administrator, like anyone else, gets the answer an
// unknown id gets). The PDF is kept on the primary's node (host/session-printing.ts):
// any other node asks that one, with the caller's token, and passes its answer on. The
// transfer policy is checked again here, so turning printing off stops fetches too.
// The job itself was audited when it was printed (`session.print`).
import { createReadStream } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { requestStream } from '../tls/trust.js';
import { transferRulesFor } from '../config/transfer-policy.js';
import { FORWARDED, HttpError, json } from './admin-api.js';
import { SECURITY_HEADERS, openRegularFile } from './static-files.js';
import { contentDisposition } from './byte-ranges.js';
import type { NodeContext } from './context.js';

const PATH = /^\/api\/sessions\/([^/]+)\/print\/([A-Za-z0-9_-]{1,64})$/;
const FORWARD_TIMEOUT_MS = 15_000;
const NO_SUCH_SESSION = () => new HttpError(404, 'no_such_session', 'You have no running session with that id.');

/** Whether this module answers the request (by its path). */
export function isPrintCall(url: string | undefined): boolean {
  return PATH.test((url ?? '').split('?')[0]!);
}

export async function printHandler(ctx: NodeContext, request: IncomingMessage, response: ServerResponse): Promise<void> {
  try {
    if (request.method !== 'GET' && request.method !== 'HEAD') throw new HttpError(405, 'method_not_allowed', 'A printed document is read with GET.');
    const header = request.headers.authorization ?? '';
    const token = header.startsWith('Bearer ') ? header.slice(7) : '';
    const claims = token ? await ctx.tokens.verify(token) : null;
    const person = claims ? ctx.catalog.identify(claims.user, claims.federated) : null;
    if (!claims || !person) throw new HttpError(401, 'unauthenticated', 'Send an access token: Authorization: Bearer <token>.');
    const match = PATH.exec((request.url ?? '').split('?')[0]!)!;
    let id: string;
    try {
      id = decodeURIComponent(match[1]!);
    } catch {
      throw NO_SUCH_SESSION();
    }
    const found = await ctx.sessions.record(id);
    if (!found || found.record.state !== 'running' || found.record.owner !== claims.user) throw NO_SUCH_SESSION();
    const record = found.record;
    if (!transferRulesFor(ctx.config.transferPolicies, record.appId, { name: claims.user, groups: person.groups ?? [] }).print) {
      throw new HttpError(403, 'print_off', `Printing is turned off for ${record.appName} by your administrator.`);
    }
    if (record.primary !== ctx.sessions.self) return await relay(ctx, request, response, record.primary, token);
    const session = await ctx.sessions.awaitPrimary(id, 0);
    if (!session) throw new HttpError(409, 'moved', 'The session is changing primary; try again.');
    const job = session.printJob?.(match[2]!);
    const opened = job ? openRegularFile(job.path) : null;
    if (!job || !opened) throw new HttpError(404, 'no_such_job', `${record.appName} has no such printed document any more (a session keeps its last 20, and they are gone after a failover); print it again.`);
    response.writeHead(200, {
      ...SECURITY_HEADERS,
      'Content-Type': 'application/pdf',
      'Content-Length': String(opened.size),
      'Content-Disposition': contentDisposition(`${job.name.replace(/\.pdf$/i, '')}.pdf`),
      'Cache-Control': 'no-store',
    });
    if (request.method === 'HEAD') return void response.end();
    createReadStream('', { fd: opened.fd }).on('error', () => response.destroy()).pipe(response);
  } catch (error) {
    if (response.headersSent) return void response.destroy();
    if (error instanceof HttpError) return json(response, error.status, { error: error.code, message: error.message });
    ctx.log.error('print fetch failed', { url: request.url, error: String(error) });
    json(response, 503, { error: 'unavailable', message: 'The printed document could not be read; try again.' });
  }
}

/** The primary is on another node: ask it (with the caller's token, which it checks again) and pass its answer on. */
async function relay(ctx: NodeContext, request: IncomingMessage, response: ServerResponse, primary: string, token: string): Promise<void> {
  if (request.headers[FORWARDED] === '1') throw new HttpError(409, 'moved', 'The session is not here any more; try again.');
  const node = ctx.sessions.member(primary);
  if (!node || !ctx.sessions.isLive(primary)) throw new HttpError(409, 'no_primary', 'The session’s node is not answering; try again in a moment.');
  let reply: IncomingMessage;
  try {
    reply = await requestStream(`${node.url}${request.url}`, { method: request.method === 'HEAD' ? 'HEAD' : 'GET', headers: { authorization: `Bearer ${token}`, [FORWARDED]: '1' }, timeoutMs: FORWARD_TIMEOUT_MS, idleMs: FORWARD_TIMEOUT_MS }, ctx.trust);
  } catch (error) {
    throw new HttpError(502, 'unreachable', `${primary} did not answer: ${error instanceof Error ? error.message : String(error)}`);
  }
  const passed: Record<string, string> = {};
  for (const name of ['content-type', 'content-length', 'content-disposition', 'cache-control']) {
    const value = reply.headers[name];
    if (typeof value === 'string') passed[name] = value;
  }
  response.writeHead(reply.statusCode ?? 502, { ...SECURITY_HEADERS, ...passed });
  await new Promise<void>((resolve) => {
    reply.on('error', () => response.destroy());
    reply.on('aborted', () => response.destroy());
    response.on('close', () => {
      if (!reply.complete) reply.destroy();
      resolve();
    });
    reply.pipe(response);
  });
}
