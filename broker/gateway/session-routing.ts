// Where a connection's session runs: launching (on the least-loaded node — through a
// tunnel when that is another), resuming or attaching wherever the primary is, waiting
// out a failover, restarting a failover: restart app here. Every way of not being
// allowed a session gets the same answer; once tunnelled, every frame goes through.
import type { WebSocket } from 'ws';
import { ClientMessage, ErrorCode, parseJsonFrame, parseShareLink, type ShareMode } from '../../shared/protocol/index.js';
import type { SessionRecord, ShareRecord } from '../cluster/records.js';
import { randomBytes } from 'node:crypto';
import { whichToken } from '../auth/resume-token.js';
import { NodeFullError } from '../node-full.js';
import type { Client } from './client.js';
import type { NodeContext, StreamedSession } from './context.js';
import type { StreamBinding } from './stream-binding.js';
import { LINK_REFUSED, checkShareLink } from './session-sharing.js';
import { ADMIN_GROUP } from '../catalog.js';
import { shadowingFor } from '../config/shadow-policy.js';

/** An administrator's view lasts at most this long; they open it again if they need longer. */
const SHADOW_MAX_MS = 12 * 3600_000;
import { Tunnel } from './tunnel.js';

export class SessionRouting {
  /** Set while this connection's session lives on another node: frames go through it. */
  private tunnel: Tunnel | null = null;
  /** Frames that arrived while a tunnel was being opened. */
  private routing: Array<{ data: Buffer; isBinary: boolean }> | null = null;

  constructor(
    private readonly ctx: NodeContext,
    private readonly client: Client,
    /** Handed to a tunnel: the far node's frames go straight to it. */
    private readonly ws: WebSocket,
    private readonly stream: StreamBinding,
    /** Opened by another node's gateway: serve sessions here, never route them on. */
    private readonly local: boolean,
  ) {}

  /**
   * A frame for a session on another node (or one being carried there): forwarded, or
   * held until the tunnel is open. True if it was taken. Liveness pings are answered
   * here: the tunnel watches the far node itself.
   */
  carry(bytes: Buffer, isBinary: boolean): boolean {
    if (this.tunnel) {
      if (!isBinary && bytes.length < 128) {
        const parsed = parseJsonFrame(ClientMessage, bytes.toString('utf8'));
        if (parsed.ok && parsed.value.type === 'ping') {
          this.client.send({ type: 'pong', id: parsed.value.id });
          return true;
        }
      }
      this.tunnel.forward(bytes, isBinary);
      return true;
    }
    if (this.routing) {
      this.routing.push({ data: bytes, isBinary });
      return true;
    }
    return false;
  }

  /** The client left: a tunnel closes its far end. */
  clientClosed(): void {
    this.tunnel?.clientClosed();
  }

  /** `scale`: a GUI app's launching screen's device pixels per CSS pixel (the app starts told it: host/sandbox.ts scaleSettings). */
  async launch(user: string, id: number, appId: string, cols: number, rows: number, scale?: number): Promise<void> {
    if (this.stream.session || this.tunnel) return this.client.refuse(id, ErrorCode.sessionBusy, 'This connection already streams a session; open a new connection to launch another.');
    const app = this.ctx.catalog.app(appId);
    if (!app) return this.client.refuse(id, ErrorCode.unknownApp, `There is no app "${appId}" in the catalog.`);
    const person = this.ctx.catalog.identify(user, this.client.federated);
    if (!this.ctx.catalog.entitledAppIds(person ?? user).has(appId)) {
      this.ctx.audit.record('session.launch-refused', { user, address: this.client.address, app: appId, detail: 'not entitled' });
      return this.client.refuse(id, ErrorCode.notEntitled, `You are not entitled to launch "${app.name}"; ask your administrator for access.`);
    }
    const perUser = this.ctx.config.node.limits.sessionsPerUser;
    // Without the control plane the count is unknown; the launch itself then says why it cannot start.
    const running = (await this.ctx.sessions.summaries(user).catch(() => null))?.length ?? 0;
    if (running >= perUser) {
      this.ctx.audit.record('session.launch-refused', { user, address: this.client.address, app: appId, detail: `${running} sessions running` });
      return this.client.refuse(id, ErrorCode.limitReached, `You have ${running} sessions running, the most allowed (${perUser}). End one you no longer need — the launcher lists them — and launch again.`);
    }
    const sessions = this.ctx.sessions;
    if (!this.local && sessions.clustered) {
      // The least-loaded node hosts the primary; this one if it is among the least loaded.
      const target = sessions.placePrimary();
      if (target && target !== sessions.self) {
        const routed = await this.route(target, { type: 'session.launch', id, appId, cols, rows, ...(scale !== undefined ? { scale } : {}) }, user);
        if (routed === 'ok') return;
      }
    }
    let session: StreamedSession;
    try {
      session = await this.ctx.sessions.launch(user, app, cols, rows, this.client.grant, person?.groups, scale);
    } catch (error) {
      this.ctx.metrics.launches.inc({ result: 'failed' });
      this.ctx.audit.record('session.launch-refused', { user, address: this.client.address, app: appId, detail: String(error) });
      if (error instanceof NodeFullError) return this.client.refuse(id, ErrorCode.limitReached, error.message);
      this.ctx.log.error('launch failed', { user, app: appId, error: String(error) });
      return this.client.refuse(id, ErrorCode.launchFailed, `${app.name} could not be started on this node: ${error instanceof Error ? error.message : String(error)}`);
    }
    this.ctx.audit.record('session.launch', { user, address: this.client.address, app: appId, session: session.id });
    if (!this.client.isOpen()) {
      // The client left while the app started: keep it for the hold time, like any detach.
      session.startHold();
      return;
    }
    this.client.send({
      type: 'session.started',
      id,
      sessionId: session.id,
      appId,
      cols,
      rows,
      window: this.ctx.config.node.outputWindowBytes,
      resumeToken: session.resumeToken,
      holdSeconds: session.holdSeconds ?? this.ctx.config.node.sessionHoldSeconds,
      ...(session.recorded ? { recorded: true } : {}),
    });
    this.stream.bind(session);
  }

  /**
   * Resume (with the session's resume token) or attach (as its signed-in owner) a
   * running session, wherever its primary runs. Every way of not being allowed gets
   * the same answer, so nobody learns anything about sessions that are not theirs.
   * If the primary is not answering (a failover under way), waits for the record to
   * name a new one, up to the lease TTL and a little more.
   */
  async resume(id: number, sessionId: string, cols: number, rows: number, token: string | null, inputSeq?: number, scale?: number): Promise<void> {
    if (this.stream.session || this.tunnel) return this.client.refuse(id, ErrorCode.sessionBusy, 'This connection already streams a session; open a new connection to resume another.');
    const sessions = this.ctx.sessions;
    const deadline = Date.now() + this.ctx.config.cluster.leaseTtlMs + 2000;
    for (;;) {
      const found = await sessions.record(sessionId);
      const record = found?.record ?? null;
      if (!record || !this.allowed(record, token)) return this.client.refuse(id, ErrorCode.noSession, 'There is no such session, or it is not yours.');
      if (record.state === 'ended') return this.client.refuse(id, ErrorCode.sessionEnded, record.endMessage ?? 'Your session ended.');
      if (record.primary === sessions.self || this.local) {
        // A standby here may be finishing its promotion (a failover or a move): give it a moment.
        const local = await this.ctx.sessions.awaitPrimary(sessionId, 2000);
        if (local) return this.resumeHere(id, local, cols, rows, token);
      } else {
        let gone = !sessions.isLive(record.primary);
        if (!gone) {
          const message = token === null ? { type: 'session.attach' as const, id, sessionId, cols, rows } : { type: 'session.resume' as const, id, sessionId, resumeToken: token, cols, rows };
          const routed = await this.route(record.primary, message, this.client.user);
          if (routed === 'ok') return;
          // Refused: find out whether the process is gone. Silent (hung, stopped): only its lease can tell.
          if (routed === 'refused') gone = (await this.ctx.sessions.probe(record.primary)) === 'dead';
        }
        if (gone && record.standbys.every((n) => !sessions.isLive(n)) && record.failover === 'restart') {
          // No standby by design: a fresh instance here, with the same files.
          // A fresh app: told the resuming screen's scale, as a launch is.
          const session = await this.ctx.sessions.restartHere(found!, token, inputSeq ?? 0, cols, rows, scale);
          if (session) {
            const files = this.ctx.config.cluster.sharedDir ? 'your files are as you left them' : 'its files could not be kept (no shared storage is configured)';
            return this.resumeHere(id, session, cols, rows, token, `\x1b[1;33m[Holdfast] ${record.appName} was restarted on ${sessions.self} because its server stopped; ${files}.\x1b[0m\r\n`);
          }
        } else if (gone && record.standbys.every((n) => !sessions.isLive(n))) {
          // The primary's node is gone and no standby can take over.
          const ended = await this.ctx.sessions.lostWithHost(found!);
          if (ended) return this.client.refuse(id, ErrorCode.sessionEnded, ended);
        }
      }
      if (!this.client.isOpen()) return;
      if (Date.now() >= deadline) return this.client.refuse(id, ErrorCode.unavailable, 'The node running your session is not answering; trying again.');
      await sessions.waitForRecord(sessionId, (next) => next?.revision !== found!.revision, Math.max(0, deadline - Date.now()));
    }
  }

  /**
   * Watch a session through a share link (docs/protocol.md#sharing-a-session), wherever
   * its primary runs: the link is checked against the session's record here, and again
   * by the primary's node; through a failover it waits for the new primary, like a resume.
   */
  async join(id: number, link: string, tab: string, cols: number, rows: number, guest?: string): Promise<void> {
    const signedIn = this.client.user;
    if (this.stream.session || this.stream.watched || this.tunnel) return this.client.refuse(id, ErrorCode.sessionBusy, 'This connection already streams a session; open a new connection to join another.');
    if (signedIn === null && guest === undefined) return this.client.refuse(id, ErrorCode.unauthenticated, 'Sign in to watch this session (or give a name, if its link lets guests in).');
    // A guest is nobody the broker knows: named as they asked, marked as a guest wherever it shows.
    const who = signedIn === null ? { user: `guest:${guest!}`, displayName: guest!, guest: true } : { user: signedIn, displayName: this.ctx.catalog.identify(signedIn, this.client.federated)?.displayName ?? signedIn, guest: false };
    const refuse = (message: string) => {
      this.ctx.audit.record('session.join-refused', { user: signedIn, address: this.client.address, detail: signedIn === null ? `guest "${guest!}": ${message}` : message });
      this.client.refuse(id, ErrorCode.linkRefused, message);
    };
    const sharing = this.ctx.config.node.sharing;
    if (!sharing.enabled) return refuse('Sharing sessions is turned off on this broker.');
    const parsed = parseShareLink(link);
    if (!parsed) return refuse(LINK_REFUSED);
    let share: ShareRecord | null = null;
    await this.atPrimary(id, parsed.sessionId, { type: 'session.join', id, link, tab, cols, rows, ...(guest !== undefined ? { guest } : {}) }, (record) => {
      const checked = checkShareLink(record, parsed.shareId, parsed.secret, Date.now());
      if ('refused' in checked) {
        refuse(checked.refused);
        return false;
      }
      if (signedIn === null && !(checked.share.guests && sharing.guests)) {
        refuse('This link is for people who sign in: sign in to watch.');
        return false;
      }
      share = checked.share;
      return true;
    }, (session) => {
      const { id: shareId, mode, expiresAt } = share!;
      return this.watchHere(id, session, who, { shareId, mode, expiresAt, tab }, () => {
        this.ctx.log.info('session joined', { session: session.id, user: who.user, share: shareId, mode });
        this.ctx.audit.record('session.join', { user: signedIn, address: this.client.address, session: session.id, app: session.app.id, target: shareId, detail: signedIn === null ? `${mode}, guest "${guest!}"` : mode });
      });
    });
  }

  /**
   * An administrator views (`control`: and types into) someone's session — shadowing
   * (docs/protocol.md#shadowing): wherever its primary runs, once its person allowed it,
   * as their session policy says (config/shadow-policy.ts).
   */
  async shadow(id: number, sessionId: string, control: boolean, tab: string, cols: number, rows: number): Promise<void> {
    const user = this.client.user!;
    if (this.stream.session || this.stream.watched || this.tunnel) return this.client.refuse(id, ErrorCode.sessionBusy, 'This connection already streams a session; open a new connection to view another.');
    const admin = this.ctx.catalog.identify(user, this.client.federated);
    const refuse = (code: string, message: string, session?: string) => {
      this.ctx.audit.record('session.shadow-refused', { user, address: this.client.address, ...(session ? { session } : {}), detail: message });
      this.client.refuse(id, code, message);
    };
    if (!admin?.groups.includes(ADMIN_GROUP)) return refuse(ErrorCode.notEntitled, `Only administrators (the "${ADMIN_GROUP}" group) may view other people's sessions.`);
    await this.atPrimary(id, sessionId, { type: 'session.shadow', id, sessionId, control, tab, cols, rows }, (record) => {
      if (record?.state === 'running') return true;
      refuse(ErrorCode.noSession, record ? 'That session has ended.' : 'There is no such session.');
      return false;
    }, async (session) => {
      const owner = this.ctx.catalog.identify(session.owner);
      const ownerName = owner?.displayName ?? session.owner;
      const policy = shadowingFor(this.ctx.config, session.app.id, owner ?? { name: session.owner, groups: [] });
      const what = `${ownerName}’s ${session.app.name}`;
      if (policy === 'never') return refuse(ErrorCode.shadowDenied, `${what} may not be viewed by administrators: its session policy says never.`, session.id);
      let answer: string = 'not asked (policy: allow)';
      if (policy !== 'allow') {
        const requestId = randomBytes(9).toString('base64url');
        const msLeft = this.ctx.config.node.sharing.shadowAskSeconds * 1000;
        this.ctx.audit.record('session.shadow-request', { user, address: this.client.address, session: session.id, app: session.app.id, target: requestId, detail: control ? 'control' : 'view' });
        const onTimeout = policy === 'ask-allow-on-timeout' ? 'allow' : 'deny';
        answer = await session.askShadow({ requestId, admin: user, adminName: admin.displayName, control, msLeft, onTimeout });
        const allowed = answer === 'allowed' || (onTimeout === 'allow' && (answer === 'timeout' || answer === 'nobody'));
        if (!allowed) {
          const why =
            answer === 'denied'
              ? `${ownerName} said no to your request to view their ${session.app.name}.`
              : answer === 'timeout'
                ? `${ownerName} did not answer within ${msLeft / 1000} s, so you may not view their ${session.app.name}.`
                : `Nobody has ${what} open to allow it, so you may not view it (its session policy asks first).`;
          return refuse(ErrorCode.shadowDenied, why, session.id);
        }
        if (!this.client.isOpen()) return;
      }
      return this.watchHere(id, session, { user, displayName: admin.displayName, guest: false }, { shareId: 'shadow', mode: control ? 'type' : 'view', expiresAt: Date.now() + SHADOW_MAX_MS, tab, shadow: true }, () => {
        this.ctx.log.info('session shadowed', { session: session.id, user, control, answer });
        this.ctx.audit.record('session.shadow', { user, address: this.client.address, session: session.id, app: session.app.id, detail: control ? 'control' : 'view', result: answer });
      });
    });
  }

  /**
   * Finds `sessionId`'s primary and runs `here` with it on this node — through a tunnel
   * to its node (the far node runs `message` again), or waiting out a failover up to
   * the lease TTL and a little more. `check` vets the record first (false: refused).
   */
  private async atPrimary(id: number, sessionId: string, message: ClientMessage, check: (record: SessionRecord | null) => boolean, here: (session: StreamedSession) => Promise<void>): Promise<void> {
    const sessions = this.ctx.sessions;
    const deadline = Date.now() + this.ctx.config.cluster.leaseTtlMs + 2000;
    for (;;) {
      const found = await sessions.record(sessionId);
      if (!check(found?.record ?? null)) return;
      const record = found!.record;
      if (record.primary === sessions.self || this.local) {
        const local = await sessions.awaitPrimary(record.id, 2000);
        if (local) return here(local);
      } else if (sessions.isLive(record.primary)) {
        const routed = await this.route(record.primary, message, this.client.user);
        if (routed === 'ok') return;
      }
      if (!this.client.isOpen()) return;
      if (Date.now() >= deadline) return this.client.refuse(id, ErrorCode.unavailable, 'The node running this session is not answering; trying again.');
      await sessions.waitForRecord(record.id, (next) => next?.revision !== found!.revision, Math.max(0, deadline - Date.now()));
    }
  }

  /** Makes this connection a watcher of `session` (through a link, or an administrator's view) and answers with where its stream starts. */
  private async watchHere(
    id: number,
    session: StreamedSession,
    who: { user: string; displayName: string; guest: boolean },
    how: { shareId: string; mode: ShareMode; expiresAt: number; tab: string; shadow?: boolean },
    joined: () => void,
  ): Promise<void> {
    const { user } = who;
    const max = this.ctx.config.node.sharing.maxWatchers;
    if (session.watchers.size >= max) {
      this.ctx.audit.record('session.join-refused', { user: this.client.user, address: this.client.address, session: session.id, detail: `${max} watching` });
      return this.client.refuse(id, ErrorCode.limitReached, `${max} people are already watching this session, the most allowed. Try again when someone leaves.`);
    }
    this.client.keepOpen();
    const owner = this.ctx.catalog.identify(session.owner);
    // The tab is the client's word: keyed by the person too, nobody's numbering can collide with another's.
    const join = {
      id: randomBytes(9).toString('base64url'),
      user,
      displayName: who.displayName,
      tab: `${user}/${how.tab}`,
      shareId: how.shareId,
      mode: how.mode,
      expiresAt: how.expiresAt,
      ...(how.shadow ? { shadow: true } : {}),
      ...(who.guest ? { guest: true } : {}),
    };
    const peer = this.stream.watch(session, join);
    const problem = await session.watch(join, peer, (point) =>
      this.client.send({
        type: 'session.joined',
        id,
        sessionId: session.id,
        appId: session.app.id,
        appName: session.app.name,
        owner: session.owner,
        ownerName: owner?.displayName ?? session.owner,
        mode: join.mode,
        display: session.app.display,
        watcherId: join.id,
        ...(how.shadow ? { shadow: true } : {}),
        cols: point.cols,
        rows: point.rows,
        window: this.ctx.config.node.outputWindowBytes,
        resumeToken: '',
        holdSeconds: 0,
        inputAck: point.inputAck,
        outputOffset: point.outputOffset,
        snapshot: point.snapshot,
      }),
    );
    if (problem !== null) {
      this.stream.unwatch();
      return this.client.refuse(id, ErrorCode.linkRefused, problem);
    }
    // It left while the snapshot was taken: it watches no more.
    if (!this.client.isOpen()) return this.stream.unwatch();
    joined();
  }

  private allowed(record: SessionRecord, token: string | null): boolean {
    if (token === null) return this.client.user === record.owner;
    if (whichToken(record, token) === null || (this.client.user !== null && this.client.user !== record.owner)) return false;
    // A token dies with its owner's revocation (every token issued before it).
    return !this.ctx.revocations.revoked(record.owner, record.tokenIssuedAt ?? record.startedAt, undefined);
  }

  /**
   * A new resume token for this answer (auth/resume-token.ts): for a resume, pending
   * until the client uses its stream, then the only one; for an attach, at once. Null
   * when the presented token is no longer good (a copy resumed first, or it was retired).
   */
  private async nextToken(sessionId: string, token: string | null): Promise<string | null> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const found = await this.ctx.sessions.record(sessionId);
      if (!found || !this.allowed(found.record, token)) return null;
      const next = randomBytes(24).toString('base64url');
      const presented = token === null ? null : whichToken(found.record, token);
      if (await this.ctx.sessions.issueResumeToken(found, presented, next, this.client.grant)) {
        if (token !== null) this.client.onStreamUsed(() => void this.ctx.sessions.confirmResumeToken(sessionId, next).catch(() => {}));
        return next;
      }
    }
    return null;
  }

  private async resumeHere(id: number, session: StreamedSession, cols: number, rows: number, token: string | null, notice = ''): Promise<void> {
    this.client.keepOpen();
    const resumeToken = await this.nextToken(session.id, token);
    if (resumeToken === null) return this.client.refuse(id, ErrorCode.noSession, 'There is no such session, or it is not yours.');
    const point = await session.resumePoint(cols, rows);
    if (session.endMessage !== null) return this.client.refuse(id, ErrorCode.sessionEnded, session.endMessage);
    if (!this.client.isOpen()) return;
    this.client.send({
      type: 'session.resumed',
      id,
      sessionId: session.id,
      appId: session.app.id,
      cols: point.cols,
      rows: point.rows,
      window: this.ctx.config.node.outputWindowBytes,
      resumeToken,
      holdSeconds: session.holdSeconds ?? this.ctx.config.node.sessionHoldSeconds,
      ...(session.recorded ? { recorded: true } : {}),
      inputAck: point.inputAck,
      outputOffset: point.outputOffset,
      snapshot: notice + point.snapshot,
    });
    this.ctx.log.info(token === null ? 'session attached' : 'session resumed', { session: session.id, user: session.owner, address: this.client.address });
    this.ctx.audit.record(token === null ? 'session.attach' : 'session.resume', { user: session.owner, address: this.client.address, session: session.id, app: session.app.id });
    this.stream.bind(session);
  }

  /**
   * Carries this connection to `target`, which hosts the session: opens a tunnel and
   * hands it the request; or says why the node could not be reached.
   */
  private async route(target: string, message: ClientMessage, user: string | null): Promise<'ok' | 'refused' | 'silent'> {
    const node = this.ctx.sessions.member(target);
    if (!node) return 'refused';
    this.routing = [];
    // The far node serves this person's sign-in, not a new one: what it gives (a resume token) is that sign-in's.
    const accessToken = user ? (await this.ctx.tokens.issue(user, this.client.federated, this.client.grant ?? undefined)).token : null;
    const tunnel = await Tunnel.open({ url: node.url, heartbeatMs: this.ctx.config.node.heartbeatMs, accessToken, first: JSON.stringify(message), client: this.ws, trust: this.ctx.trust });
    const queued = this.routing;
    this.routing = null;
    if (typeof tunnel === 'string') {
      this.ctx.log.warn('session host unreachable', { peer: target, how: tunnel });
      return tunnel;
    }
    this.client.keepOpen();
    this.tunnel = tunnel;
    for (const frame of queued) tunnel.forward(frame.data, frame.isBinary);
    if (this.client.closed) tunnel.clientClosed();
    return 'ok';
  }
}
