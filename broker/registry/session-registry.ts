// The replicas on this node — primaries and standbys — and their lifecycle: launching
// a session with its standbys, restarting one whose host died, starting a standby for
// another node's primary, stepping down, ending, and the queries the gateway makes.
// Its parts: peer-router.ts (messages between nodes), moves.ts (handover, drain,
// heal), cluster-history.ts (what operators see); cluster/failover.ts and
// cluster/screen-checks.ts keep replica sets whole through failures. Every change to
// a session's record goes through compare-and-swap; a replica that finds its epoch
// superseded steps down.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { SessionSummary } from '../../shared/protocol/index.js';
import { SandboxProfile, type AppConfig, type NodeConfig } from '../config/schema.js';
import type { SandboxHost } from '../host/sandbox-host.js';
import type { Logger } from '../log.js';
import { Screens } from '../host/screens.js';
import { Session } from '../session/session.js';
import type { EndReason } from '../session/end-reason.js';
import type { Catalog } from '../catalog.js';
import type { Cluster, ClusterEvents, VersionedSession } from '../cluster/cluster.js';
import type { PeerHandlers, PeerHub, PeerReply } from '../cluster/peers.js';
import { encodeAcked, entryFromJson, entryToJson, type PeerMessage } from '../cluster/peer-protocol.js';
import { Failover } from '../cluster/failover.js';
import { HASH_CHECK_MS, ScreenChecks } from '../cluster/screen-checks.js';
import type { ClusterEventKind, PeerRequest, Replica, ReplicaSetHost } from '../cluster/replica.js';
import type { NodeRecord, SessionRecord } from '../cluster/records.js';
import { hashToken } from '../auth/resume-token.js';
import { NodeFullError } from '../node-full.js';
import type { NodeMetrics } from '../metrics.js';
import { noAudit, type AuditLog } from '../audit.js';
import { sleep } from '../sleep.js';
import { ClusterHistory, type ClusterEvent, type NodeCounters } from './cluster-history.js';
import { Moves, type DrainState } from './moves.js';
import { PeerRouter } from './peer-router.js';

export type { ClusterEvent, NodeCounters } from './cluster-history.js';
export type { DrainState } from './moves.js';

export const DEFAULT_PROFILE: SandboxProfile = SandboxProfile.parse({});

const REMEMBER_ENDED_MS = 60 * 60_000;


export type Lookup = { found: 'running'; session: Session } | { found: 'none' };

export class SessionRegistry implements ReplicaSetHost {
  /** The replicas on this node, by session id (for the cluster modules; read, do not replace). */
  readonly replicas = new Map<string, Replica<Session>>();
  readonly screens = new Screens();
  readonly history: ClusterHistory;
  readonly failover: Failover;
  readonly checks: ScreenChecks;
  readonly moves: Moves;
  private readonly router: PeerRouter;
  /** What the node's peer links deliver to (node.ts hands these to its PeerHub). */
  readonly peerHandlers: PeerHandlers;
  /** What the cluster reports to (node.ts hands these to its Cluster). */
  readonly clusterEvents: ClusterEvents;

  constructor(
    readonly config: NodeConfig,
    private readonly catalog: Catalog,
    readonly log: Logger,
    readonly cluster: Cluster,
    readonly peers: PeerHub,
    readonly metrics: NodeMetrics,
    /** The node's sandbox setup, shared by every session (limits, seccomp, hidden paths). */
    readonly sandbox: SandboxHost,
    audit: AuditLog = noAudit,
  ) {
    this.history = new ClusterHistory(cluster.name, metrics, audit);
    this.failover = new Failover(this);
    this.checks = new ScreenChecks(this, this.failover);
    this.moves = new Moves(this, this.failover);
    this.router = new PeerRouter(this, this.failover, this.checks, (to, message) => this.sendTo(to, message));
    this.peerHandlers = this.router.handlers;
    this.clusterEvents = {
      nodeGone: (name) => this.failover.nodeGone(name),
      leaseLost: () => {},
      leaseRegained: () => void this.reconcile(),
    };
  }

  get self(): string {
    return this.cluster.name;
  }

  get holdSeconds(): number {
    return this.config.node.sessionHoldSeconds;
  }

  /** Replicas (primary included) an app runs as. */
  replicasFor(app: Pick<AppConfig, 'failover' | 'replicas'>): number {
    if (app.failover !== 'lockstep') return 1;
    return app.replicas ?? (this.cluster.clustered ? 2 : 1);
  }

  // ---- launch -----------------------------------------------------------------------

  /** Starts `app` for `owner` with this node as primary, and its standbys on others. */
  async launch(owner: string, app: AppConfig, cols: number, rows: number): Promise<Session> {
    if (!this.cluster.accepting) {
      throw new Error(this.cluster.draining ? 'this node is being drained for maintenance and takes no new sessions; try again in a moment' : 'this node has lost touch with the control plane and takes no new sessions; try again in a moment');
    }
    const max = this.config.node.limits.sessionsPerNode;
    if ([...this.replicas.values()].filter((r) => r.session.role === 'primary').length >= max) {
      throw new NodeFullError(`This node runs ${max} sessions, the most it may; try again in a few minutes, or ask your administrator to add capacity.`);
    }
    const id = randomBytes(16).toString('base64url');
    const session = this.createReplica({ role: 'primary', epoch: 1, owner, app, cols, rows, id, homeDir: this.homeFor(app, id) });
    const replica = this.track(session, this.self);
    replica.launching = true;
    const standbys = this.cluster.place(this.replicasFor(app) - 1, new Set([this.self]));
    const record: SessionRecord = {
      id: session.id,
      owner,
      appId: app.id,
      appName: app.name,
      epoch: 1,
      primary: this.self,
      standbys,
      failover: app.failover,
      resumeTokenHash: hashToken(session.resumeToken),
      startedAt: session.startedAt,
      attached: true,
      holdExpiresAt: null,
      state: 'running',
      endMessage: null,
      endedAt: null,
    };
    try {
      if ((await this.cluster.createSession(record)) === null) throw new Error('session id collision');
    } catch (error) {
      session.end({ kind: 'not-recorded' });
      throw error;
    }
    if (standbys.length > 0 || this.replicasFor(app) > 1) {
      this.watchScreens(replica);
      for (const name of standbys) {
        session.replicator!.add(name, true);
        this.openStandby(session, name);
      }
      if (standbys.length < this.replicasFor(app) - 1) this.log.warn('not enough nodes for every standby', { session: session.id, user: owner, wanted: this.replicasFor(app) - 1, placed: standbys.length });
    }
    replica.launching = false;
    this.log.info('session started', { session: session.id, user: owner, app: app.id, pid: session.pid, standbys });
    this.metrics.launches.inc({ result: 'ok' });
    return session;
  }

  /** Observes how long the app took from its sandbox starting to taking input. */
  private timeLaunch(session: Session): void {
    const started = performance.now();
    const check = setInterval(() => {
      const elapsed = performance.now() - started;
      if (session.endMessage !== null || elapsed > 60_000) return clearInterval(check);
      if (!session.displayReady) return;
      clearInterval(check);
      this.metrics.sandboxLaunch.observe({ display: session.app.display }, elapsed / 1000);
    }, 25);
    check.unref();
  }

  /** Where a failover: restart app keeps its files: on shared storage, so a restart elsewhere finds them. */
  private homeFor(app: AppConfig, id: string): string | undefined {
    const shared = this.config.cluster.sharedDir;
    if (app.failover !== 'restart' || !shared) return undefined;
    // Sandboxes run as their own users: they must be able to pass through to their home
    // (sharedDir itself, if it exists already, needs o+x: docs/operations.md).
    mkdirSync(join(shared, 'homes'), { recursive: true, mode: 0o711 });
    chmodSync(join(shared, 'homes'), 0o711);
    const home = join(shared, 'homes', id);
    mkdirSync(home, { recursive: true, mode: 0o700 });
    return home;
  }

  /**
   * The primary of a failover: restart session died with no standby: start a fresh
   * instance here, in epoch+1 (by CAS, so only one gateway does), with the same home
   * when there is shared storage. Input numbering continues after the client's.
   */
  async restartHere(found: VersionedSession, token: string | null, inputSeq: number, cols: number, rows: number): Promise<Session | null> {
    const record = found.record;
    const app = this.catalog.app(record.appId);
    if (!app || !this.cluster.accepting) return null;
    const resumeToken = token ?? randomBytes(24).toString('base64url');
    const next: SessionRecord = {
      ...record,
      epoch: record.epoch + 1,
      primary: this.self,
      standbys: [],
      attached: false,
      holdExpiresAt: Date.now() + this.config.node.sessionHoldSeconds * 1000,
      resumeTokenHash: hashToken(resumeToken),
    };
    if ((await this.cluster.swapSession(next, found.revision).catch(() => null)) === null) return null;
    const session = this.createReplica({
      role: 'primary',
      epoch: next.epoch,
      owner: record.owner,
      app,
      cols,
      rows,
      id: record.id,
      resumeToken,
      startedAt: record.startedAt,
      homeDir: this.homeFor(app, record.id),
      inputBase: inputSeq,
    });
    this.track(session, this.self);
    session.startHold();
    this.note('restart', record.id, app.id, `restarted here after ${record.primary} stopped (epoch ${next.epoch})`);
    this.log.warn('app restarted after its host died', { session: record.id, user: record.owner, app: app.id, from: record.primary, epoch: next.epoch });
    return session;
  }

  private createReplica(o: {
    role: 'primary' | 'standby';
    epoch: number;
    owner: string;
    app: AppConfig;
    cols: number;
    rows: number;
    id: string;
    resumeToken?: string;
    startedAt?: number;
    homeDir?: string;
    inputBase?: number;
  }): Session {
    const profile = this.config.sandboxProfiles[o.app.sandbox] ?? DEFAULT_PROFILE;
    const replicated = this.replicasFor(o.app) > 1;
    const session: Session = new Session({
      ...o,
      profile,
      stateDir: this.config.node.stateDir,
      sandbox: this.sandbox,
      window: this.config.node.outputWindowBytes,
      holdSeconds: this.config.node.sessionHoldSeconds,
      screens: this.screens,
      mayAct: this.cluster.clustered ? () => this.cluster.leaseValid() : () => true,
      keepLog: replicated,
      // A replicated session's log goes to its standbys (none yet on a standby: it gets them if promoted).
      replicate: replicated ? (to, frame) => this.sendTo(to, frame) : null,
      onEnd: (done, reason) => this.ended(done, reason),
      warn: (message, fields) => this.log.warn(message, fields),
    });
    this.timeLaunch(session);
    return session;
  }

  private track(session: Session, primary: string): Replica<Session> {
    const replica: Replica<Session> = { session, primary, divergences: 0, checkedAt: '' };
    this.replicas.set(session.id, replica);
    this.cluster.setLoad(this.replicas.size);
    return replica;
  }

  /** A primary here now has a replica set: its screens are compared with its standbys' every HASH_CHECK_MS. */
  watchScreens(replica: Replica): void {
    if (replica.hashTimer) return;
    replica.hashTimer = setInterval(() => void this.checks.checkHashes(replica), HASH_CHECK_MS);
    replica.hashTimer.unref();
  }

  sendTo(name: string, data: PeerMessage | Uint8Array): void {
    const node = this.cluster.node(name);
    if (node) this.peers.send(name, node.url, data);
  }

  request(name: string, message: PeerRequest, timeoutMs: number): Promise<PeerMessage | null> {
    return this.router.request(name, message, timeoutMs);
  }

  note(kind: ClusterEventKind, session: string | null, app: string | null, detail: string): void {
    this.history.note(kind, session, app, detail);
  }

  openStandby(session: Session, name: string): void {
    this.sendTo(name, {
      type: 'replica.open',
      sessionId: session.id,
      epoch: session.epoch,
      owner: session.owner,
      appId: session.app.id,
      // The size the app started at: the standby replays the resizes from the log.
      cols: session.initialSize.cols,
      rows: session.initialSize.rows,
      resumeToken: session.resumeToken,
      startedAt: session.startedAt,
      entries: session.log.entries.map(entryToJson),
    });
  }

  /** A primary asked this node to run a standby: start the app and replay the log. */
  startStandby(from: string, message: Extract<PeerMessage, { type: 'replica.open' }>, reply: PeerReply): void {
    const fail = (why: string) => reply.json({ type: 'replica.failed', sessionId: message.sessionId, epoch: message.epoch, message: why });
    const existing = this.replicas.get(message.sessionId);
    if (existing?.session.role === 'primary') return fail('this node runs the session’s primary');
    // The primary opens a standby here again (it dropped the last one): that one is stale.
    if (existing) this.dropLocal(existing, 'replaced by a new standby');
    if (!this.cluster.accepting) return fail(this.cluster.draining ? 'this node is being drained' : 'this node has no valid lease');
    const app = this.catalog.app(message.appId);
    if (!app) return fail(`app "${message.appId}" is not in this node's catalog`);
    let session: Session;
    try {
      session = this.createReplica({
        role: 'standby',
        epoch: message.epoch,
        owner: message.owner,
        app,
        cols: message.cols,
        rows: message.rows,
        id: message.sessionId,
        resumeToken: message.resumeToken,
        startedAt: message.startedAt,
      });
    } catch (error) {
      return fail(String(error));
    }
    this.track(session, from);
    const entries = message.entries.map(entryFromJson);
    session.log.appendFromPrimary(entries, true);
    void session.replayed().then(() => {
      reply.json({ type: 'replica.opened', sessionId: session.id, epoch: session.epoch, index: session.log.appliedIndex });
      reply.binary(encodeAcked(session.id, session.epoch, session.log.length));
    });
    this.log.info('standby started', { session: session.id, user: session.owner, primary: from, replay: entries.length });
  }

  /** A newer primary exists: this replica shows nobody anything more and goes away. */
  stepDown(replica: Replica<Session>, why: string, planned = false): void {
    const session = replica.session;
    if (!this.replicas.has(session.id)) return;
    if (planned) this.log.info('stepping down: moved', { session: session.id, user: session.owner, epoch: session.epoch, reason: why });
    else this.log.warn('stepping down: superseded', { session: session.id, user: session.owner, epoch: session.epoch, reason: why });
    session.dropClient(planned);
    this.dropLocal(replica, why);
  }

  /** This replica goes away (the session does not): nobody is told it ended. */
  dropLocal(replica: Replica<Session>, why: string): void {
    this.replicas.delete(replica.session.id);
    this.cluster.setLoad(this.replicas.size);
    clearInterval(replica.hashTimer);
    replica.session.dropClient();
    replica.session.end({ kind: 'replica-removed', why });
  }

  /** After losing and regaining the lease: keep only what the records still give this node. */
  private async reconcile(): Promise<void> {
    for (const replica of [...this.replicas.values()]) {
      const current = await this.cluster.getSession(replica.session.id).catch(() => undefined);
      if (current === undefined) continue;
      const record = current?.record;
      if (!record || record.state !== 'running') this.dropLocal(replica, 'the session ended elsewhere');
      else if (record.epoch > replica.session.epoch) {
        if (replica.session.role === 'primary' || !record.standbys.includes(this.self)) this.stepDown(replica, `epoch ${record.epoch} is newer`);
        else replica.primary = record.primary;
      } else if (replica.session.role === 'standby' && !record.standbys.includes(this.self)) {
        // Its primary dropped it (same epoch) while this node was out: the word to end may never have come.
        this.log.warn('stale standby ended', { session: replica.session.id, user: replica.session.owner, primary: record.primary, reason: 'its primary dropped it while this node had no lease' });
        this.dropLocal(replica, 'its primary dropped this standby while this node had no lease');
      }
    }
  }

  /** A replica's app ended. On the primary that ends the session for everyone. */
  private ended(session: Session, reason: EndReason): void {
    const replica = this.replicas.get(session.id);
    if (replica?.session !== session && replica !== undefined) return;
    this.replicas.delete(session.id);
    this.cluster.setLoad(this.replicas.size);
    if (replica) clearInterval(replica.hashTimer);
    const message = session.endMessage ?? '';
    if (session.role !== 'primary') {
      if (replica) this.sendTo(replica.primary, { type: 'replica.failed', sessionId: session.id, epoch: session.epoch, message: `its app ended on the standby: ${message}` });
      return;
    }
    // A primary that stepped down or was dropped: the session goes on elsewhere.
    if (reason.kind === 'replica-removed') return;
    for (const name of session.replicator?.members.keys() ?? []) this.sendTo(name, { type: 'replica.end', sessionId: session.id, epoch: session.epoch, message });
    this.log.info('session ended', { session: session.id, user: session.owner, app: session.app.id, reason: message });
    void this.markEnded(session, message);
    const shared = this.config.cluster.sharedDir;
    if (session.app.failover === 'restart' && shared) rmSync(join(shared, 'homes', session.id), { recursive: true, force: true });
  }

  private async markEnded(session: Session, message: string): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await this.cluster.getSession(session.id).catch(() => null);
      if (!current || current.record.epoch > session.epoch) return;
      const next: SessionRecord = { ...current.record, state: 'ended', endMessage: message, endedAt: Date.now(), attached: false, holdExpiresAt: null };
      if ((await this.cluster.swapSession(next, current.revision).catch(() => null)) !== null) return;
    }
  }

  /**
   * The session's primary node is gone and no standby is left to take over: the app's
   * state is lost. Marks the record ended (once, by CAS) and returns why, for people.
   */
  async lostWithHost(found: VersionedSession): Promise<string | null> {
    const record = found.record;
    const message =
      record.failover === 'none'
        ? `The server running ${record.appName} stopped. ${record.appName} is not kept across server failures (failover: none); launch it again.`
        : `The server running ${record.appName} stopped before a standby could take over; launch it again.`;
    const next: SessionRecord = { ...record, state: 'ended', endMessage: message, endedAt: Date.now(), attached: false, holdExpiresAt: null };
    const swapped = await this.cluster.swapSession(next, found.revision).catch(() => null);
    if (swapped === null) return null;
    this.log.warn('session lost with its host', { session: record.id, user: record.owner, app: record.appId, primary: record.primary });
    return message;
  }

  /** Is `name`'s process alive? ('dead': its port refuses connections.) */
  async probe(name: string): Promise<'dead' | 'listening' | 'unknown'> {
    const node = this.cluster.node(name);
    if (!node) return 'dead';
    const state = await this.failover.probeUntilDead(node.url);
    if (state === 'dead') this.cluster.markDead(name, node.leaseId);
    return state;
  }

  /** Keeps the record's attached / hold fields in step with the replica here (for sessions.list on any node). */
  async noteAttachment(id: string): Promise<void> {
    const session = this.replicas.get(id)?.session;
    if (!session) return;
    const current = await this.cluster.getSession(session.id).catch(() => null);
    if (!current || current.record.epoch !== session.epoch || current.record.state !== 'running') return;
    const next = { ...current.record, attached: session.attached, holdExpiresAt: session.holdExpiresAt };
    await this.cluster.swapSession(next, current.revision).catch(() => null);
  }

  // ---- moves and drains (moves.ts) ----------------------------------------------------

  drain(): Promise<DrainState> {
    return this.moves.drain();
  }

  undrain(): Promise<void> {
    return this.moves.undrain();
  }

  get drainState(): DrainState | null {
    return this.moves.drainState;
  }

  /** Recent failovers, divergences, moves and drains here, newest last. */
  get events(): ClusterEvent[] {
    return this.history.events;
  }

  get counters(): NodeCounters {
    return this.history.counters;
  }

  // ---- what the gateway asks (its SessionService, gateway/context.ts) ------------------

  get clustered(): boolean {
    return this.cluster.clustered;
  }

  brokerUrls(): string[] {
    return this.cluster.brokerUrls();
  }

  /** Where a new session's primary should run: the least loaded node (this one wins ties). */
  placePrimary(): string | null {
    return this.cluster.place(1, new Set())[0] ?? null;
  }

  isLive(name: string): boolean {
    return this.cluster.isLive(name);
  }

  member(name: string): NodeRecord | undefined {
    return this.cluster.node(name);
  }

  /** This node's record first, then the others it sees. */
  members(): NodeRecord[] {
    const names = new Set([this.self, ...this.cluster.nodes.keys()]);
    return [...names].flatMap((name) => this.cluster.node(name) ?? []);
  }

  record(id: string): Promise<VersionedSession | null> {
    return this.cluster.getSession(id);
  }

  records(): Promise<VersionedSession[]> {
    return this.cluster.listSessions();
  }

  waitForRecord(id: string, until: (record: VersionedSession | null) => boolean, timeoutMs: number): Promise<VersionedSession | null> {
    return this.cluster.waitForSession(id, until, timeoutMs);
  }

  /** Ends a session whose primary is here; false if it is not primary here. */
  endSession(id: string, reason: EndReason): boolean {
    const session = this.lookup(id);
    if (session.found !== 'running') return false;
    session.session.end(reason);
    return true;
  }

  /** Moves a primary here to a standby (handover): null when moved, else why not. */
  async move(id: string, to: string | null, waitMs: number): Promise<string | null> {
    const replica = this.replicas.get(id);
    if (!replica || replica.session.role !== 'primary') return 'the session is no longer primary here';
    return this.moves.handover(replica, to, waitMs);
  }

  /** What /api/replicas answers of this node. */
  report(): { counters: Record<string, number>; replicas: ReturnType<SessionRegistry['localReplicas']>; events: ClusterEvent[]; drain: DrainState | null; sandbox: SandboxHost['info'] } {
    return { counters: { ...this.counters }, replicas: this.localReplicas(), events: this.events, drain: this.drainState, sandbox: this.sandbox.info };
  }

  // ---- queries ----------------------------------------------------------------------

  /** Waits (briefly) for a replica here being promoted to become primary: a client may resume before it has. */
  async awaitPrimary(id: string, timeoutMs: number): Promise<Session | null> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const replica = this.replicas.get(id);
      if (!replica) return null;
      if (replica.session.role === 'primary') return replica.session;
      if (performance.now() >= deadline) return null;
      await sleep(20);
    }
  }

  /** Where each primary's standbys stand: log entries each does not hold yet (for metrics). */
  *metricsSessions(): Iterable<{ session: Session; lagByStandby: Map<string, number> | null }> {
    for (const replica of this.replicas.values()) {
      const session = replica.session;
      if (session.role !== 'primary' || !session.replicator) {
        yield { session, lagByStandby: null };
        continue;
      }
      const lag = new Map<string, number>();
      for (const member of session.replicator.members.values()) lag.set(member.name, Math.max(0, session.log.length - member.acked));
      yield { session, lagByStandby: lag };
    }
  }

  lookup(id: string): Lookup {
    const replica = this.replicas.get(id);
    return replica && replica.session.role === 'primary' ? { found: 'running', session: replica.session } : { found: 'none' };
  }

  /** The caller's running sessions, cluster-wide, from the records. */
  async summaries(owner: string): Promise<SessionSummary[]> {
    const records = await this.cluster.listSessions();
    return records
      .map((v) => v.record)
      .filter((r) => r.owner === owner && r.state === 'running')
      .map((r) => ({ sessionId: r.id, appId: r.appId, appName: r.appName, startedAt: r.startedAt, attached: r.attached, holdExpiresAt: r.holdExpiresAt }));
  }

  /** What `holdfast status` shows of this node's replicas. */
  localReplicas(): Array<{ sessionId: string; role: string; epoch: number; logIndex: number; appliedIndex: number }> {
    return [...this.replicas.values()].map((r) => ({ sessionId: r.session.id, role: r.session.role, epoch: r.session.epoch, logIndex: r.session.log.length, appliedIndex: r.session.log.appliedIndex }));
  }

  /** Drops records of sessions that ended over an hour ago. */
  async sweep(): Promise<void> {
    const now = Date.now();
    for (const { record, revision } of await this.cluster.listSessions()) {
      if (record.state === 'ended' && record.endedAt !== null && now - record.endedAt > REMEMBER_ENDED_MS) await this.cluster.deleteSession(record.id, revision);
    }
  }

  async stop(): Promise<void> {
    this.moves.stop();
    for (const replica of [...this.replicas.values()]) {
      clearInterval(replica.hashTimer);
      // A standby going away is not the session ending. Nor is a primary that has a
      // standby: it steps aside like a dead one (its standby takes over when this
      // node's lease is revoked, moments from now) and its client resumes there. Only a
      // session with no standby ends with its node.
      const handedOver = replica.session.role === 'primary' && (replica.session.replicator?.voters().length ?? 0) > 0;
      if (replica.session.role === 'primary' && !handedOver) replica.session.end({ kind: 'shutdown' });
      else this.dropLocal(replica, handedOver ? 'node shut down; a standby takes over' : 'node shut down');
    }
    await this.screens.stop();
  }
}
