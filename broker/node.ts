// A broker node: HTTP for the web client, the WebSocket gateway, and the sessions
// it hosts. `start()` resolves once it listens; `stop()` ends every session.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { mkdirSync } from 'node:fs';
import { WebSocketServer, type WebSocket } from 'ws';
import { BEARER_PREFIX, CloseCode, SUBPROTOCOL, WS_PATH } from '../shared/protocol/index.js';
import { SignInLimiter } from './auth/rate-limit.js';
import { decoyHash, verifyPassword } from './auth/password.js';
import { TokenService } from './auth/tokens.js';
import { Catalog } from './catalog.js';
import type { NodeConfig } from './config/schema.js';
import { ClientConnection } from './gateway/client-connection.js';
import type { NodeContext } from './gateway/context.js';
import { plain, serveStatic } from './gateway/static-files.js';
import { createLogger, type Logger } from './log.js';
import { SessionRegistry } from './session-registry.js';

export interface NodeOptions {
  config: NodeConfig;
  /** Directory holding the built web client (index.html). */
  webRoot: string;
  log?: Logger;
}

type Tracked = WebSocket & { alive?: boolean };

export class BrokerNode {
  readonly ctx: NodeContext;
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(private readonly options: NodeOptions) {
    const { config } = options;
    const log = options.log ?? createLogger({ node: config.node.name });
    const catalog = new Catalog(config);
    this.ctx = {
      config,
      catalog,
      log,
      tokens: TokenService.fromKeyFile(config.node.tokenKeyFile, config.node.accessTokenTtlSeconds),
      limits: { byUser: new SignInLimiter({ freeFailures: 3 }), byAddress: new SignInLimiter({ freeFailures: 20 }) },
      sessions: new SessionRegistry(config, log),
      verifyUser: async (name, password) => {
        const user = catalog.user(name);
        // Unknown names cost the same scrypt work as known ones: no timing oracle.
        const ok = await verifyPassword(password, user?.passwordHash ?? (await decoyHash()));
        return ok && user !== undefined;
      },
    };
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: config.node.maxPayloadBytes,
      perMessageDeflate: false,
      handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
    });
    this.http = createServer((request, response) => {
      if (request.method !== 'GET' && request.method !== 'HEAD') return plain(response, 405, 'Method not allowed.');
      if (request.url === '/healthz') return plain(response, 200, 'ok');
      serveStatic(options.webRoot, request, response);
    });
    this.http.on('upgrade', (request, socket, head) => void this.upgrade(request, socket, head));
    this.http.on('clientError', (_error, socket) => socket.destroy());
  }

  async start(): Promise<string> {
    const { host, port } = this.options.config.node.listen;
    mkdirSync(this.options.config.node.stateDir, { recursive: true, mode: 0o700 });
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(port, host, () => resolve());
    });
    this.startHeartbeat();
    const url = this.url;
    this.ctx.log.info('listening', { url });
    return url;
  }

  get url(): string {
    const address = this.http.address();
    if (!address || typeof address === 'string') throw new Error('node is not listening');
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `http://${host}:${address.port}`;
  }

  async stop(): Promise<void> {
    clearInterval(this.heartbeat);
    await this.ctx.sessions.stop();
    for (const client of this.wss.clients) client.close(CloseCode.goingAway, 'node shutting down');
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
    for (const client of this.wss.clients) client.terminate();
  }

  private async upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const path = (request.url ?? '').split('?')[0];
    const offered = (request.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
    if (path !== WS_PATH) return reject(socket, 404, 'Not Found');
    if (!offered.includes(SUBPROTOCOL)) return reject(socket, 400, 'Bad Request', `offer the "${SUBPROTOCOL}" subprotocol`);
    const bearer = offered.find((p) => p.startsWith(BEARER_PREFIX));
    const claims = bearer ? await this.ctx.tokens.verify(bearer.slice(BEARER_PREFIX.length)) : null;
    const address = request.socket.remoteAddress ?? 'unknown';
    this.wss.handleUpgrade(request, socket, head, (ws) => {
      if (bearer && (!claims || !this.ctx.catalog.user(claims.user))) {
        // Completing the handshake first lets a browser see why: it cannot read a 401.
        ws.close(CloseCode.unauthenticated, 'your sign-in has expired or is not valid; sign in again');
        return;
      }
      const tracked = ws as Tracked;
      tracked.alive = true;
      ws.on('pong', () => (tracked.alive = true));
      new ClientConnection(ws, this.ctx, address, claims?.user ?? null);
    });
  }

  /** Pings every half period; a peer that missed a whole period is cut off. */
  private startHeartbeat(): void {
    const period = this.options.config.node.heartbeatMs;
    this.heartbeat = setInterval(() => {
      for (const client of this.wss.clients as Set<Tracked>) {
        if (client.alive === false) {
          this.ctx.log.info('heartbeat lost; closing connection');
          client.terminate();
          continue;
        }
        client.alive = false;
        client.ping();
      }
    }, Math.max(100, Math.floor(period / 2)));
    this.heartbeat.unref();
  }
}

function reject(socket: Duplex, status: number, text: string, detail = text): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(detail) + 1}\r\n\r\n${detail}\n`);
}
