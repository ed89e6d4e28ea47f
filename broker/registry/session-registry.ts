// The replicas on this node — primaries and standbys — and their lifecycle: launching
// a session with its standbys, restarting one whose host died, starting a standby for
// another node's primary, stepping down, ending. Its parts, beside it: replica-factory
// (making a replica), session-records, peer-router, moves (handover, drain, heal),
// cluster-history, -directory and replica-report; cluster/failover.ts and
// screen-checks.ts keep replica sets whole. A replica that finds its epoch superseded
// steps down.
import { randomBytes } from 'node:crypto';
import type { SessionSummary } from '../../shared/protocol/index.js';
import type { AppConfig, NodeConfig } from '../config/schema.js';
import type { SandboxHost } from '../host/sandbox-host.js';
import type { Logger } from '../log.js';
import { Screens } from '../host/screens.js';
import { Session } from '../session/session.js';
import { newSessionId } from '../session/session-id.js';
import type { EndReason } from '../session/end-reason.js';
import { limitsFor, recordingFor, type SessionLimits } from '../session/session-policy.js';
import { Recordings } from '../session/recordings.js';
import { join } from 'node:path';
import type { Catalog } from '../catalog.js';
import type { Cluster, ClusterEvents, VersionedSession } from '../cluster/cluster.js';
import type { PeerHandlers, PeerHub, PeerReply } from '../cluster/peers.js';
import { encodeAcked, entryFromJson, type PeerMessage } from '../cluster/peer-protocol.js';
import { Failover } from '../cluster/failover.js';
import { HASH_CHECK_MS, ScreenChecks } from '../cluster/screen-checks.js';
import type { ClusterEventKind, PeerRequest, Replica, ReplicaSetHost } from '../cluster/replica.js';
import { NodeFullError } from '../node-full.js';
import type { NodeMetrics } from '../metrics.js';
import { noAudit, type AuditLog } from '../audit.js';
import { sleep } from '../sleep.js';
import { ClusterHistory } from './cluster-history.js';
import { replicaStatus, standbyLag, type NodeReport, type ReplicaLag, type ReplicaStatus } from './replica-report.js';
import { Moves, type DrainState } from './moves.js';
import { PeerRouter } from './peer-router.js';
import { ReplicaFactory } from './replica-factory.js';
import { replicaOpening, standbySpec, type ReplicaOpen } from './replica-open.js';
import { SessionRecords } from './session-records.js';
import type { ShareRecord } from '../cluster/records.js';
import { ClusterDirectory } from './cluster-directory.js';
import { PrintSpool } from '../host/print-spool.js';
import { transferRulesFor } from '../config/transfer-policy.js';

export type Lookup = { found: 'running'; session: Session } | { found: 'none' };

export class SessionRegistry extends ClusterDirectory implements ReplicaSetHost {
  /** The replicas on this node, by session id (for the cluster modules; read, do not replace). */
  readonly replicas = new Map<string, Replica<Session>>();
  readonly screens = new Screens();
  readonly history: ClusterHistory;
  readonly failover: Failover;
  readonly checks: ScreenChecks;
  readonly moves: Moves;
  private readonly router: PeerRouter;
  private readonly sessionRecords: SessionRecords;
  private readonly factory: ReplicaFactory;
  /** The recordings on this node's disk (session/recordings.ts). */
  readonly recordings: Recordings;
  private readonly audit: AuditLog;
  /** What the node's peer links deliver to (node.ts hands these to its PeerHub). */
  readonly peerHandlers: PeerHandlers;
  /** What the cluster reports to (node.ts hands these to its Cluster). */
  readonly clusterEvents: ClusterEvents;

  constructor(
    readonly config: NodeConfig,
    private readonly catalog: Catalog,
    readonly log: Logger,
    cluster: Cluster,
    readonly peers: PeerHub,
    readonly metrics: NodeMetrics,
    /** The node's sandbox setup, shared by every session (limits, seccomp, hidden paths). */
    readonly sandbox: SandboxHost,
    audit: AuditLog = noAudit,
  ) {
    super(cluster);
    this.history = new ClusterHistory(cluster.name, metrics, audit);
    this.sessionRecords = new SessionRecords(cluster, log);
    this.audit = audit;
    this.recordings = new Recordings({
      dir: config.node.recordings.dir ?? join(config.node.stateDir, 'recordings'),
      node: cluster.name,
      retentionDays: config.node.recordings.retentionDays,
      warn: (message, fields) => log.warn(message, fields),
    });
    this.recordings.startSweeping();
    this.factory = new ReplicaFactory({
      recordings: this.recordings,
      config,
      sandbox,
      screens: this.screens,
      metrics,
      log,
      mayAct: cluster.clustered ? () => cluster.leaseValid() : () => true,
      replicasFor: (app) => this.replicasFor(app),
      send: (to, frame) => this.sendTo(to, frame),
      ended: (session, reason) => this.ended(session, reason),
      deadlinesChanged: (session) => void this.noteAttachment(session.id).catch(() => {}),
      // What an app prints: transferPolicies[].print, read at each job (a reload applies at once); audited.
      printing: {
        allowed: (appId, owner) => transferRulesFor(this.config.transferPolicies, appId, { name: owner, groups: this.catalog.userInfo(owner)?.groups ?? [] }).print,
        audit: (fields) => audit.record('session.print', fields),
        warn: (message, fields) => log.warn(message, fields),
      },
    });
    PrintSpool.removeStale(config.node.stateDir);
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

  get holdSeconds(): number {
    return this.config.node.sessionHoldSeconds;
  }

  /** Replicas (primary included) an app runs as. */
  replicasFor(app: Pick<AppConfig, 'failover' | 'replicas'>): number {
    if (app.failover !== 'lockstep') return 1;
    return app.replicas ?? (this.cluster.clustered ? 2 : 1);
  }

  // ---- launch -----------------------------------------------------------------------

  /**
   * The limits a session of `app` for `owner` lives under (session-policy.ts). `groups`:
   * the person's, as their sign-in gave them; absent: their groups under users:.
   */
  limitsFor(app: AppConfig, owner: string, groups?: readonly string[]): SessionLimits {
    return limitsFor(this.config, app.id, { name: owner, groups: groups ?? this.catalog.userInfo(owner)?.groups ?? [] });
  }

  /** Starts `app` for `owner` with this node as primary, and its standbys on others. */
  async launch(owner: string, app: AppConfig, cols: number, rows: number, grant: string | null = null, groups?: readonly string[], scale?: number): Promise<Session> {
    if (!this.cluster.accepting) {
      throw new Error(this.cluster.draining ? 'this node is being drained for maintenance and takes no new sessions; try again in a moment' : 'this node has lost touch with the control plane and takes no new sessions; try again in a moment');
    }
    const max = this.config.node.limits.sessionsPerNode;
    if ([...this.replicas.values()].filter((r) => r.session.role === 'primary').length >= max) {
      throw new NodeFullError(`This node runs ${max} sessions, the most it may; try again in a few minutes, or ask your administrator to add capacity.`);
    }
    const id = newSessionId();
    const person = { name: owner, groups: groups ?? this.catalog.userInfo(owner)?.groups ?? [] };
    const session = this.factory.make({ role: 'primary', epoch: 1, owner, app, cols, rows, ...(scale !== undefined ? { scale } : {}), id, limits: this.limitsFor(app, owner, groups), recorded: recordingFor(this.config, app.id, person) });
    const replica = this.track(session, this.self);
    replica.launching = true;
    const standbys = this.cluster.place(this.replicasFor(app) - 1, new Set([this.self]));
    try {
      if (!(await this.sessionRecords.create(session, app, standbys, grant))) throw new Error('session id collision');
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
    if (session.recorded) this.audit.record('recording.start', { user: owner, session: session.id, app: app.id });
    this.log.info('session started', { session: session.id, user: owner, app: app.id, pid: session.pid, standbys });
    this.metrics.launches.inc({ result: 'ok' });
    return session;
  }

  /**
   * The primary of a failover: restart session died with no standby: start a fresh
   * instance here, in epoch+1 (by CAS, so only one gateway does), with the same home
   * when there is shared storage. Input numbering continues after the client's.
   */
  async restartHere(found: VersionedSession, token: string | null, inputSeq: number, cols: number, rows: number, scale?: number): Promise<Session | null> {
    const record = found.record;
    const app = this.catalog.app(record.appId);
    if (!app || !this.cluster.accepting) return null;
    const resumeToken = token ?? randomBytes(24).toString('base64url');
    // The limits it was launched with; a record of the previous version has none: as if launched here.
    const limits = record.limits ?? this.limitsFor(app, record.owner);
    const next = await this.sessionRecords.restart(found, resumeToken, Date.now() + limits.holdSeconds * 1000);
    if (next === null) return null;
    const session = this.factory.make({
      role: 'primary',
      epoch: next.epoch,
      owner: record.owner,
      app,
      cols,
      rows,
      ...(scale !== undefined ? { scale } : {}),
      id: record.id,
      resumeToken,
      startedAt: record.startedAt,
      inputBase: inputSeq,
      limits,
      recorded: record.recorded ?? false,
    });
    this.track(session, this.self);
    session.startHold();
    this.note('restart', record.id, app.id, `restarted here after ${record.primary} stopped (epoch ${next.epoch})`);
    this.log.warn('app restarted after its host died', { session: record.id, user: record.owner, app: app.id, from: record.primary, epoch: next.epoch });
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
    const { open, frames } = replicaOpening(session, session.replicator?.members.get(name)?.clocksSent != null);
    this.sendTo(name, open);
    for (const frame of frames) this.sendTo(name, frame);
  }

  /** A primary asked this node to run a standby: start the app and replay the log. */
  startStandby(from: string, message: ReplicaOpen, reply: PeerReply): void {
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
      session = this.factory.make({ ...standbySpec(message, app), limits: this.limitsFor(app, message.owner), recorded: message.recorded ?? false });
    } catch (error) {
      return fail(String(error));
    }
    this.track(session, from);
    // The limits the session was launched with are in its record (its owner's groups may have come from their sign-in).
    void this.cluster
      .getSession(session.id)
      .then((found) => found?.record.limits && session.setLimits(found.record.limits))
      .catch(() => {});
    const entries = message.entries.map(entryFromJson);
    // A replay: the entries carry the output each followed, so they are applied as they come.
    session.log.appendFromPrimary(entries, true);
    // A long log's tail follows in frames: replica.opened waits for all of it.
    void session.replayed(message.replay ?? entries.length).then(() => {
      session.replayDone();
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
    if (session.recorded) this.audit.record('recording.end', { user: session.owner, session: session.id, app: session.app.id, detail: message });
    void this.sessionRecords.markEnded(session, message);
    this.factory.removeHome(session);
  }

  /**
   * The session's primary node is gone and no standby is left to take over: the app's
   * state is lost. Marks the record ended (once, by CAS) and returns why, for people.
   */
  lostWithHost(found: VersionedSession): Promise<string | null> {
    return this.sessionRecords.lostWithHost(found);
  }

  /** Is `name`'s process alive? ('dead': its port refuses connections.) */
  async probe(name: string): Promise<'dead' | 'listening' | 'unknown'> {
    const node = this.cluster.node(name);
    if (!node) return 'dead';
    const state = await this.failover.probeUntilDead(node.url);
    if (state === 'dead') this.cluster.markDead(name, node.leaseId);
    return state;
  }

  /** Keeps the record's attached / hold / use fields in step with the replica here (for sessions.list on any node); `address`: a client attached from it. */
  async noteAttachment(id: string, address?: string): Promise<void> {
    const session = this.replicas.get(id)?.session;
    if (session) await this.sessionRecords.noteAttachment(session, address);
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

  // ---- operators' actions (the gateway's SessionService, gateway/context.ts) ---------

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
  report(): NodeReport {
    return { counters: { ...this.history.counters }, replicas: this.localReplicas(), events: this.history.events, apps: this.history.appDivergences(), drain: this.drainState, sandbox: this.sandbox.info };
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
  metricsSessions(): Iterable<ReplicaLag> {
    return standbyLag(this.replicas.values());
  }

  lookup(id: string): Lookup {
    const replica = this.replicas.get(id);
    return replica && replica.session.role === 'primary' ? { found: 'running', session: replica.session } : { found: 'none' };
  }

  // ---- resume tokens (auth/resume-token.ts) ---------------------------------------------

  issueResumeToken(found: VersionedSession, presented: 'current' | 'pending' | null, next: string, grant: string | null): Promise<boolean> {
    return this.sessionRecords.issueToken(found, presented, next, grant);
  }

  confirmResumeToken(id: string, token: string): Promise<void> {
    return this.sessionRecords.confirmToken(id, token);
  }

  retireResumeTokens(owner: string, grants: string[]): Promise<number> {
    return this.sessionRecords.retireTokens(owner, grants);
  }

  changeShares(id: string, change: (shares: ShareRecord[]) => ShareRecord[]): Promise<ShareRecord[] | null> {
    return this.sessionRecords.changeShares(id, change);
  }

  /** The caller's running sessions, cluster-wide, from the records. */
  summaries(owner: string): Promise<SessionSummary[]> {
    return this.sessionRecords.summaries(owner);
  }

  /** What `holdfast status` shows of this node's replicas. */
  localReplicas(): ReplicaStatus[] {
    return replicaStatus(this.replicas.values());
  }

  /** Drops records of sessions that ended over an hour ago; writes the primaries' last input times (once a minute). */
  async sweep(): Promise<void> {
    const primaries = [...this.replicas.values()].filter((r) => r.session.role === 'primary').map((r) => r.session);
    await this.sessionRecords.noteInput(primaries);
    await this.sessionRecords.sweep();
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
    await this.recordings.stop();
  }
}
