// The replicas on this node — primaries and standbys: launching a session with its
// standbys, starting a standby for another node's primary, the messages between them,
// and ending. What keeps a replica set whole through failures is in
// cluster/failover.ts; screen comparisons (joining, divergence) in
// cluster/screen-checks.ts. Every change to a session's record goes through
// compare-and-swap; a replica that finds its epoch superseded steps down.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { SessionSummary } from '../shared/protocol/index.js';
import { SandboxProfile, type AppConfig, type NodeConfig } from './config/schema.js';
import type { SandboxHost } from './host/sandbox-host.js';
import type { Logger } from './log.js';
import { Screens } from './host/screens.js';
import { Session } from './session.js';
import type { Catalog } from './catalog.js';
import type { Cluster, VersionedSession } from './cluster/cluster.js';
import type { Incoming, PeerHub, PeerReply } from './cluster/peers.js';
import { encodeAcked, entryFromJson, entryToJson, type PeerMessage } from './cluster/peer-protocol.js';
import { Replicator } from './cluster/replicator.js';
import { Failover } from './cluster/failover.js';
import { HASH_CHECK_MS, ScreenChecks } from './cluster/screen-checks.js';
import type { SessionRecord } from './cluster/records.js';
import { hashToken } from './auth/resume-token.js';
import { NodeFullError } from './node-full.js';
import type { NodeMetrics } from './metrics.js';
import { noAudit, type AuditLog } from './audit.js';
import { sleep } from './sleep.js';

export const DEFAULT_PROFILE: SandboxProfile = SandboxProfile.parse({});

const REMEMBER_ENDED_MS = 60 * 60_000;

export interface NodeCounters {
  failovers: number;
  divergences: number;
  replenished: number;
}

/** What the admin view lists as recent: failovers, divergences, moves and drains. */
export interface ClusterEvent {
  at: number;
  kind: 'failover' | 'restart' | 'divergence' | 'handover' | 'standby-joined' | 'standby-dropped' | 'drain' | 'undrain';
  node: string;
  session: string | null;
  app: string | null;
  detail: string;
}
const MAX_EVENTS = 100;

/** Where a drain of this node stands (GET /api/replicas, and so holdfast status and the admin view). */
export interface DrainState {
  startedAt: number;
  finishedAt: number | null;
  moved: number;
  /** Primaries that stay: not replicated (failover restart or none, or one replica), or every move failed. */
  staying: Array<{ session: string; app: string; reason: string }>;
}

/** How often primaries check that their replica set is whole (a node came back, a drain ended). */
const HEAL_MS = 2000;
/** How long a drain waits for a session's standby to catch up before saying it cannot move it. */
const DRAIN_STANDBY_WAIT_MS = 30_000;

export type Lookup = { found: 'running'; session: Session } | { found: 'none' };

export interface Replica {
  session: Session;
  /** For a standby: the node its primary runs on. */
  primary: string;
  replicator: Replicator | null;
  divergences: number;
  lastEntryAt: number;
  checkedAt: string;
  hashTimer?: NodeJS.Timeout;
  /** A primary still being launched (its record and first standbys not written yet): not for the periodic healing. */
  launching?: boolean;
  /** Nodes whose standby of this session failed, and when: placement avoids them for a while. */
  failedOn?: Map<string, number>;
}

export class SessionRegistry {
  /** The replicas on this node, by session id (for the cluster modules; read, do not replace). */
  readonly replicas = new Map<string, Replica>();
  private readonly pending = new Map<number, (message: PeerMessage | null) => void>();
  private nextRequest = 1;
  readonly screens = new Screens();
  readonly counters: NodeCounters = { failovers: 0, divergences: 0, replenished: 0 };
  readonly failover = new Failover(this);
  readonly checks = new ScreenChecks(this);
  /** Recent failovers, divergences, moves and drains here, newest last. */
  readonly events: ClusterEvent[] = [];
  drainState: DrainState | null = null;
  private readonly healTimer: NodeJS.Timeout;

  constructor(
    readonly config: NodeConfig,
    private readonly catalog: Catalog,
    readonly log: Logger,
    readonly cluster: Cluster,
    readonly peers: PeerHub,
    readonly metrics: NodeMetrics,
    /** The node's sandbox setup, shared by every session (limits, seccomp, hidden paths). */
    readonly sandbox: SandboxHost,
    private readonly audit: AuditLog = noAudit,
  ) {
    this.healTimer = setInterval(() => this.heal(), HEAL_MS);
    this.healTimer.unref();
    peers.handlers = {
      inbound: (from, message, reply) => this.inbound(from, message, reply),
      outbound: (to, message) => this.outbound(to, message),
      inboundClosed: (from) => this.failover.inboundClosed(from),
      outboundClosed: (to) => this.failover.outboundClosed(to),
    };
    cluster.events = {
      nodeGone: (name) => this.failover.nodeGone(name),
      leaseLost: () => {},
      leaseRegained: () => void this.reconcile(),
    };
  }

  get self(): string {
    return this.cluster.name;
  }

  /** Replicas (primary included) an app runs as. */
  replicasFor(app: AppConfig): number {
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
      session.end('The session could not be recorded in the control plane.');
      throw error;
    }
    if (standbys.length > 0 || this.replicasFor(app) > 1) {
      const replicator = this.replicatorFor(replica);
      for (const name of standbys) {
        replicator.add(name, true);
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
    id?: string;
    resumeToken?: string;
    startedAt?: number;
    homeDir?: string;
    inputBase?: number;
  }): Session {
    const profile = this.config.sandboxProfiles[o.app.sandbox] ?? DEFAULT_PROFILE;
    const session = new Session({
      ...o,
      profile,
      stateDir: this.config.node.stateDir,
      sandbox: this.sandbox,
      window: this.config.node.outputWindowBytes,
      holdSeconds: this.config.node.sessionHoldSeconds,
      screens: this.screens,
      mayAct: this.cluster.clustered ? () => this.cluster.leaseValid() : () => true,
      keepLog: this.replicasFor(o.app) > 1,
      onEnd: (done, message) => this.ended(done, message),
      warn: (message, fields) => this.log.warn(message, fields),
    });
    this.timeLaunch(session);
    return session;
  }

  private track(session: Session, primary: string): Replica {
    const replica: Replica = { session, primary, replicator: null, divergences: 0, lastEntryAt: 0, checkedAt: '' };
    this.replicas.set(session.id, replica);
    this.cluster.setLoad(this.replicas.size);
    return replica;
  }

  replicatorFor(replica: Replica): Replicator {
    if (!replica.replicator) {
      const session = replica.session;
      replica.replicator = new Replicator(session, (to, frame) => {
        replica.lastEntryAt = performance.now();
        this.sendTo(to, frame);
      });
      session.replication = replica.replicator;
      replica.hashTimer = setInterval(() => void this.checks.checkHashes(replica), HASH_CHECK_MS);
      replica.hashTimer.unref();
    }
    return replica.replicator;
  }

  sendTo(name: string, data: PeerMessage | Uint8Array): void {
    const node = this.cluster.node(name);
    if (node) this.peers.send(name, node.url, data);
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
      entries: session.log.map(entryToJson),
    });
  }

  // ---- what other nodes send --------------------------------------------------------

  private inbound(from: string, message: Incoming, reply: PeerReply): void {
    if (message.type === 'replica.open') return this.startStandby(from, message, reply);
    const replica = this.replicas.get(message.sessionId);
    if (!replica) {
      if (message.type === 'append' || message.type === 'hash.request') reply.json({ type: 'replica.failed', sessionId: message.sessionId, epoch: message.epoch, message: 'no such replica here' });
      return;
    }
    const session = replica.session;
    if (message.epoch < session.epoch) {
      reply.json({ type: 'replica.stale', sessionId: session.id, epoch: session.epoch });
      return;
    }
    if (message.epoch > session.epoch) {
      // A newer primary (after a promotion elsewhere): follow it.
      if (session.role === 'primary') return this.stepDown(replica, 'a newer primary took over');
      session.epoch = message.epoch;
      replica.primary = from;
    }
    switch (message.type) {
      case 'append': {
        // Acknowledged as held, before it is applied: applying waits for the primary's COMMIT.
        const held = session.appendFromPrimary(message.entries);
        reply.binary(encodeAcked(session.id, session.epoch, held));
        return;
      }
      case 'commit':
        session.primaryApplied(message.first, message.after);
        return;
      case 'replica.end':
        this.dropLocal(replica, message.message);
        return;
      case 'hash.request':
        void this.checks.quietHash(session, message.index).then((hash) => reply.json({ type: 'hash.reply', sessionId: session.id, epoch: session.epoch, index: message.index, request: message.request, hash }));
        return;
      case 'log.request':
        reply.json({ type: 'log.reply', sessionId: session.id, epoch: session.epoch, request: message.request, entries: session.entriesAfter(message.from - 1).map(entryToJson) });
        return;
      case 'handover':
        void this.failover.takeOver(replica, from, message.index).then((problem) =>
          reply.json({ type: 'handover.reply', sessionId: session.id, epoch: session.epoch, request: message.request, ok: problem === null, message: problem ?? 'taken over' }),
        );
        return;
    }
  }

  private outbound(to: string, message: Incoming): void {
    if (message.type === 'hash.reply' || message.type === 'log.reply' || message.type === 'handover.reply') {
      const resolve = this.pending.get(message.request);
      this.pending.delete(message.request);
      resolve?.(message);
      return;
    }
    const replica = this.replicas.get(message.sessionId);
    if (!replica || replica.session.role !== 'primary') return;
    switch (message.type) {
      case 'acked':
        if (message.epoch === replica.session.epoch) replica.replicator?.acked(to, message.index);
        return;
      case 'replica.opened':
        if (replica.replicator?.members.get(to)?.voting === false) void this.checks.join(replica, to);
        return;
      case 'replica.stale':
        return this.stepDown(replica, `${to} holds a newer epoch`);
      case 'replica.failed':
        this.log.warn('standby failed', { session: message.sessionId, user: replica.session.owner, peer: to, reason: message.message });
        void this.failover.dropStandby(replica, to, 'its replica failed');
        return;
    }
  }

  /** A primary asked this node to run a standby: start the app and replay the log. */
  private startStandby(from: string, message: Extract<PeerMessage, { type: 'replica.open' }>, reply: PeerReply): void {
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
    session.appendFromPrimary(entries, true);
    void session.replayed().then(() => {
      reply.json({ type: 'replica.opened', sessionId: session.id, epoch: session.epoch, index: session.appliedIndex });
      reply.binary(encodeAcked(session.id, session.epoch, session.log.length));
    });
    this.log.info('standby started', { session: session.id, user: session.owner, primary: from, replay: entries.length });
  }

  request(name: string, message: Extract<PeerMessage, { type: 'hash.request' | 'log.request' | 'handover' }>, timeoutMs: number): Promise<PeerMessage | null> {
    const request = this.nextRequest++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(request);
        resolve(null);
      }, timeoutMs);
      this.pending.set(request, (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      this.sendTo(name, { ...message, request } as PeerMessage);
    });
  }

  /** A newer primary exists: this replica shows nobody anything more and goes away. */
  stepDown(replica: Replica, why: string, planned = false): void {
    const session = replica.session;
    if (!this.replicas.has(session.id)) return;
    if (planned) this.log.info('stepping down: moved', { session: session.id, user: session.owner, epoch: session.epoch, reason: why });
    else this.log.warn('stepping down: superseded', { session: session.id, user: session.owner, epoch: session.epoch, reason: why });
    session.dropClient(planned);
    this.dropLocal(replica, why);
  }

  dropLocal(replica: Replica, why: string): void {
    this.replicas.delete(replica.session.id);
    this.cluster.setLoad(this.replicas.size);
    clearInterval(replica.hashTimer);
    replica.session.dropClient();
    replica.session.end(`replica removed: ${why}`);
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
  private ended(session: Session, message: string): void {
    const replica = this.replicas.get(session.id);
    if (replica?.session !== session && replica !== undefined) return;
    this.replicas.delete(session.id);
    this.cluster.setLoad(this.replicas.size);
    if (replica) clearInterval(replica.hashTimer);
    if (session.role !== 'primary') {
      if (replica) this.sendTo(replica.primary, { type: 'replica.failed', sessionId: session.id, epoch: session.epoch, message: `its app ended on the standby: ${message}` });
      return;
    }
    if (message.startsWith('replica removed:')) return;
    for (const name of replica?.replicator?.members.keys() ?? []) this.sendTo(name, { type: 'replica.end', sessionId: session.id, epoch: session.epoch, message });
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

  /** Keeps the record's attached / hold fields in step (for sessions.list on any node). */
  async noteAttachment(session: Session): Promise<void> {
    const current = await this.cluster.getSession(session.id).catch(() => null);
    if (!current || current.record.epoch !== session.epoch || current.record.state !== 'running') return;
    const next = { ...current.record, attached: session.attached, holdExpiresAt: session.holdExpiresAt };
    await this.cluster.swapSession(next, current.revision).catch(() => null);
  }

  // ---- events, healing, moves and drains ---------------------------------------------

  /** Counts and remembers something an operator should see (metrics, the admin view, holdfast status). */
  note(kind: ClusterEvent['kind'], session: string | null, app: string | null, detail: string): void {
    switch (kind) {
      case 'failover':
      case 'restart':
        this.counters.failovers += 1;
        this.metrics.failovers.inc();
        break;
      case 'divergence':
        this.counters.divergences += 1;
        this.metrics.divergences.inc();
        break;
      case 'standby-joined':
        this.counters.replenished += 1;
        this.metrics.replenished.inc();
        break;
    }
    this.events.push({ at: Date.now(), kind, node: this.self, session, app, detail });
    const audited = { failover: 'session.failover', restart: 'session.restart', handover: 'session.move' } as const;
    if (kind in audited) this.audit.record(audited[kind as keyof typeof audited], { session: session ?? undefined, app: app ?? undefined, detail });
    if (this.events.length > MAX_EVENTS) this.events.splice(0, this.events.length - MAX_EVENTS);
  }

  /** Every primary here whose replica set is short (a node came back, a drain placed none) gets standbys. */
  private heal(): void {
    if (!this.cluster.clustered || !this.cluster.leaseValid()) return;
    for (const replica of this.replicas.values()) {
      if (replica.session.role === 'primary' && replica.session.endMessage === null && !replica.launching) this.failover.replenishIfShort(replica);
    }
  }

  /**
   * Moves a primary here to one of its standbys (`to`, or the most caught-up): the
   * standby promotes itself to epoch+1, this replica steps down and its client
   * reconnects to the new primary. Waits up to `waitMs` for a standby to be in step
   * (a new one joining). Resolves null when moved, else why not.
   */
  async handover(replica: Replica, to: string | null, waitMs = DRAIN_STANDBY_WAIT_MS): Promise<string | null> {
    const session = replica.session;
    if (this.replicasFor(session.app) < 2) return `${session.app.name} is not replicated (failover: ${session.app.failover}${session.app.failover === 'lockstep' ? ', replicas: 1' : ''}), so it cannot move without losing its state`;
    const deadline = Date.now() + waitMs;
    for (;;) {
      if (!this.replicas.has(session.id) || session.role !== 'primary') return 'the session is no longer primary here';
      if (session.endMessage !== null) return 'the session ended';
      const voters = replica.replicator?.voters().filter((n) => this.cluster.isLive(n)) ?? [];
      const target = to === null ? voters.sort((a, b) => (replica.replicator!.members.get(b)!.acked - replica.replicator!.members.get(a)!.acked))[0] : voters.find((n) => n === to);
      if (target) {
        const reply = await this.request(target, { type: 'handover', sessionId: session.id, epoch: session.epoch, index: session.log.length, request: 0 }, 5000);
        if (reply?.type === 'handover.reply' && reply.ok) {
          this.metrics.handovers.inc({ role: 'from' });
          this.note('handover', session.id, session.app.id, `moved from ${this.self} to ${target} (epoch ${session.epoch + 1})`);
          this.log.info('session moved', { session: session.id, user: session.owner, app: session.app.id, to: target, logIndex: session.log.length });
          this.stepDown(replica, `moved to ${target}`, true);
          return null;
        }
        if (Date.now() >= deadline) return reply?.type === 'handover.reply' ? `${target} refused: ${reply.message}` : `${target} did not answer`;
      } else {
        if (to !== null && !replica.replicator?.members.has(to)) {
          const node = this.cluster.node(to);
          if (!node || !this.cluster.isLive(to) || !node.accepting) return `${to} is not a live node that takes sessions`;
          this.failover.addStandby(replica, to);
        }
        if (Date.now() >= deadline) return to === null ? 'no standby caught up in time' : `${to} did not catch up in time`;
      }
      await sleep(200);
    }
  }

  /**
   * Drains this node: no new sessions or standbys here; each primary moves to a
   * standby; standbys here are handed back to their primaries to be placed elsewhere.
   * Resolves when every primary that can move has moved.
   */
  async drain(): Promise<DrainState> {
    if (this.drainState && this.cluster.draining) return this.drainState;
    const state: DrainState = { startedAt: Date.now(), finishedAt: null, moved: 0, staying: [] };
    this.drainState = state;
    await this.cluster.setDraining(true);
    const count = [...this.replicas.values()].filter((r) => r.session.role === 'primary').length;
    this.note('drain', null, null, `draining ${this.self}: ${count} ${count === 1 ? 'primary' : 'primaries'} to move`);
    this.log.warn('draining: no new sessions here; moving primaries to their standbys');
    const primaries = [...this.replicas.values()].filter((r) => r.session.role === 'primary');
    // A few at a time: each client reconnects once, and a burst of promotions stays small.
    const queue = [...primaries];
    const worker = async () => {
      for (let replica = queue.shift(); replica; replica = queue.shift()) {
        if (!this.cluster.draining) return;
        const problem = await this.handover(replica, null);
        if (problem === null) state.moved += 1;
        else if (this.replicas.get(replica.session.id) === replica) state.staying.push({ session: replica.session.id, app: replica.session.app.name, reason: problem });
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    for (const replica of [...this.replicas.values()]) {
      if (replica.session.role !== 'standby') continue;
      const session = replica.session;
      this.sendTo(replica.primary, { type: 'replica.failed', sessionId: session.id, epoch: session.epoch, message: 'its node is being drained' });
      this.dropLocal(replica, 'node drained');
    }
    state.finishedAt = Date.now();
    this.log.warn('drained', { moved: state.moved, staying: state.staying.length });
    return state;
  }

  async undrain(): Promise<void> {
    this.drainState = null;
    await this.cluster.setDraining(false);
    this.note('undrain', null, null, `${this.self} takes sessions again`);
    this.log.info('undrained: taking new sessions again');
  }

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
      if (session.role !== 'primary' || !replica.replicator) {
        yield { session, lagByStandby: null };
        continue;
      }
      const lag = new Map<string, number>();
      for (const member of replica.replicator.members.values()) lag.set(member.name, Math.max(0, session.log.length - member.acked));
      yield { session, lagByStandby: lag };
    }
  }

  // ---- queries ----------------------------------------------------------------------

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
    return [...this.replicas.values()].map((r) => ({ sessionId: r.session.id, role: r.session.role, epoch: r.session.epoch, logIndex: r.session.log.length, appliedIndex: r.session.appliedIndex }));
  }

  /** Drops records of sessions that ended over an hour ago. */
  async sweep(): Promise<void> {
    const now = Date.now();
    for (const { record, revision } of await this.cluster.listSessions()) {
      if (record.state === 'ended' && record.endedAt !== null && now - record.endedAt > REMEMBER_ENDED_MS) await this.cluster.deleteSession(record.id, revision);
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.healTimer);
    for (const replica of [...this.replicas.values()]) {
      clearInterval(replica.hashTimer);
      // A standby going away is not the session ending. Nor is a primary that has a
      // standby: it steps aside like a dead one (its standby takes over when this
      // node's lease is revoked, moments from now) and its client resumes there. Only a
      // session with no standby ends with its node.
      const handedOver = replica.session.role === 'primary' && (replica.replicator?.voters().length ?? 0) > 0;
      if (replica.session.role === 'primary' && !handedOver) replica.session.end('The broker node was shut down.');
      else this.dropLocal(replica, handedOver ? 'node shut down; a standby takes over' : 'node shut down');
    }
    await this.screens.stop();
  }

  // ---- gateway surface (split-gateway) ----
  // TEMPORARY thin delegations making up the gateway's SessionService
  // (gateway/context.ts), until the registry split implements it properly.

  get clustered(): boolean {
    return this.cluster.clustered;
  }

  brokerUrls(): string[] {
    return this.cluster.brokerUrls();
  }

  placePrimary(): string | null {
    return this.cluster.place(1, new Set())[0] ?? null;
  }

  isLive(name: string): boolean {
    return this.cluster.isLive(name);
  }

  member(name: string) {
    return this.cluster.node(name);
  }

  /** This node's record first, then the others it sees. */
  members() {
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
  endSession(id: string, message: string): boolean {
    const replica = this.replicas.get(id);
    if (!replica || replica.session.role !== 'primary') return false;
    replica.session.end(message);
    return true;
  }

  /** handover() of a primary here: null when moved, else why not. */
  async move(id: string, to: string | null, waitMs: number): Promise<string | null> {
    const replica = this.replicas.get(id);
    if (!replica || replica.session.role !== 'primary') return 'the session is no longer primary here';
    return this.handover(replica, to, waitMs);
  }

  /** What /api/replicas answers of this node. */
  report() {
    return { counters: { ...this.counters }, replicas: this.localReplicas(), events: this.events, drain: this.drainState, sandbox: this.sandbox.info };
  }
}
