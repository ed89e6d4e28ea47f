// A PDF a session's app printed (docs/protocol.md#printing):
//   GET /api/sessions/ID/print/JOB   the PDF, as `session.printed` announced it
// For the session's owner only, given their access token as `Authorization: Bearer
// <token>` (as the files API: an administrator, like anyone else, gets the answer an
// unknown id gets). The PDF is kept on the primary's node (host/session-printing.ts):
// any other node asks that one (session-call.ts), and passes its answer on. The
// transfer policy is checked again here, so turning printing off stops fetches too.
// The job itself was audited when it was printed (`session.print`).
import { createReadStream } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { transferRulesFor } from '../config/transfer-policy.js';
import { HttpError, json } from './admin-api.js';
import { NO_SUCH_SESSION, ownerCall, relay } from './session-call.js';
import { SECURITY_HEADERS, openRegularFile } from './static-files.js';
import { contentDisposition } from './byte-ranges.js';
import type { NodeContext } from './context.js';

const PATH = /^\/api\/sessions\/([^/]+)\/print\/([A-Za-z0-9_-]{1,64})$/;

/** Whether this module answers the request (by its path). */
export function isPrintCall(url: string | undefined): boolean {
  return PATH.test((url ?? '').split('?')[0]!);
}

export async function printHandler(ctx: NodeContext, request: IncomingMessage, response: ServerResponse): Promise<void> {
  try {
    if (request.method !== 'GET' && request.method !== 'HEAD') throw new HttpError(405, 'method_not_allowed', 'A printed document is read with GET.');
    const match = PATH.exec((request.url ?? '').split('?')[0]!)!;
    let id: string;
    try {
      id = decodeURIComponent(match[1]!);
    } catch {
      throw NO_SUCH_SESSION();
    }
    const owner = await ownerCall(ctx, request, id);
    const record = owner.record;
    if (!transferRulesFor(ctx.config.transferPolicies, record.appId, { name: owner.user, groups: owner.groups }).print) {
      throw new HttpError(403, 'print_off', `Printing is turned off for ${record.appName} by your administrator.`);
    }
    if (owner.elsewhere) return await relay(ctx, request, response, owner);
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
