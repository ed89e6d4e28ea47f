// Serves the built web client. Every response carries the same strict CSP the
// desktop shell uses; paths are resolved inside the root and nowhere else.
import { createReadStream, existsSync, statSync } from 'node:fs';
import { extname, join, normalize, resolve, sep } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RENDERER_CONTENT_TYPES, rendererCsp } from '../../shared/renderer-policy.js';

/** The web client's CSP: this node ('self') and the cluster's other nodes, so the client can resume there if this node goes. */
export function contentSecurityPolicy(otherBrokers: string[] = []): string {
  return rendererCsp(["'self'", ...otherBrokers.map((url) => url.replace(/^http/, 'ws'))]);
}

export const CONTENT_SECURITY_POLICY = contentSecurityPolicy();

export const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

export function serveStatic(root: string, request: IncomingMessage, response: ServerResponse, otherBrokers: string[] = []): void {
  const base = resolve(root);
  let pathname = decodedPath(request);
  if (pathname === null) return plain(response, 400, 'Bad request: the path is not valid URL encoding.');
  if (pathname.endsWith('/')) pathname += 'index.html';
  const file = resolve(join(base, normalize(pathname)));
  if (file !== base && !file.startsWith(base + sep)) return plain(response, 404, 'Not found.');
  const size = fileSize(file);
  if (size === null) {
    if (pathname === '/index.html' && !existsSync(file)) {
      return plain(response, 503, 'The web client has not been built. Run "npm run build" and reload.');
    }
    return plain(response, 404, 'Not found.');
  }
  response.writeHead(200, {
    ...SECURITY_HEADERS,
    'Content-Security-Policy': contentSecurityPolicy(otherBrokers),
    'Content-Type': RENDERER_CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
    'Content-Length': size,
    'Cache-Control': file.endsWith('index.html') ? 'no-cache' : 'public, max-age=300',
  });
  if (request.method === 'HEAD') return void response.end();
  createReadStream(file).pipe(response);
}

/** The request's path, URL-decoded; null when it is not valid URL encoding. */
export function decodedPath(request: IncomingMessage): string | null {
  try {
    return decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname);
  } catch {
    return null;
  }
}

/** The size of a regular file, or null when there is none at `file`. */
export function fileSize(file: string): number | null {
  try {
    const stat = statSync(file);
    return stat.isFile() ? stat.size : null;
  } catch {
    return null; // missing, a path through a file (ENOTDIR), unreadable
  }
}

export function plain(response: ServerResponse, status: number, text: string): void {
  response.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' });
  response.end(text + '\n');
}
