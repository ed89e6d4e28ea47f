// A broker node: HTTP for the web client, the WebSocket gateway, and the sessions
// it hosts. `start()` resolves once it listens; `stop()` ends every session.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { mkdirSync, readFileSync } from 'node:fs';
import { WebSocketServer, type WebSocket } from 'ws';
import { BEARER_PREFIX, CloseCode, OIDC_CALLBACK_PATH, SUBPROTOCOL, WS_PATH } from '../shared/protocol/index.js';
import { SignInLimiter } from './auth/rate-limit.js';
import { decoyFor, verifyPassword } from './auth/password.js';
import { TokenService } from './auth/tokens.js';
import { Catalog } from './catalog.js';
import type { NodeConfig } from './config/schema.js';
import { ClientConnection } from './gateway/client-connection.js';
import type { NodeContext } from './gateway/context.js';
import { plain } from './gateway/static-files.js';
import { httpRoutes } from './gateway/http-routes.js';
import { createLogger, levelFromEnv, type Logger } from './log.js';
import { noAudit, openAuditLog } from './audit.js';
import { REVOKED, Revocations } from './auth/revocations.js';
import { SecondFactors, TOTP } from './auth/second-factor.js';
import { SharedSignInLimits } from './auth/shared-limits.js';
import { join } from 'node:path';
import { SessionRegistry } from './registry/session-registry.js';
import { hostNames, hostOf } from './gateway/host-names.js';
import { SandboxHost } from './host/sandbox-host.js';
import { Cluster } from './cluster/cluster.js';
import { PeerHub } from './cluster/peers.js';
import { PEER_PATH } from './cluster/peer-protocol.js';
import { createControlPlane } from './control-plane/index.js';
import { LOCAL_SUBPROTOCOL } from './gateway/tunnel.js';
import { METRICS_CONTENT_TYPE, NodeMetrics } from './metrics.js';
import { TimedControlPlane } from './control-plane/timed.js';
import { VERSION } from './version.js';
import { loadServerTls, type ServerTls } from './tls/server.js';
import { makeTrust, SYSTEM_TRUST } from './tls/trust.js';
import { IdentityProvider } from './auth/oidc.js';
import { SignInCodes } from './auth/sign-in-codes.js';
import { AnonymousGate } from './gateway/anonymous-gate.js';
import { KeptSignIn } from './gateway/kept-sign-in.js';
import { OidcRoutes } from './gateway/oidc-routes.js';

export interface NodeOptions {
  config: NodeConfig;
  /** Directory holding the built web client (index.html). */
  webRoot: string;
  log?: Logger;
  /** The config file the node was started with: hidden from every sandbox, like the token key. */
  configFile?: string;
}

type Tracked = WebSocket & { alive?: boolean };

/** The desktop app's pages (main/app-protocol.ts serves the renderer there). */
const DESKTOP_ORIGIN = 'holdfast-app://renderer';

/** How long a stopping node waits for its clients to close before it closes them. */
const STOP_GRACE_MS = 2000;

export class BrokerNode {
  /** The gateway sees SessionService; tests and this node reach the registry itself. */
  readonly ctx: NodeContext & { readonly sessions: SessionRegistry };
  private readonly http: Server | TlsServer;
  /** node.tls, read and checked; null: plain http and ws. */
  private tls: ServerTls | null;
  private readonly wss: WebSocketServer;
  private heartbeat: NodeJS.Timeout | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private readonly peers: PeerHub;
  private cluster: Cluster | null = null;
  private registry: SessionRegistry | null = null;
  private revocations: Revocations | null = null;
  private secondFactors: SecondFactors | null = null;
  private sharedLimits: SharedSignInLimits | null = null;
  private signInCodes: SignInCodes | null = null;
  private readonly oidc: OidcRoutes;
  private readonly kept: KeptSignIn;
  /** Connections not signed in yet, bounded per address (a reload's limits apply at once). */
  private readonly anonymous = new AnonymousGate(() => this.ctx.config.node.limits);
  /** Set once the node has joined its cluster: until then it serves nobody. */
  private ready = false;
  readonly metrics: NodeMetrics;

  constructor(private readonly options: NodeOptions) {
    const { config } = options;
    const log = options.log ?? createLogger({ node: config.node.name }, config.node.logLevel ?? levelFromEnv('info'));
    const catalog = new Catalog(config);
    // Until the node has joined its cluster nothing is revoked (and nobody is served).
    const tokens = TokenService.fromKeyFile(config.node.tokenKeyFile, config.node.accessTokenTtlSeconds, config.node.refreshTokenTtlDays * 86_400, () => this.revocations);
    this.tls = config.node.tls ? loadServerTls(config.node.tls) : null;
    // Links to other nodes (peers, tunnels, forwarded admin calls) trust the system's
    // CAs and node.tls.caFile — by default, this node's own certificate.
    const trust = this.tls ? makeTrust({ extraCa: this.tls.peerCa }) : SYSTEM_TRUST;
    // Peer links deliver to the session registry, which sends on them: the one knot
    // between the two is tied here, with a function (the registry is made in start()).
    this.peers = new PeerHub(config.node.name, tokens.key, log, trust, () => this.registry?.peerHandlers ?? null, config.cluster.peerSilenceMs);
    // Parts made in start(): the registry needs this node's URL, known only once it listens.
    const late = <T>(part: () => T | null) => (): T => {
      const made = part();
      if (!made) throw new Error('node not started');
      return made;
    };
    const registry = late(() => this.registry);
    const secondFactors = late(() => this.secondFactors);
    const revocations = late(() => this.revocations);
    const signInCodes = late(() => this.signInCodes);
    this.metrics = new NodeMetrics(config.node.name, VERSION, {
      sessions: () => this.registry?.metricsSessions() ?? [],
      accepting: () => this.cluster?.accepting ?? false,
      draining: () => this.cluster?.draining ?? false,
    });
    this.ctx = {
      config,
      catalog,
      log,
      tokens,
      trust,
      metrics: this.metrics,
      limits: {
        byPair: new SignInLimiter({ freeFailures: 3, lockoutAfter: config.node.limits.lockoutAfter, lockoutMs: config.node.limits.lockoutMinutes * 60_000 }),
        byAddress: new SignInLimiter({ freeFailures: 20 }),
        byUser: new SignInLimiter({ freeFailures: 50, maxDelayMs: 30_000 }),
      },
      audit: config.node.auditLog === false ? noAudit : openAuditLog(config.node.auditLog ?? join(config.node.stateDir, 'audit.log'), config.node.name, (error) => log.error('audit log', { error: String(error) })),
      get sessions() {
        return registry();
      },
      get revocations() {
        return revocations();
      },
      get secondFactors() {
        return secondFactors();
      },
      get signInCodes() {
        return signInCodes();
      },
      connections: new Set(),
      verifyUser: async (name, password) => {
        const hash = catalog.user(name)?.passwordHash;
        // Unknown names, and people who sign in only through the identity provider, cost
        // the same scrypt work as known ones and get the same answer: no oracle.
        const ok = await verifyPassword(password, hash ?? (await decoyFor(name, catalog.passwordHashes())));
        return ok && hash !== undefined;
      },
    };
    const provider = config.oidc
      ? new IdentityProvider(config.oidc, oidcSecret(config.oidc), () => config.oidc?.redirectUrl ?? `${config.cluster.advertiseUrl ?? this.url}${OIDC_CALLBACK_PATH}`)
      : null;
    this.oidc = new OidcRoutes(this.ctx, provider, signInCodes);
    this.kept = new KeptSignIn(this.ctx);
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: config.node.maxPayloadBytes,
      perMessageDeflate: false,
      handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
    });
    const handler = httpRoutes({
      ctx: this.ctx,
      kept: this.kept,
      oidc: this.oidc,
      ready: () => this.ready,
      metrics: config.node.metrics ? (response) => this.serveMetrics(response) : null,
      updatesDir: config.node.updatesDir,
      webRoot: options.webRoot,
      otherBrokers: () => (this.cluster ? this.cluster.brokerUrls().slice(1) : []),
      originAllowed: (origin, host) => this.originAllowed(origin, host),
    });
    this.http = this.tls ? createTlsServer({ cert: this.tls.cert, key: this.tls.key, minVersion: 'TLSv1.2' }, handler) : createServer(handler);
    if (this.tls) this.metrics.certificateExpiry(this.tls.notAfter);
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
    const url = this.url;
    const { cluster: clusterConfig } = this.options.config;
    const metrics = this.metrics;
    // A single node keeps second factors and revocations on disk (a cluster keeps them in etcd).
    const durable = { file: join(this.options.config.node.stateDir, 'control-plane.json'), prefixes: [TOTP, REVOKED] };
    const plane = new TimedControlPlane(createControlPlane(clusterConfig.controlPlane, durable), {
      observe(op, seconds, ok) {
        metrics.controlPlane.observe({ op }, seconds);
        if (!ok) metrics.controlPlaneErrors.inc({ op });
      },
    });
    this.cluster = new Cluster(this.options.config.node.name, clusterConfig.advertiseUrl ?? url, plane, clusterConfig, this.ctx.log, () => this.registry?.clusterEvents ?? null);
    const { node: nodeConfig } = this.options.config;
    const sandbox = new SandboxHost({
      name: nodeConfig.name,
      stateDir: nodeConfig.stateDir,
      hide: [this.options.configFile, nodeConfig.tokenKeyFile, nodeConfig.tls?.keyFile, nodeConfig.stateDir, clusterConfig.sharedDir, this.options.config.oidc?.clientSecretFile],
      diskReserveMiB: nodeConfig.diskReserveMiB,
    });
    this.ctx.log.info('sandbox', { ...sandbox.info, staleCgroupsRemoved: sandbox.staleRemoved, staleHomesRemoved: sandbox.staleHomesRemoved });
    this.registry = new SessionRegistry(this.options.config, this.ctx.catalog, this.ctx.log, this.cluster, this.peers, this.metrics, sandbox, this.ctx.audit);
    this.revocations = new Revocations(plane, (user) => {
      for (const connection of this.ctx.connections) if (connection.user === user) connection.revoked();
    });
    this.secondFactors = new SecondFactors(plane, this.ctx.tokens.key);
    this.signInCodes = new SignInCodes(plane);
    try {
      await this.cluster.start();
      await this.revocations.start();
      // Sign-in failures count cluster-wide: spreading guesses over nodes gains nothing.
      const { byPair, byAddress, byUser } = this.ctx.limits;
      this.sharedLimits = new SharedSignInLimits(plane, { pair: byPair, address: byAddress, user: byUser }, this.ctx.log);
      await this.sharedLimits.start();
    } catch (error) {
      await new Promise<void>((resolve) => this.http.close(() => resolve()));
      throw new Error(`cannot join the cluster: ${error instanceof Error ? error.message : String(error)}`);
    }
    this.ready = true;
    this.sweeper = setInterval(() => void this.registry?.sweep().catch(() => {}), 60_000);
    this.sweeper.unref();
    this.startHeartbeat();
    this.ctx.log.info('listening', { url, ...(this.tls ? { tls: { names: this.tls.names, pin: this.tls.pin, notAfter: this.tls.notAfter.toISOString() } } : {}) });
    if (this.tls && this.tls.notAfter.getTime() - Date.now() < 14 * 86_400_000) {
      this.ctx.log.warn('the TLS certificate expires soon: renew it and reload (SIGHUP)', { notAfter: this.tls.notAfter.toISOString() });
    }
    return url;
  }

  get url(): string {
    const address = this.http.address();
    if (!address || typeof address === 'string') throw new Error('node is not listening');
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `${this.tls ? 'https' : 'http'}://${host}:${address.port}`;
  }

  async stop(): Promise<void> {
    clearInterval(this.heartbeat);
    clearInterval(this.sweeper);
    await this.registry?.stop();
    this.registry?.sandbox.close();
    this.peers.close();
    this.revocations?.stop();
    this.sharedLimits?.stop();
    await this.cluster?.stop();
    for (const client of this.wss.clients) client.close(CloseCode.goingAway, 'node shutting down');
    const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    // A client that no longer reads never answers the closing handshake (ws would wait
    // 30 s for it), and a kept-alive connection polled without pause is never idle:
    // neither holds the stop up past a short grace.
    const grace = setTimeout(() => {
      for (const client of this.wss.clients) client.terminate();
      this.http.closeAllConnections();
    }, STOP_GRACE_MS);
    await closed;
    clearTimeout(grace);
    for (const client of this.wss.clients) client.terminate();
  }

  /**
   * Applies a reloaded config: the catalog (apps, users and groups, entitlements,
   * sandbox profiles, session and transfer policies) and the log level change at once; sessions already running keep
   * the app they started with. Settings that need a restart (listen address, cluster,
   * state and key paths…) are left as they are, and named; a renewed TLS certificate is
   * served to new connections at once. The new config has passed the schema already
   * (the caller loaded it), and the certificate is read before anything changes: a bad
   * one throws and the node keeps what it had; nothing here fails half-way.
   */
  reload(next: NodeConfig): { applied: string[]; needsRestart: string[] } {
    const config = this.options.config;
    // A renewed certificate is read (and checked) first: a bad one throws before anything changes.
    const tls = this.tls && next.node.tls ? loadServerTls(next.node.tls) : null;
    const needsRestart: string[] = [];
    for (const key of Object.keys(next.node) as Array<keyof NodeConfig['node']>) {
      if (key === 'tls' && tls) {
        if (next.node.tls?.caFile !== config.node.tls?.caFile) needsRestart.push('node.tls.caFile');
        continue;
      }
      if (key !== 'logLevel' && JSON.stringify(next.node[key]) !== JSON.stringify(config.node[key])) needsRestart.push(`node.${key}`);
    }
    if (JSON.stringify(next.cluster) !== JSON.stringify(config.cluster)) needsRestart.push('cluster');
    if (JSON.stringify(next.oidc) !== JSON.stringify(config.oidc)) needsRestart.push('oidc');
    const applied: string[] = (['apps', 'users', 'entitlements', 'sandboxProfiles', 'sessionPolicies', 'transferPolicies'] as const).filter((key) => JSON.stringify(next[key]) !== JSON.stringify(config[key]));
    config.apps = next.apps;
    config.users = next.users;
    config.entitlements = next.entitlements;
    config.sandboxProfiles = next.sandboxProfiles;
    // Sessions launched from now on take the new policies; running ones keep the limits they were given.
    config.sessionPolicies = next.sessionPolicies;
    // Transfer policies are read at each download: running sessions follow them at once.
    config.transferPolicies = next.transferPolicies;
    this.ctx.catalog.replace(config);
    if (next.node.logLevel !== config.node.logLevel) {
      applied.push('node.logLevel');
      config.node.logLevel = next.node.logLevel;
      this.ctx.log.setLevel(next.node.logLevel ?? levelFromEnv('info'));
    }
    if (tls && this.tls && (tls.cert !== this.tls.cert || tls.key !== this.tls.key)) {
      (this.http as TlsServer).setSecureContext({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' });
      this.tls = tls;
      config.node.tls = next.node.tls;
      this.metrics.certificateExpiry(tls.notAfter);
      applied.push('node.tls');
    }
    this.metrics.configReloads.inc({ result: 'ok' });
    this.ctx.log.info('config reloaded', { applied, needsRestart, apps: config.apps.length, users: config.users.length });
    return { applied, needsRestart };
  }

  /** A reload that failed validation: the node keeps serving with the config it has. */
  reloadRefused(why: string): void {
    this.metrics.configReloads.inc({ result: 'refused' });
    this.ctx.log.error('config reload refused; the node keeps its current config', { error: why });
  }

  private async serveMetrics(response: ServerResponse): Promise<void> {
    try {
      const text = await this.metrics.text();
      response.writeHead(200, { 'Content-Type': METRICS_CONTENT_TYPE, 'Cache-Control': 'no-store' });
      response.end(text);
    } catch (error) {
      plain(response, 500, `metrics failed: ${String(error)}`);
    }
  }

  private async upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const path = (request.url ?? '').split('?')[0];
    const offered = (request.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
    if (!this.ready) return reject(socket, 503, 'Service Unavailable', 'the node is starting; try again in a moment');
    if (path === PEER_PATH) return this.peers.accept(request, socket, head);
    if (path !== WS_PATH) return reject(socket, 404, 'Not Found');
    const origin = request.headers.origin;
    if (origin !== undefined && !this.originAllowed(origin, request.headers.host)) {
      this.ctx.audit.record('connection.refused', { address: request.socket.remoteAddress ?? 'unknown', detail: `page origin ${origin.slice(0, 200)}` });
      return reject(socket, 403, 'Forbidden', `a page from ${origin.slice(0, 200)} may not open Holdfast sessions; an administrator can allow it in node.allowedOrigins (or, if it is this node under another name, add the name to node.hostNames)`);
    }
    if (!offered.includes(SUBPROTOCOL)) return reject(socket, 400, 'Bad Request', `offer the "${SUBPROTOCOL}" subprotocol`);
    const bearer = offered.find((p) => p.startsWith(BEARER_PREFIX));
    const address = request.socket.remoteAddress ?? 'unknown';
    if (!bearer) {
      // Not signed in yet: bounded per address, in number and rate (anonymous-gate.ts).
      let open = 0;
      for (const connection of this.ctx.connections) if (connection.anonymous && connection.address === address) open++;
      const refused = this.anonymous.admit(address, open);
      if (refused) {
        this.ctx.audit.record('connection.refused', { address, detail: refused });
        return reject(socket, 429, 'Too Many Requests', refused);
      }
    }
    const claims = bearer ? await this.ctx.tokens.verify(bearer.slice(BEARER_PREFIX.length)) : null;
    this.wss.handleUpgrade(request, socket, head, (ws) => {
      if (bearer && (!claims || !this.ctx.catalog.identify(claims.user, claims.federated))) {
        // Completing the handshake first lets a browser see why: it cannot read a 401.
        ws.close(CloseCode.unauthenticated, 'your sign-in has expired or is not valid; sign in again');
        return;
      }
      const tracked = ws as Tracked;
      tracked.alive = true;
      ws.on('pong', () => (tracked.alive = true));
      new ClientConnection(ws, this.ctx, address, claims?.user ?? null, offered.includes(LOCAL_SUBPROTOCOL), claims?.federated, claims?.sid);
    });
  }

  /**
   * A browser says which page opens a WebSocket (Origin); only Holdfast's own pages may:
   * this node's (the Host the browser asked for), the cluster's other nodes', the
   * desktop app's, and those the config allows. Clients that are not browsers (the
   * CLI, other nodes) send no Origin and are judged by their credentials alone.
   */
  private originAllowed(origin: string, host: string | undefined): boolean {
    const lower = origin.toLowerCase();
    if (lower === DESKTOP_ORIGIN) return true;
    let parsed: URL;
    try {
      parsed = new URL(lower);
    } catch {
      return false;
    }
    const known = [...[...(this.cluster?.nodes.values() ?? [])].map((n) => n.url), this.url, ...this.options.config.node.allowedOrigins];
    // Its own page: the Host it asked for — if that is a name this node answers to (a
    // page at evil.example whose name now resolves here sends Host evil.example too).
    if ((parsed.protocol === 'http:' || parsed.protocol === 'https:') && host !== undefined && parsed.host === host.toLowerCase()) {
      const config = this.options.config;
      const names = hostNames({
        configured: config.node.hostNames,
        listenHost: config.node.listen.host,
        urls: [...known, ...(config.cluster.advertiseUrl ? [config.cluster.advertiseUrl] : [])],
        certificateNames: (this.tls?.names ?? '').split(/,\s*/).map((name) => name.replace(/^(DNS|IP Address):/, '')).filter(Boolean),
      });
      if (names.has(hostOf(host) ?? '')) return true;
    }
    return known.some((url) => url.toLowerCase().replace(/\/+$/, '') === parsed.origin);
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

/** The OIDC client secret: inline, or read from its file at start (a node that cannot read it does not start). */
function oidcSecret(oidc: NonNullable<NodeConfig['oidc']>): string | undefined {
  if (oidc.clientSecretFile === undefined) return oidc.clientSecret;
  try {
    const secret = readFileSync(oidc.clientSecretFile, 'utf8').trim();
    if (secret === '') throw new Error('the file is empty');
    return secret;
  } catch (error) {
    throw new Error(`oidc.clientSecretFile: cannot read the client secret from ${oidc.clientSecretFile}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function reject(socket: Duplex, status: number, text: string, detail = text): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(detail) + 1}\r\n\r\n${detail}\n`);
}
