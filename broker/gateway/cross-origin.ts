// The session and admin APIs for pages of another origin (CORS): the desktop app's
// renderer (holdfast-app://renderer) and the origins an administrator allowed
// (node.allowedOrigins) call /api/… on a broker that is not their own origin, with a
// bearer token — no cookie, so a page of any other origin gains nothing it could not
// already do, but it is still told no: only origins allowed to open sessions get the
// headers that let their pages read the answers. A preflight (OPTIONS) is answered here.
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Request headers the APIs read (Range for resumes, Upload-* for uploads). */
const ALLOWED_HEADERS = 'authorization, content-type, range, if-range, if-match, holdfast-resume, upload-offset, upload-done';
/** Answer headers a page may read. */
const EXPOSED_HEADERS = 'content-length, content-range, content-disposition, accept-ranges, etag, last-modified, holdfast-zip-skipped';
const METHODS = 'GET, HEAD, POST, PATCH, DELETE';
/** How long a browser may keep a preflight's answer (s). */
const MAX_AGE = 600;

/**
 * For a request with an Origin that is allowed and not the node's own page: sets the
 * headers that let it read the answer. Returns true when the request was a preflight,
 * answered (the caller stops there).
 */
export function crossOrigin(request: IncomingMessage, response: ServerResponse, allowed: (origin: string, host: string | undefined) => boolean): boolean {
  const origin = request.headers.origin;
  response.setHeader('Vary', 'Origin');
  if (origin === undefined || !allowed(origin, request.headers.host)) {
    if (request.method !== 'OPTIONS') return false;
    response.writeHead(403, { 'Content-Type': 'text/plain; charset=utf-8' });
    response.end('This origin may not call the broker; an administrator can allow it in node.allowedOrigins.\n');
    return true;
  }
  response.setHeader('Access-Control-Allow-Origin', origin);
  response.setHeader('Access-Control-Expose-Headers', EXPOSED_HEADERS);
  if (request.method !== 'OPTIONS') return false;
  response.writeHead(204, {
    'Access-Control-Allow-Methods': METHODS,
    'Access-Control-Allow-Headers': ALLOWED_HEADERS,
    'Access-Control-Max-Age': String(MAX_AGE),
  });
  response.end();
  return true;
}
