// Serves the desktop app's update feed from the directory in node.updatesDir, at
// /updates/: electron-updater's generic provider reads latest.yml (latest-linux.yml,
// latest-mac.yml, beta*.yml) there and downloads the installer it names, checking the
// sha512 the feed gives. Only regular files directly in the directory are served: not
// links (a link to /etc/shadow there must not serve it), not directories.
import { extname, join, resolve } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SECURITY_HEADERS, decodedPath, openRegularFile, plain, sendFile } from './static-files.js';

export const UPDATES_PATH = '/updates/';

/** File names electron-builder writes: no directories, no hidden files. */
const FEED_FILE = /^[A-Za-z0-9][A-Za-z0-9._+ -]{0,254}$/;

export function serveUpdateFeed(dir: string | undefined, request: IncomingMessage, response: ServerResponse): void {
  if (!dir) return plain(response, 404, 'This node serves no update feed (set node.updatesDir).');
  const path = decodedPath(request);
  if (path === null) return plain(response, 400, 'Bad request: the path is not valid URL encoding.');
  const name = path.slice(UPDATES_PATH.length);
  if (!FEED_FILE.test(name) || name.includes('..')) return plain(response, 404, 'Not found.');
  const opened = openRegularFile(join(resolve(dir), name));
  if (opened === null) return plain(response, 404, 'Not found.');
  const feed = ['.yml', '.yaml'].includes(extname(name));
  response.writeHead(200, {
    ...SECURITY_HEADERS,
    'Content-Type': feed ? 'text/yaml; charset=utf-8' : 'application/octet-stream',
    'Content-Length': opened.size,
    // The channel file changes with each release; installers are named by version.
    'Cache-Control': feed ? 'no-cache' : 'public, max-age=3600',
  });
  sendFile(opened, request, response);
}
