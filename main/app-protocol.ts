// The renderer is served from a privileged custom scheme instead of file:// (Electron
// security checklist 18): only files under the renderer directory, each response
// carrying the desktop CSP as a header, so the page can reach exactly the configured brokers.
import { protocol } from 'electron';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { RENDERER_CONTENT_TYPES } from '../shared/renderer-policy.js';

export const APP_SCHEME = 'holdfast-app';
export const APP_ORIGIN = `${APP_SCHEME}://renderer`;
export const APP_INDEX = `${APP_ORIGIN}/index.html`;

/** Must run before the app is ready. */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, corsEnabled: true } }]);
}

/** The file a request maps to, or null for anything outside the renderer directory or another host. */
export function resolveAppFile(root: string, url: string): string | null {
  const match = /^holdfast-app:\/\/renderer(\/[^?#]*)?/i.exec(url);
  if (!match) return null;
  let pathname: string;
  try {
    pathname = decodeURIComponent(match[1] ?? '/');
  } catch {
    return null;
  }
  if (pathname.endsWith('/')) pathname += 'index.html';
  const base = resolve(root);
  const file = resolve(join(base, normalize(pathname)));
  return file.startsWith(base + sep) ? file : null;
}

/** Serves the renderer; `csp()` is read per request so a changed broker setting applies on reload. */
export function serveApp(root: string, csp: () => string): void {
  protocol.handle(APP_SCHEME, async (request) => {
    const file = resolveAppFile(root, request.url);
    const headers = { 'Content-Security-Policy': csp(), 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-cache' };
    if (!file) return new Response('Not found.', { status: 404, headers });
    try {
      const body = await readFile(file);
      return new Response(body, { status: 200, headers: { ...headers, 'Content-Type': RENDERER_CONTENT_TYPES[extname(file)] ?? 'application/octet-stream' } });
    } catch {
      return new Response('Not found.', { status: 404, headers });
    }
  });
}
