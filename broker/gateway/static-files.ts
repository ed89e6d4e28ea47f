// Serves the built web client. Every response carries the same strict CSP the
// desktop shell uses; paths are resolved inside the root and nowhere else.
import { closeSync, constants, createReadStream, existsSync, fstatSync, openSync } from 'node:fs';
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
  const opened = openRegularFile(file);
  if (opened === null) {
    if (pathname === '/index.html' && !existsSync(file)) {
      return plain(response, 503, 'The web client has not been built. Run "npm run build" and reload.');
    }
    return plain(response, 404, 'Not found.');
  }
  response.writeHead(200, {
    ...SECURITY_HEADERS,
    'Content-Security-Policy': contentSecurityPolicy(otherBrokers),
    'Content-Type': RENDERER_CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
    'Content-Length': opened.size,
    'Cache-Control': file.endsWith('index.html') ? 'no-cache' : 'public, max-age=300',
  });
  sendFile(opened, request, response);
}

/** The request's path, URL-decoded; null when it is not valid URL encoding. */
export function decodedPath(request: IncomingMessage): string | null {
  try {
    return decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname);
  } catch {
    return null;
  }
}

/** A regular file, open for reading, and its size. */
export interface OpenedFile {
  fd: number;
  size: number;
}

/**
 * Opens `file` if it is a regular file itself — not a link to one (O_NOFOLLOW: a link
 * put in a served directory must not serve what it points at, such as /etc/shadow) —
 * and checks the descriptor it opened, so nothing can be swapped in between; null
 * when there is no such file.
 */
export function openRegularFile(file: string): OpenedFile | null {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return null; // missing, a link (ELOOP), a path through a file (ENOTDIR), unreadable
  }
  const stat = fstatSync(fd);
  if (!stat.isFile()) {
    closeSync(fd);
    return null;
  }
  return { fd, size: stat.size };
}

/** Sends an opened file as the response's body (closing it either way). */
export function sendFile(opened: OpenedFile, request: IncomingMessage, response: ServerResponse): void {
  if (request.method === 'HEAD') {
    closeSync(opened.fd);
    return void response.end();
  }
  createReadStream('', { fd: opened.fd }).pipe(response);
}

export function plain(response: ServerResponse, status: number, text: string): void {
  response.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' });
  response.end(text + '\n');
}
