// The node's HTTP routes, in the order they are tried: the session APIs (thumbnails,
// files), the admin API, the kept sign-in, then read-only pages — health, metrics, the
// update feed, OIDC — and the web client's static files. WebSocket upgrades are not
// here (node.ts). Only the admin API and the kept sign-in take POSTs.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { adminHandler } from './admin-api.js';
import { crossOrigin } from './cross-origin.js';
import type { NodeContext } from './context.js';
import { filesHandler, isFilesCall } from './files-api.js';
import { isUploadsCall, uploadsHandler } from './uploads-api.js';
import { KeptSignIn } from './kept-sign-in.js';
import { OidcRoutes } from './oidc-routes.js';
import { plain, serveStatic } from './static-files.js';
import { isPrintCall, printHandler } from './print-api.js';
import { isRecordingsCall, recordingsHandler } from './recordings-api.js';
import { isThumbnailCall, thumbnailHandler } from './thumbnail-api.js';
import { UPDATES_PATH, serveUpdateFeed } from './update-feed.js';

export interface HttpRouteDeps {
  ctx: NodeContext;
  kept: KeptSignIn;
  oidc: OidcRoutes;
  /** The node has joined its cluster (it knows its peers and holds a lease). */
  ready: () => boolean;
  /** /metrics, when node.metrics is on (null: off). */
  metrics: ((response: ServerResponse) => Promise<void>) | null;
  updatesDir: string | undefined;
  webRoot: string;
  /** The other nodes' URLs, for the web client's failover list. */
  otherBrokers: () => string[];
  /** Whether a page of `origin` may use this node (the desktop app, node.allowedOrigins, the node's own page). */
  originAllowed: (origin: string, host: string | undefined) => boolean;
}

export function httpRoutes(deps: HttpRouteDeps): (request: IncomingMessage, response: ServerResponse) => void {
  const { ctx } = deps;
  const starting = (response: ServerResponse) => plain(response, 503, 'The node is starting; try again in a moment.');
  return (request, response) => {
    const path = (request.url ?? '').split('?')[0]!;
    // The APIs answer the desktop app's pages (another origin) too: a preflight ends here.
    if (path.startsWith('/api/') && crossOrigin(request, response, deps.originAllowed)) return;
    if (isThumbnailCall(request.url)) return void thumbnailHandler(ctx, request, response);
    if (isFilesCall(request.url)) return void filesHandler(ctx, request, response);
    if (isUploadsCall(request.url)) return void uploadsHandler(ctx, request, response);
    if (isPrintCall(request.url)) return void printHandler(ctx, request, response);
    if (isRecordingsCall(request.url)) return void recordingsHandler(ctx, request, response);
    if (request.url?.startsWith('/api/')) return void adminHandler(ctx, request, response);
    if (KeptSignIn.handles(path)) {
      if (!deps.ready()) return starting(response);
      return void deps.kept.handle(request, response).catch((error: unknown) => {
        ctx.log.error('kept sign-in failed', { error: String(error) });
        if (!response.headersSent) plain(response, 500, 'The node could not answer; sign in with your password.');
      });
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') return plain(response, 405, 'Method not allowed.');
    if (request.url === '/healthz') return deps.ready() ? plain(response, 200, 'ok') : plain(response, 503, 'starting');
    if (request.url === '/metrics' && deps.metrics) return void deps.metrics(response);
    if (request.url?.startsWith(UPDATES_PATH)) return serveUpdateFeed(deps.updatesDir, request, response);
    if (OidcRoutes.handles(path)) {
      if (!deps.ready()) return starting(response);
      return void deps.oidc.handle(request, response);
    }
    serveStatic(deps.webRoot, request, response, deps.otherBrokers());
  };
}
