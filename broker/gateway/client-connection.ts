// One client WebSocket. Unauthenticated connections may only sign in (within 10 s) or
// resume with a resume token; a connection that launches or resumes a session becomes
// that session's stream. Each connection has its own request and frame rate limits.
// Every text frame is parsed as unknown; anything malformed gets an error message and a
// protocol close code, and only this connection is affected. Requests are handled one
// at a time, in arrival order. The work itself is done by sign-in.ts,
// session-routing.ts and stream-binding.ts.
import type { WebSocket, RawData } from 'ws';
import {
  ClientMessage,
  CloseCode,
  ErrorCode,
  PROTOCOL_VERSION,
  namesClientType,
  parseJsonFrame,
  type ServerMessage,
} from '../../shared/protocol/index.js';
import { ANONYMOUS_MAX_BYTES, MAX_DEPTH, nestedDeeperThan } from './frame-budget.js';
import type { FederatedClaims } from '../auth/tokens.js';
import type { Client } from './client.js';
import type { NodeContext, StreamedSession } from './context.js';
import { soundPolicyFor, type SoundPolicy } from '../config/sound-policy.js';
import { SessionRouting } from './session-routing.js';
import { SessionSharing } from './session-sharing.js';
import { SignIn } from './sign-in.js';
import { StreamBinding } from './stream-binding.js';
import { TokenBucket } from './token-bucket.js';

const AUTH_DEADLINE_MS = 10_000;
/**
 * Requests a connection may send before it signs in or streams a session: a sign-in,
 * a resume, a ping or two. Anything faster is not a person's client.
 */
const ANONYMOUS_REQUESTS_PER_SECOND = 5;
const ANONYMOUS_REQUEST_BURST = 10;
/** A connection closed for abuse that keeps sending is cut off this long after. */
const ABUSE_TERMINATE_MS = 1000;
/** A frame this long after a session's answer shows the client has it (a ping sent earlier may cross it). */
const STREAM_USE_MS = 1000;

type OwnerMessage = Extract<ClientMessage, { type: 'session.shadow.answer' | 'session.share.create' | 'session.share.update' | 'session.share.revoke' | 'session.watcher.remove' }>;

export class ClientConnection implements Client {
  /** Who this connection is signed in as (null: nobody yet). */
  private who: string | null;
  /** For someone the identity provider let in who is not under users:, what their sign-in said of them. */
  private claims: FederatedClaims | undefined;
  private sid: string | null;
  /** Waiting for proof that the client has a session's answer (see onStreamUsed). */
  private streamUse: { confirm: () => void; after: number } | null = null;
  private authTimer: NodeJS.Timeout | undefined;
  private readonly queue: ClientMessage[] = [];
  private draining = false;
  private isClosed = false;
  private readonly requests: TokenBucket;
  private readonly frames: TokenBucket;
  private readonly anonymousRequests = new TokenBucket(ANONYMOUS_REQUESTS_PER_SECOND, ANONYMOUS_REQUEST_BURST);
  /** Streams a session (resumed with its token, or carried to its node): no longer anonymous, though nobody signed in. */
  private streaming = false;
  private readonly signIn: SignIn;
  private readonly stream: StreamBinding;
  private readonly routing: SessionRouting;
  private readonly sharing: SessionSharing;

  constructor(
    private readonly ws: WebSocket,
    private readonly ctx: NodeContext,
    readonly address: string,
    user: string | null,
    /** Opened by another node's gateway: serve sessions here, never route them on. */
    local = false,
    federated?: FederatedClaims,
    grant?: string,
  ) {
    this.who = user;
    this.claims = federated;
    this.sid = user ? (grant ?? null) : null;
    this.signIn = new SignIn(ctx, this);
    this.sharing = new SessionSharing(ctx, this);
    this.stream = new StreamBinding(ctx, this, ws, (session) => void this.sharing.tell(null, session).catch(() => {}));
    this.routing = new SessionRouting(ctx, this, ws, this.stream, local);
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
    if (!user) this.awaitSignIn('sign in within 10 s of connecting');
  }

  /** What the session policies let this session's sound do (read when asked: a config change applies at once). */
  private soundPolicy(session: StreamedSession): SoundPolicy {
    return soundPolicyFor(this.ctx.config, session.app.id, this.ctx.catalog.identify(session.owner) ?? { name: session.owner, groups: [] });
  }

  /** An anonymous connection signs in within AUTH_DEADLINE_MS or is closed: it holds a socket and costs the node. */
  private awaitSignIn(reason: string): void {
    clearTimeout(this.authTimer);
    this.authTimer = setTimeout(() => this.close(CloseCode.authTimeout, reason), AUTH_DEADLINE_MS);
  }

  get user(): string | null {
    return this.who;
  }

  get federated(): FederatedClaims | undefined {
    return this.claims;
  }

  /** Neither signed in nor streaming a session: the tight budget applies (frame-budget.ts). */
  get anonymous(): boolean {
    return this.who === null && !this.streaming;
  }

  get grant(): string | null {
    return this.sid;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  signedIn(user: string, federated: FederatedClaims | undefined, grant: string): void {
    clearTimeout(this.authTimer);
    this.who = user;
    this.claims = federated;
    this.sid = grant;
  }

  signedOut(): void {
    this.who = null;
    this.claims = undefined;
    this.sid = null;
    // Anonymous again: as long as a fresh connection may stay anonymous, no longer.
    this.awaitSignIn('sign in within 10 s of signing out');
  }

  keepOpen(): void {
    clearTimeout(this.authTimer);
    this.streaming = true;
  }

  onStreamUsed(confirm: () => void): void {
    this.streamUse = { confirm, after: Date.now() + STREAM_USE_MS };
  }

  private onFrame(data: RawData, isBinary: boolean): void {
    if (this.isClosed) return;
    if (!(isBinary ? this.frames : this.requests).take()) {
      const { requestsPerSecond, framesPerSecond } = this.ctx.config.node.limits;
      const what = isBinary ? `${framesPerSecond} binary frames` : `${requestsPerSecond} requests`;
      this.ctx.log.warn('connection over its message rate; closed', { user: this.who, address: this.address, binary: isBinary });
      this.ctx.audit.record('connection.refused', { user: this.who, address: this.address, detail: `over ${what} a second` });
      this.refuse(null, ErrorCode.rateLimited, `This connection sent more than ${what} a second and was closed; reconnect and send less often.`);
      this.isClosed = true;
      return this.close(CloseCode.policyViolation, 'message rate limit');
    }
    // A text frame sent just after the request (a ping) may cross the answer; anything
    // binary, or later, was sent by a client that has it.
    if (this.streamUse && (isBinary || Date.now() >= this.streamUse.after)) {
      const { confirm } = this.streamUse;
      this.streamUse = null;
      confirm();
    }
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    if (this.anonymous && !isBinary) {
      // Before sign-in a frame is small and rare, or the connection goes, unparsed.
      if (bytes.length > ANONYMOUS_MAX_BYTES) return this.abuse(CloseCode.tooBig, `a frame over ${ANONYMOUS_MAX_BYTES / 1024} KB before signing in`, 'frame too large before sign-in');
      if (!this.anonymousRequests.take()) return this.abuse(CloseCode.policyViolation, `more than ${ANONYMOUS_REQUESTS_PER_SECOND} requests a second before signing in`, 'request rate before sign-in');
    }
    if (this.routing.carry(bytes, isBinary)) return;
    if (isBinary) return this.stream.onBinary(bytes);
    if (nestedDeeperThan(bytes, MAX_DEPTH)) return this.abuse(CloseCode.protocolError, `a frame nested deeper than ${MAX_DEPTH}`, 'malformed message');
    const text = bytes.toString('utf8');
    const parsed = parseJsonFrame(ClientMessage, text);
    if (!parsed.ok) {
      const raw = parsed.raw as { id?: unknown } | undefined;
      const id = typeof raw?.id === 'number' && Number.isInteger(raw.id) && raw.id >= 0 && raw.id <= 2 ** 31 ? raw.id : null;
      this.refuse(id, ErrorCode.badRequest, parsed.error);
      // A request it knows with a bad value (a resize to 0 columns) costs the connection
      // nothing: a stream must not die for it. Anything that is not a message closes it.
      if (!namesClientType(parsed.raw)) this.close(CloseCode.protocolError, 'malformed message');
      return;
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
        return this.signIn.withPassword(message.id, message.user, message.password, message.remember === true, message.code, message.device);
      case 'auth.signInWithToken':
        return this.signIn.withToken(message.id, message.refreshToken);
      case 'auth.signInWithCode':
        return this.signIn.withCode(message.id, message.code, message.handoff, message.remember === true);
      case 'ping':
        return this.send({ type: 'pong', id: message.id });
      case 'session.resume':
        return this.routing.resume(message.id, message.sessionId, message.cols, message.rows, message.resumeToken, message.inputSeq, message.scale);
      case 'session.join':
        // Signed in, or a guest giving a name (routing.join checks the link lets guests in).
        return this.routing.join(message.id, message.link, message.tab, message.cols, message.rows, message.guest);
      case 'session.resize': {
        // Someone watching sees the owner's size: theirs changes nothing.
        if (this.stream.watched) return;
        const session = this.stream.session;
        if (!session) return this.refuse(null, ErrorCode.noSession, 'This connection has no session to resize.');
        session.resize(message.cols, message.rows);
        return;
      }
      case 'session.sound': {
        // Refused in words the tab shows (docs/protocol.md#sound), not as a bare error.
        const session = this.stream.session;
        const problem = message.on && session?.app.sound && !this.soundPolicy(session).sound ? `Sound is turned off for ${session.app.name} by your administrator.` : this.stream.listen(message.on);
        return problem === null ? undefined : this.send({ type: 'session.sound', on: false, message: problem });
      }
      case 'session.microphone': {
        const session = this.stream.session;
        const allowed = !message.on || !session || !session.app.sound || this.soundPolicy(session).microphone;
        const problem = allowed ? this.stream.speak(message.on) : `Your administrator has not allowed ${session.app.name} to hear a microphone.`;
        if (session) this.ctx.audit.record('session.microphone', { user: session.owner, address: this.address, session: session.id, app: session.app.id, detail: problem === null ? (message.on ? 'on' : 'off') : `refused: ${problem}` });
        return this.send({ type: 'session.microphone', on: message.on && problem === null, ...(problem === null ? {} : { message: problem }) });
      }
      case 'session.end': {
        // Someone watching who closes their view leaves; the session goes on.
        if (this.stream.watched) {
          this.stream.unwatch();
          return this.close(CloseCode.normal, 'stopped watching');
        }
        const session = this.stream.session;
        if (!session) return this.refuse(null, ErrorCode.noSession, 'This connection has no session to end.');
        return session.end({ kind: 'person' });
      }
      case 'session.shadow.answer':
      case 'session.share.create':
      case 'session.share.update':
      case 'session.share.revoke':
      case 'session.watcher.remove':
        return this.owned(message);
    }
    const user = this.who;
    if (!user) {
      this.refuse('id' in message ? message.id : null, ErrorCode.unauthenticated, 'Sign in first.');
      return this.close(CloseCode.unauthenticated, 'not signed in');
    }
    switch (message.type) {
      case 'auth.signOut':
        return this.signIn.signOut(user, message.id, message.tokens);
      case 'auth.totp.begin':
        return this.signIn.beginTotp(user, message.id);
      case 'auth.totp.confirm':
        return this.signIn.confirmTotp(user, message.id, message.code);
      case 'auth.refresh':
        return this.signIn.refresh(user, message.id);
      case 'apps.list':
        return this.send({ type: 'apps.list.ok', id: message.id, apps: this.ctx.catalog.appsFor(this.ctx.catalog.identify(user, this.claims) ?? user) });
      case 'session.launch':
        return this.routing.launch(user, message.id, message.appId, message.cols, message.rows, message.scale);
      case 'session.attach':
        return this.routing.resume(message.id, message.sessionId, message.cols, message.rows, null);
      case 'sessions.list':
        return this.ctx.sessions.summaries(user).then((sessions) => this.send({ type: 'sessions.list.ok', id: message.id, sessions }));
      case 'session.shadow':
        return this.routing.shadow(message.id, message.sessionId, message.control, message.tab, message.cols, message.rows);
    }
  }

  /**
   * What the owner does with the session this connection streams: share it, answer an
   * administrator who asks to view it. Its owner is proven by the stream itself (a
   * sign-in, or a resume token after a network drop: a resumed connection carries no
   * sign-in), so these need no sign-in on the connection.
   */
  private owned(message: OwnerMessage): Promise<void> | void {
    const session = this.stream.session;
    if (message.type === 'session.shadow.answer') {
      if (!session || !this.stream.answerShadow(message.requestId, message.allow)) return this.refuse(null, ErrorCode.badRequest, 'That request to view your session is no longer waiting for an answer.');
      this.ctx.audit.record('session.shadow-answer', { user: session.owner, address: this.address, session: session.id, target: message.requestId, result: message.allow ? 'allowed' : 'denied' });
      return;
    }
    if (!session) {
      if (!this.who) {
        this.refuse(message.id, ErrorCode.unauthenticated, 'Sign in first.');
        return this.close(CloseCode.unauthenticated, 'not signed in');
      }
      return this.refuse(message.id, ErrorCode.noSession, 'Open your session first: sharing is done from the window that shows it.');
    }
    switch (message.type) {
      case 'session.share.create':
        return this.sharing.create(message.id, session, message.mode, message.minutes, message.guests === true);
      case 'session.share.update':
        return this.sharing.update(message.id, session, message.shareId, message.mode);
      case 'session.share.revoke':
        return this.sharing.revoke(message.id, session, message.shareId);
      case 'session.watcher.remove':
        return this.sharing.removeWatcher(message.id, session, message.watcherId);
    }
  }

  /** An administrator revoked this user's tokens: the connection closes; the person signs in again (sessions wait). */
  revoked(): void {
    this.refuse(null, ErrorCode.unauthenticated, 'An administrator ended your sign-in; sign in again.');
    this.close(CloseCode.unauthenticated, 'your sign-in was revoked; sign in again');
  }

  private onClose(): void {
    this.isClosed = true;
    this.ctx.connections.delete(this);
    clearTimeout(this.authTimer);
    this.routing.clientClosed();
    this.stream.detach();
  }

  refuse(id: number | null, code: string, message: string, retryAfterMs?: number): void {
    this.send({ type: 'error', id, code, message, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
  }

  send(message: ServerMessage): void {
    if (this.isOpen()) this.ws.send(JSON.stringify(message));
  }

  isOpen(): boolean {
    return this.ws.readyState === this.ws.OPEN;
  }

  close(code: number, reason: string): void {
    if (this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING) this.ws.close(code, reason);
  }

  /** Closes a connection that sent what no client sends, saying why; it is cut off if it keeps sending. */
  private abuse(code: number, what: string, reason: string): void {
    this.ctx.log.warn('connection closed: over its frame budget', { user: this.who, address: this.address, what });
    this.ctx.audit.record('connection.refused', { user: this.who, address: this.address, detail: what });
    this.refuse(null, code === CloseCode.protocolError ? ErrorCode.badRequest : ErrorCode.rateLimited, `This connection sent ${what} and was closed.`);
    this.isClosed = true;
    this.close(code, reason);
    setTimeout(() => this.ws.readyState !== this.ws.CLOSED && this.ws.terminate(), ABUSE_TERMINATE_MS).unref();
  }
}
