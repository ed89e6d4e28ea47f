// One client WebSocket. Unauthenticated connections may only sign in; a connection
// that launches a session becomes that session's stream. Every frame is parsed as
// unknown; anything malformed gets an error message and a protocol close code, and
// only this connection is affected.
import type { WebSocket, RawData } from 'ws';
import {
  ClientMessage,
  CloseCode,
  ErrorCode,
  PROTOCOL_VERSION,
  decodeFrame,
  parseJsonFrame,
  requestIdOf,
  type ServerMessage,
  type UserInfo,
} from '../../shared/protocol/index.js';
import type { NodeContext, SessionPeer, StreamedSession } from './context.js';
import type { SessionRecord } from '../cluster/records.js';
import { tokenMatches } from '../auth/resume-token.js';
import { Tunnel } from './tunnel.js';
import { NodeFullError } from '../node-full.js';
import { TokenBucket } from './token-bucket.js';
import QRCode from 'qrcode';
import { matchStep, newSecret, otpauthUri } from '../auth/totp.js';
import type { FederatedClaims } from '../auth/tokens.js';

const AUTH_DEADLINE_MS = 10_000;

export class ClientConnection {
  /** Who this connection is signed in as (null: nobody yet). */
  private who: string | null;
  /** For someone the identity provider let in who is not under users:, what their sign-in said of them. */
  private federated: FederatedClaims | undefined;
  private session: StreamedSession | null = null;
  private peer: SessionPeer | null = null;
  private authTimer: NodeJS.Timeout | undefined;
  private readonly queue: ClientMessage[] = [];
  private draining = false;
  /** Set while this connection's session lives on another node: frames go through it. */
  private tunnel: Tunnel | null = null;
  /** Frames that arrived while a tunnel was being opened. */
  private routing: Array<{ data: Buffer; isBinary: boolean }> | null = null;
  private closed = false;
  /** A TOTP secret shown to this person, waiting for its first code. */
  private pendingTotp: string | null = null;
  /** When the oldest input not yet followed by output arrived (the echo histogram). */
  private inputAt: number | undefined;
  private readonly requests: TokenBucket;
  private readonly frames: TokenBucket;

  constructor(
    private readonly ws: WebSocket,
    private readonly ctx: NodeContext,
    private readonly address: string,
    user: string | null,
    /** Opened by another node's gateway: serve sessions here, never route them on. */
    private readonly local = false,
    federated?: FederatedClaims,
  ) {
    this.who = user;
    this.federated = federated;
    ctx.connections.add(this);
    const limits = ctx.config.node.limits;
    this.requests = new TokenBucket(limits.requestsPerSecond, limits.requestBurst);
    this.frames = new TokenBucket(limits.framesPerSecond, limits.frameBurst);
    ws.on('message', (data, isBinary) => this.onFrame(data, isBinary));
    ws.on('close', () => this.onClose());
    ws.on('error', (error) => ctx.log.debug('client socket error', { address, error: error.message }));
    this.send({
      type: 'welcome',
      protocol: PROTOCOL_VERSION,
      node: ctx.config.node.name,
      user: user ? ctx.catalog.identify(user, federated) : null,
      heartbeatMs: ctx.config.node.heartbeatMs,
      brokers: ctx.sessions.brokerUrls(),
    });
    if (!user) {
      this.authTimer = setTimeout(() => this.close(CloseCode.authTimeout, 'sign in within 10 s of connecting'), AUTH_DEADLINE_MS);
    }
  }

  get user(): string | null {
    return this.who;
  }

  /** The signed-in person as the catalog sees them now (null if the config no longer has them). */
  private person(user: string): UserInfo | null {
    return this.ctx.catalog.identify(user, this.federated);
  }

  private onFrame(data: RawData, isBinary: boolean): void {
    if (this.closed) return;
    if (!(isBinary ? this.frames : this.requests).take()) {
      const { requestsPerSecond, framesPerSecond } = this.ctx.config.node.limits;
      const what = isBinary ? `${framesPerSecond} binary frames` : `${requestsPerSecond} requests`;
      this.ctx.log.warn('connection over its message rate; closed', { user: this.who, address: this.address, binary: isBinary });
      this.ctx.audit.record('connection.refused', { user: this.who, address: this.address, detail: `over ${what} a second` });
      this.refuse(null, ErrorCode.rateLimited, `This connection sent more than ${what} a second and was closed; reconnect and send less often.`);
      this.closed = true;
      return this.close(CloseCode.policyViolation, 'message rate limit');
    }
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    if (this.tunnel) {
      // Liveness pings are answered here: the tunnel watches the far node itself.
      if (!isBinary && bytes.length < 128) {
        const parsed = parseJsonFrame(ClientMessage, bytes.toString('utf8'));
        if (parsed.ok && parsed.value.type === 'ping') return this.send({ type: 'pong', id: parsed.value.id });
      }
      return this.tunnel.forward(bytes, isBinary);
    }
    if (this.routing) return void this.routing.push({ data: bytes, isBinary });
    if (isBinary) return this.onBinary(bytes);
    const text = bytes.toString('utf8');
    const parsed = parseJsonFrame(ClientMessage, text);
    if (!parsed.ok) {
      this.refuse(requestIdOf(text), ErrorCode.badRequest, parsed.error);
      return this.close(CloseCode.protocolError, 'malformed message');
    }
    this.queue.push(parsed.value);
    if (!this.draining) void this.drain();
  }

  /**
   * Requests are handled one at a time, in arrival order. Most are synchronous and run
   * at once, so a resize is applied before the keystrokes that follow it in binary
   * frames; only sign-in and refresh wait on crypto.
   */
  private async drain(): Promise<void> {
    this.draining = true;
    while (this.queue.length > 0) {
      const message = this.queue.shift()!;
      try {
        const pending = this.handle(message);
        if (pending) await pending;
      } catch (error) {
        this.ctx.log.error('request failed', { error: error instanceof Error ? error.stack : String(error) });
        const id = 'id' in message ? message.id : null;
        this.refuse(id, ErrorCode.internal, 'The broker hit an internal error handling this request; try again.');
      }
    }
    this.draining = false;
  }

  private handle(message: ClientMessage): Promise<void> | void {
    switch (message.type) {
      case 'auth.signIn':
        return this.signIn(message.id, message.user, message.password, message.remember === true, message.code);
      case 'auth.signInWithToken':
        return this.signInWithToken(message.id, message.refreshToken);
      case 'auth.signInWithCode':
        return this.signInWithCode(message.id, message.code, message.handoff, message.remember === true);
      case 'ping':
        return this.send({ type: 'pong', id: message.id });
      case 'session.resume':
        return this.resume(message.id, message.sessionId, message.cols, message.rows, message.resumeToken, message.inputSeq);
      case 'session.resize':
        if (!this.session) return this.refuse(null, ErrorCode.noSession, 'This connection has no session to resize.');
        this.session.resize(message.cols, message.rows);
        return;
      case 'session.end':
        if (!this.session) return this.refuse(null, ErrorCode.noSession, 'This connection has no session to end.');
        return this.session.end('You ended the session.');
    }
    const user = this.who;
    if (!user) {
      this.refuse('id' in message ? message.id : null, ErrorCode.unauthenticated, 'Sign in first.');
      return this.close(CloseCode.unauthenticated, 'not signed in');
    }
    switch (message.type) {
      case 'auth.signOut':
        return this.signOut(user, message.id, message.tokens);
      case 'auth.totp.begin':
        return this.beginTotp(user, message.id);
      case 'auth.totp.confirm':
        return this.confirmTotp(user, message.id, message.code);
      case 'auth.refresh': {
        const person = this.person(user);
        if (!person) return this.refuse(message.id, ErrorCode.signInFailed, 'You are no longer a user of this node; ask your administrator.');
        return this.ctx.tokens.issue(user, this.federated).then(({ token, expiresAt }) =>
          this.send({ type: 'auth.signedIn', id: message.id, accessToken: token, expiresAt, user: person }),
        );
      }
      case 'apps.list':
        return this.send({ type: 'apps.list.ok', id: message.id, apps: this.ctx.catalog.appsFor(this.person(user) ?? user) });
      case 'session.launch':
        return this.launch(user, message.id, message.appId, message.cols, message.rows);
      case 'session.attach':
        return this.resume(message.id, message.sessionId, message.cols, message.rows, null);
      case 'sessions.list':
        return this.ctx.sessions.summaries(user).then((sessions) => this.send({ type: 'sessions.list.ok', id: message.id, sessions }));
    }
  }

  /**
   * Password sign-in. Unknown names get exactly what wrong passwords get (the same
   * work, the same words, the same limits), so nobody learns which names exist.
   */
  private async signIn(id: number, name: string, password: string, remember = false, code?: string): Promise<void> {
    const { byPair, byAddress, byUser } = this.ctx.limits;
    const keys = { pair: [`${name.toLowerCase()}|${this.address}`], address: [this.address], user: [name.toLowerCase()] };
    const refusal = () =>
      [byPair.refusal(keys.pair), byAddress.refusal(keys.address), byUser.refusal(keys.user)]
        .filter((r) => r !== null)
        .sort((a, b) => b.waitMs - a.waitMs)[0];
    const before = refusal();
    if (before) {
      this.ctx.metrics.signIns.inc({ result: 'rate_limited' });
      this.ctx.audit.record('sign-in.refused', { user: name, address: this.address, detail: before.locked ? 'locked' : `wait ${Math.ceil(before.waitMs / 1000)} s` });
      return this.refuse(id, ErrorCode.rateLimited, before.locked ? lockedMessage(before.waitMs) : `Too many failed sign-ins. Try again in ${Math.ceil(before.waitMs / 1000)} s.`, before.waitMs);
    }
    const fail = (what: string, detail?: string) => {
      byPair.recordFailure(keys.pair);
      byAddress.recordFailure(keys.address);
      byUser.recordFailure(keys.user);
      this.ctx.metrics.signIns.inc({ result: 'failed' });
      this.ctx.log.info('sign-in failed', { user: name, address: this.address, detail });
      this.ctx.audit.record('sign-in.failed', { user: name, address: this.address, detail });
      const now = refusal();
      const more = now?.locked ? ` ${lockedMessage(now.waitMs)}` : '';
      this.refuse(id, ErrorCode.signInFailed, `Sign-in failed: ${what}${more}`, now?.waitMs);
    };
    if (!(await this.ctx.verifyUser(name, password))) return fail('the user name or password is not right.');
    let factor = 'password';
    if (await this.ctx.secondFactors.enabled(name)) {
      if (!code) return this.refuse(id, ErrorCode.secondFactor, 'Enter the 6-digit code from your authenticator app, or one of your recovery codes.');
      const checked = await this.ctx.secondFactors.check(name, code);
      if (checked === 'wrong') return fail('that code is not right. Codes change every 30 seconds, and each works once.', 'wrong second-factor code');
      factor = checked === 'recovery' ? 'password and a recovery code' : 'password and TOTP';
    }
    byPair.recordSuccess(keys.pair);
    this.ctx.metrics.signIns.inc({ result: 'ok' });
    this.ctx.audit.record('sign-in.ok', { user: name, address: this.address, detail: remember ? `${factor}, remember me` : factor });
    clearTimeout(this.authTimer);
    this.who = name;
    this.federated = undefined;
    const { token, expiresAt } = await this.ctx.tokens.issue(name);
    const refresh = remember ? await this.ctx.tokens.issueRefresh(name) : null;
    this.ctx.log.info('signed in', { user: name, address: this.address, remember });
    this.send({
      type: 'auth.signedIn',
      id,
      accessToken: token,
      expiresAt,
      user: this.ctx.catalog.userInfo(name)!,
      ...(refresh ? { refreshToken: refresh.token, refreshExpiresAt: refresh.expiresAt } : {}),
    });
  }

  /** A TOTP secret for this person to add to their authenticator app; on only once confirmed with a code. */
  private async beginTotp(user: string, id: number): Promise<void> {
    if (!this.ctx.catalog.user(user)?.passwordHash) {
      const where = this.ctx.config.oidc?.displayName ?? 'your identity provider';
      return this.refuse(id, ErrorCode.badRequest, `You sign in with ${where}, not a Holdfast password: set up two-step sign-in there.`);
    }
    if (await this.ctx.secondFactors.enabled(user)) return this.refuse(id, ErrorCode.badRequest, 'Two-step sign-in is already on for you; ask your administrator to reset it if you lost your phone and your recovery codes.');
    const secret = newSecret();
    this.pendingTotp = secret;
    const uri = otpauthUri(user, secret);
    this.send({ type: 'auth.totp.setup', id, secret, uri, qrSvg: await QRCode.toString(uri, { type: 'svg', margin: 2 }) });
  }

  private async confirmTotp(user: string, id: number, code: string): Promise<void> {
    const secret = this.pendingTotp;
    if (!secret) return this.refuse(id, ErrorCode.badRequest, 'Start setting up two-step sign-in first.');
    const step = matchStep(secret, code.trim(), Date.now(), 0);
    if (step === null) return this.refuse(id, ErrorCode.signInFailed, 'That code is not right. Check the time on your phone, and enter the code it shows now.');
    this.pendingTotp = null;
    const recoveryCodes = await this.ctx.secondFactors.enable(user, secret, step);
    this.ctx.audit.record('sign-in.second-factor-enabled', { user, address: this.address });
    this.ctx.log.info('two-step sign-in enabled', { user, address: this.address });
    this.send({ type: 'auth.totp.enabled', id, recoveryCodes });
  }

  /** Revokes the tokens the client held (its own: another user's are ignored), then this connection is anonymous. */
  private async signOut(user: string, id: number, tokens: string[]): Promise<void> {
    let revoked = 0;
    for (const token of tokens) {
      const claims = await this.ctx.tokens.verifyEither(token);
      if (!claims || claims.user !== user || !claims.jti) continue;
      await this.ctx.revocations.revokeToken(claims.jti, claims.expiresAt ?? Date.now() + 86_400_000);
      revoked += 1;
    }
    this.ctx.audit.record('sign-out', { user, address: this.address, detail: `${revoked} token${revoked === 1 ? '' : 's'} revoked` });
    this.ctx.log.info('signed out', { user, address: this.address, revoked });
    this.who = null;
    this.federated = undefined;
    this.send({ type: 'auth.signedOut', id, revoked });
  }

  /** An administrator revoked this user's tokens: the connection closes; the person signs in again (sessions wait). */
  revoked(): void {
    this.refuse(null, ErrorCode.unauthenticated, 'An administrator ended your sign-in; sign in again.');
    this.close(CloseCode.unauthenticated, 'your sign-in was revoked; sign in again');
  }

  /**
   * "Remember me": a refresh token signs in again and is replaced by a new one; the
   * one presented is revoked (marked rotated). A rotated token presented again means
   * it was copied: every token of its user is revoked. A token for a user no longer in
   * the catalog is refused like any bad token.
   */
  private async signInWithToken(id: number, refreshToken: string): Promise<void> {
    const { byAddress } = this.ctx.limits;
    const addressKey = [this.address];
    const wait = byAddress.retryAfter(addressKey);
    if (wait > 0) return this.refuse(id, ErrorCode.rateLimited, `Too many failed sign-ins. Try again in ${Math.ceil(wait / 1000)} s.`, wait);
    const claims = await this.ctx.tokens.verifyRefresh(refreshToken);
    const user = claims && this.ctx.catalog.identify(claims.user, claims.federated);
    if (!claims) {
      // A refresh token that was already exchanged for a new one, shown again: one of
      // the two holders copied it. End every sign-in of that person (both copies
      // included) — unless it comes back within the grace period, which is the same
      // client retrying (it lost the answer, or two of its requests raced).
      const copied = await this.ctx.tokens.inspectRefresh(refreshToken);
      const rotatedAt = copied?.jti ? this.ctx.revocations.rotatedAt(copied.jti) : null;
      if (copied && rotatedAt !== null && Date.now() - rotatedAt > this.ctx.config.node.refreshTokenReuseGraceSeconds * 1000) {
        await this.ctx.revocations.revokeUser(copied.user);
        this.ctx.log.warn('a used-up refresh token came back: every sign-in of its user revoked', { user: copied.user, address: this.address });
        this.ctx.audit.record('sign-in.refresh-reused', { user: copied.user, address: this.address, result: 'revoked', detail: 'a rotated refresh token was presented again; all of the user\'s tokens revoked' });
        return this.refuse(id, ErrorCode.signInFailed, 'This saved sign-in was already used, so it may have been copied. To be safe, every sign-in of yours has been ended; sign in again with your password.');
      }
    }
    if (!claims || !user) {
      byAddress.recordFailure(addressKey);
      this.ctx.log.info('sign-in with a saved token failed', { address: this.address });
      this.ctx.audit.record('sign-in.failed', { user: claims?.user ?? null, address: this.address, detail: 'refresh token' });
      return this.refuse(id, ErrorCode.signInFailed, 'Your saved sign-in has expired or is no longer valid; sign in again.');
    }
    // Rotation: the token presented is used up before its successor exists.
    if (claims.jti) await this.ctx.revocations.revokeToken(claims.jti, claims.expiresAt ?? Date.now() + 86_400_000, true);
    clearTimeout(this.authTimer);
    this.who = claims.user;
    this.federated = claims.federated;
    const access = await this.ctx.tokens.issue(claims.user, claims.federated);
    const refresh = await this.ctx.tokens.issueRefresh(claims.user, claims.federated);
    this.ctx.log.info('signed in', { user: claims.user, address: this.address, with: 'refresh token' });
    this.ctx.audit.record('sign-in.ok', { user: claims.user, address: this.address, detail: 'refresh token' });
    this.send({ type: 'auth.signedIn', id, accessToken: access.token, expiresAt: access.expiresAt, user, refreshToken: refresh.token, refreshExpiresAt: refresh.expiresAt });
  }

  /**
   * The one-time code an identity provider's sign-in left (auth/sign-in-codes.ts), with
   * the handoff value this client gave /auth/oidc/start. A bad code counts against the
   * address like a bad password, and every bad code gets the same answer.
   */
  private async signInWithCode(id: number, code: string, handoff: string, remember: boolean): Promise<void> {
    const { byAddress } = this.ctx.limits;
    const addressKey = [this.address];
    const wait = byAddress.retryAfter(addressKey);
    if (wait > 0) {
      this.ctx.metrics.signIns.inc({ result: 'rate_limited' });
      this.ctx.audit.record('sign-in.refused', { address: this.address, method: 'oidc', detail: `wait ${Math.ceil(wait / 1000)} s` });
      return this.refuse(id, ErrorCode.rateLimited, `Too many failed sign-ins. Try again in ${Math.ceil(wait / 1000)} s.`, wait);
    }
    const grant = await this.ctx.signInCodes.redeem(code, handoff);
    const person = grant && this.ctx.catalog.identify(grant.user, grant.federated);
    if (!grant || !person) {
      byAddress.recordFailure(addressKey);
      this.ctx.metrics.signIns.inc({ result: 'failed' });
      this.ctx.log.info('sign-in with a code failed', { address: this.address, user: grant?.user });
      this.ctx.audit.record('sign-in.failed', { user: grant?.user ?? null, address: this.address, method: 'oidc', detail: grant ? 'no longer allowed' : 'sign-in code unknown, used, expired or for another client' });
      return this.refuse(id, ErrorCode.signInFailed, 'Sign-in could not be finished: the sign-in code has expired or was already used. Start again with the sign-in button.');
    }
    clearTimeout(this.authTimer);
    this.who = grant.user;
    this.federated = grant.federated;
    this.ctx.metrics.signIns.inc({ result: 'ok' });
    this.ctx.audit.record('sign-in.ok', { user: grant.user, address: this.address, method: 'oidc', ...(remember ? { detail: 'remember me' } : {}) });
    this.ctx.log.info('signed in', { user: grant.user, address: this.address, with: 'oidc', remember });
    const access = await this.ctx.tokens.issue(grant.user, grant.federated);
    const refresh = remember ? await this.ctx.tokens.issueRefresh(grant.user, grant.federated) : null;
    this.send({
      type: 'auth.signedIn',
      id,
      accessToken: access.token,
      expiresAt: access.expiresAt,
      user: person,
      ...(refresh ? { refreshToken: refresh.token, refreshExpiresAt: refresh.expiresAt } : {}),
    });
  }

  private async launch(user: string, id: number, appId: string, cols: number, rows: number): Promise<void> {
    if (this.session || this.tunnel) return this.refuse(id, ErrorCode.sessionBusy, 'This connection already streams a session; open a new connection to launch another.');
    const app = this.ctx.catalog.app(appId);
    if (!app) return this.refuse(id, ErrorCode.unknownApp, `There is no app "${appId}" in the catalog.`);
    if (!this.ctx.catalog.entitledAppIds(this.person(user) ?? user).has(appId)) {
      this.ctx.audit.record('session.launch-refused', { user, address: this.address, app: appId, detail: 'not entitled' });
      return this.refuse(id, ErrorCode.notEntitled, `You are not entitled to launch "${app.name}"; ask your administrator for access.`);
    }
    const perUser = this.ctx.config.node.limits.sessionsPerUser;
    // Without the control plane the count is unknown; the launch itself then says why it cannot start.
    const running = (await this.ctx.sessions.summaries(user).catch(() => null))?.length ?? 0;
    if (running >= perUser) {
      this.ctx.audit.record('session.launch-refused', { user, address: this.address, app: appId, detail: `${running} sessions running` });
      return this.refuse(id, ErrorCode.limitReached, `You have ${running} sessions running, the most allowed (${perUser}). End one you no longer need — the launcher lists them — and launch again.`);
    }
    const sessions = this.ctx.sessions;
    if (!this.local && sessions.clustered) {
      // The least-loaded node hosts the primary; this one if it is among the least loaded.
      const target = sessions.placePrimary();
      if (target && target !== sessions.self) {
        const routed = await this.route(target, { type: 'session.launch', id, appId, cols, rows }, user);
        if (routed === 'ok') return;
      }
    }
    let session: StreamedSession;
    try {
      session = await this.ctx.sessions.launch(user, app, cols, rows);
    } catch (error) {
      this.ctx.metrics.launches.inc({ result: 'failed' });
      this.ctx.audit.record('session.launch-refused', { user, address: this.address, app: appId, detail: String(error) });
      if (error instanceof NodeFullError) return this.refuse(id, ErrorCode.limitReached, error.message);
      this.ctx.log.error('launch failed', { user, app: appId, error: String(error) });
      return this.refuse(id, ErrorCode.launchFailed, `${app.name} could not be started on this node: ${error instanceof Error ? error.message : String(error)}`);
    }
    this.ctx.audit.record('session.launch', { user, address: this.address, app: appId, session: session.id });
    if (!this.isOpen()) {
      // The client left while the app started: keep it for the hold time, like any detach.
      session.startHold();
      return;
    }
    this.send({
      type: 'session.started',
      id,
      sessionId: session.id,
      appId,
      cols,
      rows,
      window: this.ctx.config.node.outputWindowBytes,
      resumeToken: session.resumeToken,
      holdSeconds: this.ctx.config.node.sessionHoldSeconds,
    });
    this.bind(session);
  }

  /**
   * Resume (with the session's resume token) or attach (as its signed-in owner) a
   * running session, wherever its primary runs. Every way of not being allowed gets
   * the same answer, so nobody learns anything about sessions that are not theirs.
   * If the primary is not answering (a failover under way), waits for the record to
   * name a new one, up to the lease TTL and a little more.
   */
  private async resume(id: number, sessionId: string, cols: number, rows: number, token: string | null, inputSeq?: number): Promise<void> {
    if (this.session || this.tunnel) return this.refuse(id, ErrorCode.sessionBusy, 'This connection already streams a session; open a new connection to resume another.');
    const sessions = this.ctx.sessions;
    const deadline = Date.now() + this.ctx.config.cluster.leaseTtlMs + 2000;
    for (;;) {
      const found = await sessions.record(sessionId);
      const record = found?.record ?? null;
      if (!record || !this.allowed(record, token)) return this.refuse(id, ErrorCode.noSession, 'There is no such session, or it is not yours.');
      if (record.state === 'ended') return this.refuse(id, ErrorCode.sessionEnded, record.endMessage ?? 'Your session ended.');
      if (record.primary === sessions.self || this.local) {
        // A standby here may be finishing its promotion (a failover or a move): give it a moment.
        const local = await this.ctx.sessions.awaitPrimary(sessionId, 2000);
        if (local) return this.resumeHere(id, local, cols, rows, token);
      } else {
        let gone = !sessions.isLive(record.primary);
        if (!gone) {
          const message = token === null ? { type: 'session.attach' as const, id, sessionId, cols, rows } : { type: 'session.resume' as const, id, sessionId, resumeToken: token, cols, rows };
          const routed = await this.route(record.primary, message, this.who);
          if (routed === 'ok') return;
          // Refused: find out whether the process is gone. Silent (hung, stopped): only its lease can tell.
          if (routed === 'refused') gone = (await this.ctx.sessions.probe(record.primary)) === 'dead';
        }
        if (gone && record.standbys.every((n) => !sessions.isLive(n)) && record.failover === 'restart') {
          // No standby by design: a fresh instance here, with the same files.
          const session = await this.ctx.sessions.restartHere(found!, token, inputSeq ?? 0, cols, rows);
          if (session) {
            const files = this.ctx.config.cluster.sharedDir ? 'your files are as you left them' : 'its files could not be kept (no shared storage is configured)';
            return this.resumeHere(id, session, cols, rows, token, `\x1b[1;33m[Holdfast] ${record.appName} was restarted on ${sessions.self} because its server stopped; ${files}.\x1b[0m\r\n`);
          }
        } else if (gone && record.standbys.every((n) => !sessions.isLive(n))) {
          // The primary's node is gone and no standby can take over.
          const ended = await this.ctx.sessions.lostWithHost(found!);
          if (ended) return this.refuse(id, ErrorCode.sessionEnded, ended);
        }
      }
      if (!this.isOpen()) return;
      if (Date.now() >= deadline) return this.refuse(id, ErrorCode.unavailable, 'The node running your session is not answering; trying again.');
      await sessions.waitForRecord(sessionId, (next) => next?.revision !== found!.revision, Math.max(0, deadline - Date.now()));
    }
  }

  private allowed(record: SessionRecord, token: string | null): boolean {
    if (token === null) return this.who === record.owner;
    return tokenMatches(token, record.resumeTokenHash) && (this.who === null || this.who === record.owner);
  }

  private async resumeHere(id: number, session: StreamedSession, cols: number, rows: number, token: string | null, notice = ''): Promise<void> {
    clearTimeout(this.authTimer);
    const point = await session.resumePoint(cols, rows);
    if (session.endMessage !== null) return this.refuse(id, ErrorCode.sessionEnded, session.endMessage);
    if (!this.isOpen()) return;
    this.send({
      type: 'session.resumed',
      id,
      sessionId: session.id,
      appId: session.app.id,
      cols: point.cols,
      rows: point.rows,
      window: this.ctx.config.node.outputWindowBytes,
      resumeToken: session.resumeToken,
      holdSeconds: this.ctx.config.node.sessionHoldSeconds,
      inputAck: point.inputAck,
      outputOffset: point.outputOffset,
      snapshot: notice + point.snapshot,
    });
    this.ctx.log.info(token === null ? 'session attached' : 'session resumed', { session: session.id, user: session.owner, address: this.address });
    this.ctx.audit.record(token === null ? 'session.attach' : 'session.resume', { user: session.owner, address: this.address, session: session.id, app: session.app.id });
    this.bind(session);
  }

  /**
   * Carries this connection to `target`, which hosts the session: opens a tunnel and
   * hands it the request; or says why the node could not be reached.
   */
  private async route(target: string, message: ClientMessage, user: string | null): Promise<'ok' | 'refused' | 'silent'> {
    const node = this.ctx.sessions.member(target);
    if (!node) return 'refused';
    this.routing = [];
    const accessToken = user ? (await this.ctx.tokens.issue(user, this.federated)).token : null;
    const tunnel = await Tunnel.open({ url: node.url, heartbeatMs: this.ctx.config.node.heartbeatMs, accessToken, first: JSON.stringify(message), client: this.ws, trust: this.ctx.trust });
    const queued = this.routing;
    this.routing = null;
    if (typeof tunnel === 'string') {
      this.ctx.log.warn('session host unreachable', { peer: target, how: tunnel });
      return tunnel;
    }
    clearTimeout(this.authTimer);
    this.tunnel = tunnel;
    for (const frame of queued) tunnel.forward(frame.data, frame.isBinary);
    if (this.closed) tunnel.clientClosed();
    return 'ok';
  }

  /** Makes this connection the session's client. */
  private bind(session: StreamedSession): void {
    this.session = session;
    const ws = this.ws;
    // Bound once: observing through a labelled child skips the label lookup on every frame (the keystroke path).
    const display = { display: session.app.display };
    const echo = this.ctx.metrics.echo.labels(display);
    const streamBytes = this.ctx.metrics.streamBytes.labels(display);
    this.peer = {
      sendBinary: (frame, drained) => {
        streamBytes.observe(frame.length);
        if (this.inputAt !== undefined) {
          echo.observe((performance.now() - this.inputAt) / 1000);
          this.inputAt = undefined;
        }
        if (!this.isOpen()) drained?.();
        else if (drained) ws.send(frame, { binary: true }, () => drained());
        else ws.send(frame, { binary: true });
      },
      get bufferedAmount() {
        return ws.bufferedAmount;
      },
      ended: (exit, message) => {
        this.send({ type: 'session.exited', sessionId: session.id, exitCode: exit?.exitCode ?? -1, signal: exit?.signal ?? null, message });
        this.session = null;
        this.close(CloseCode.normal, 'session ended');
      },
      moved: (planned) => {
        this.session = null;
        if (planned) this.close(CloseCode.moved, 'the session moved to another node; resume it there');
        else this.close(CloseCode.goingAway, 'the session moved to another node; reconnect to resume it');
      },
      displaced: () => {
        this.send({ type: 'session.detached', sessionId: session.id, message: 'This session was opened from another client.' });
        this.session = null;
        this.close(CloseCode.displaced, 'session opened from another client');
      },
    };
    session.attach(this.peer);
    void this.ctx.sessions.noteAttachment(session);
  }

  private onBinary(bytes: Buffer): void {
    const frame = decodeFrame(bytes);
    const session = this.session;
    if (typeof frame === 'string' || !session || frame.type === 'output') {
      const why = typeof frame === 'string' ? frame : session ? 'clients do not send output frames' : 'binary frames need a launched session';
      this.refuse(null, ErrorCode.badRequest, why);
      return this.close(CloseCode.unsupportedData, why.slice(0, 120));
    }
    if (frame.type === 'input') this.inputAt ??= performance.now();
    const problem = frame.type === 'input' ? session.input(frame.seq, frame.data) : frame.type === 'rfb' ? session.viewer(frame.data) : session.outputAck(frame.offset);
    if (problem) {
      this.refuse(null, ErrorCode.badRequest, problem);
      this.close(CloseCode.protocolError, problem.slice(0, 120));
    }
  }

  private onClose(): void {
    this.closed = true;
    this.ctx.connections.delete(this);
    clearTimeout(this.authTimer);
    this.tunnel?.clientClosed();
    // A lost connection only detaches: the session waits for its client for the hold time.
    if (this.session && this.peer) {
      this.session.detach(this.peer);
      void this.ctx.sessions.noteAttachment(this.session);
    }
    this.session = null;
  }

  private refuse(id: number | null, code: string, message: string, retryAfterMs?: number): void {
    this.send({ type: 'error', id, code, message, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
  }

  private send(message: ServerMessage): void {
    if (this.isOpen()) this.ws.send(JSON.stringify(message));
  }

  private isOpen(): boolean {
    return this.ws.readyState === this.ws.OPEN;
  }

  private close(code: number, reason: string): void {
    if (this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING) this.ws.close(code, reason);
  }
}

/** A lockout, in words: until when (UTC, the node's clock) and what to do. */
function lockedMessage(waitMs: number): string {
  const until = new Date(Date.now() + waitMs).toISOString().slice(11, 16);
  return `Too many failed sign-ins for this name from your address: sign-in is locked here until ${until} UTC. Try again then, or ask your administrator.`;
}
