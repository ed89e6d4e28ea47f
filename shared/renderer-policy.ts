// What the renderer's pages are served with, the same in a browser (every broker node
// serves the web client) and in the desktop shell (its holdfast-app:// scheme): the
// content types of the built files, and one Content-Security-Policy that differs only
// in what the page may connect to.

export const RENDERER_CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
  '.map': 'application/json',
};

/**
 * Begins `default-src 'none'`; scripts only from the page's own origin. style-src
 * allows inline styles because xterm.js injects <style> elements for its theme and
 * geometry. `connect` is every source the page may open a socket or a fetch to
 * ('none' when empty).
 */
export function rendererCsp(connect: readonly string[]): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    connect.length > 0 ? `connect-src ${connect.join(' ')}` : "connect-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    // A PDF the session's app printed is loaded into a hidden frame (an object URL) to be printed.
    "frame-src blob:",
    "object-src 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}
