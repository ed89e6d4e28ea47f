// The replicas on this node — primaries and standbys — and what keeps each session's
// replica set whole: placement of standbys at launch, promotion when a primary dies,
// replenishing after a failover, and screen-hash checks for divergence. Every change
// to a session's record goes through compare-and-swap; a replica that finds its epoch
// superseded steps down and shows nobody anything.
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { SessionSummary } from '../shared/protocol/index.js';
import type { AppConfig, NodeConfig, SandboxProfile } from './config/schema.js';
import type { Logger } from './log.js';
import { Screens } from './host/screens.js';
import { Session } from './session.js';
import type { Catalog } from './catalog.js';
import type { Cluster, VersionedSession } from './cluster/cluster.js';
import type { Incoming, PeerHub, PeerReply } from './cluster/peers.js';
import { encodeAcked, entryFromJson, entryToJson, type PeerMessage } from './cluster/peer-protocol.js';
import { Replicator } from './cluster/replicator.js';
import { hashToken, type SessionRecord } from './cluster/records.js';

export const DEFAULT_PROFILE: SandboxProfile = { network: false, readOnlyPaths: [], maxMemoryMiB: 2048 };

const REMEMBER_ENDED_MS = 60 * 60_000;
/** Standbys other than the first live one wait this long before trying to promote. */
const SECOND_STANDBY_DELAY_MS = 400;
/** How often a primary compares screens with its standbys (when the session is quiet). */
const HASH_CHECK_MS = 1000;
/** Quiet means no input for this long… */
const QUIET_INPUT_MS = 700;
/** …and no output for this long. */
const QUIET_OUTPUT_MS = 300;
/** A session whose standbys diverge this often runs on without standbys. */
const MAX_DIVERGENCES = 3;

export interface NodeCounters {
  failovers: number;
  divergences: number;
  replenished: number;
}

export type Lookup = { found: 'running'; session: Session } | { found: 'none' };

interface Replica {
  session: Session;
  /** For a standby: the node its primary runs on. */
  primary: string;
  replicator: Replicator | null;
  divergences: number;
  lastEntryAt: number;
  checkedAt: string;
  hashTimer?: NodeJS.Timeout;
}

export class SessionRegistry {
  private readonly replicas = new Map<string, Replica>();
  private readonly promoting = new Set<string>();
  private readonly pending = new Map<number, (message: PeerMessage | null) => void>();
  private nextRequest = 1;
  readonly screens = new Screens();
  readonly counters: NodeCounters = { failovers: 0, divergences: 0, replenished: 0 };

  constructor(
    private readonly config: NodeConfig,
    private readonly catalog: Catalog,
    private readonly log: Logger,
    readonly cluster: Cluster,
    private readonly peers: PeerHub,
  ) {
    peers.handlers = {
      inbound: (from, message, reply) => this.inbound(from, message, reply),
      outbound: (to, message) => this.outbound(to, message),
      inboundClosed: (from) => this.inboundClosed(from),
      outboundClosed: (to) => this.outboundClosed(to),
    };
    cluster.events = {
      nodeGone: (name) => this.nodeGone(name),
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
    if (!this.cluster.accepting) throw new Error('this node has lost touch with the control plane and takes no new sessions; try again in a moment');
    const id = randomBytes(16).toString('base64url');
    const session = this.createReplica({ role: 'primary', epoch: 1, owner, app, cols, rows, id, homeDir: this.homeFor(app, id) });
    const replica = this.track(session, this.self);
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
      if (standbys.length < this.replicasFor(app) - 1) this.log.warn('not enough nodes for every standby', { session: session.id, wanted: this.replicasFor(app) - 1, placed: standbys.length });
    }
    this.log.info('session started', { session: session.id, user: owner, app: app.id, pid: session.pid, standbys });
    return session;
  }

  /** Where a failover: restart app keeps its files: on shared storage, so a restart elsewhere finds them. */
  private homeFor(app: AppConfig, id: string): string | undefined {
    const shared = this.config.cluster.sharedDir;
    if (app.failover !== 'restart' || !shared) return undefined;
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
    this.counters.failovers += 1;
    this.log.warn('app restarted after its host died', { session: record.id, app: app.id, from: record.primary, epoch: next.epoch });
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
    return new Session({
      ...o,
      profile,
      stateDir: this.config.node.stateDir,
      window: this.config.node.outputWindowBytes,
      holdSeconds: this.config.node.sessionHoldSeconds,
      screens: this.screens,
      mayAct: this.cluster.clustered ? () => this.cluster.leaseValid() : () => true,
      keepLog: this.replicasFor(o.app) > 1,
      onEnd: (done, message) => this.ended(done, message),
    });
  }

  private track(session: Session, primary: string): Replica {
    const replica: Replica = { session, primary, replicator: null, divergences: 0, lastEntryAt: 0, checkedAt: '' };
    this.replicas.set(session.id, replica);
    this.cluster.setLoad(this.replicas.size);
    return replica;
  }

  private replicatorFor(replica: Replica): Replicator {
    if (!replica.replicator) {
      const session = replica.session;
      replica.replicator = new Replicator(session, (to, frame) => {
        replica.lastEntryAt = performance.now();
        this.sendTo(to, frame);
      });
      session.replication = replica.replicator;
      replica.hashTimer = setInterval(() => void this.checkHashes(replica), HASH_CHECK_MS);
      replica.hashTimer.unref();
    }
    return replica.replicator;
  }

  private sendTo(name: string, data: PeerMessage | Uint8Array): void {
    const node = this.cluster.node(name);
    if (node) this.peers.send(name, node.url, data);
  }

  private openStandby(session: Session, name: string): void {
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
        this.replicas.delete(session.id);
        session.end(message.message);
        return;
      case 'hash.request':
        void this.quietHash(session, message.index).then((hash) => reply.json({ type: 'hash.reply', sessionId: session.id, epoch: session.epoch, index: message.index, request: message.request, hash }));
        return;
      case 'log.request':
        reply.json({ type: 'log.reply', sessionId: session.id, epoch: session.epoch, request: message.request, entries: session.entriesAfter(message.from - 1).map(entryToJson) });
        return;
    }
  }

  private outbound(to: string, message: Incoming): void {
    if (message.type === 'hash.reply' || message.type === 'log.reply') {
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
        if (replica.replicator?.members.get(to)?.voting === false) void this.join(replica, to);
        return;
      case 'replica.stale':
        return this.stepDown(replica, `${to} holds a newer epoch`);
      case 'replica.failed':
        this.log.warn('standby failed', { session: message.sessionId, peer: to, reason: message.message });
        void this.dropStandby(replica, to, 'its replica failed');
        return;
    }
  }

  /** A primary asked this node to run a standby: start the app and replay the log. */
  private startStandby(from: string, message: Extract<PeerMessage, { type: 'replica.open' }>, reply: PeerReply): void {
    const fail = (why: string) => reply.json({ type: 'replica.failed', sessionId: message.sessionId, epoch: message.epoch, message: why });
    if (this.replicas.has(message.sessionId)) return fail('a replica of this session already runs here');
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
    this.log.info('standby started', { session: session.id, primary: from, replay: entries.length });
  }

  // ---- failure handling -------------------------------------------------------------

  /** A primary's link to us closed: if its process is gone, take over now. */
  private inboundClosed(from: string): void {
    const mine = [...this.replicas.values()].filter((r) => r.session.role === 'standby' && r.primary === from);
    if (mine.length === 0) return;
    const node = this.cluster.node(from);
    if (!node) return void Promise.all(mine.map((r) => this.promote(r, from)));
    void this.probeUntilDead(node.url).then((state) => {
      this.log.info('link from primary closed', { peer: from, state, sessions: mine.length });
      if (state === 'dead') {
        this.cluster.markDead(from, node.leaseId);
        for (const replica of mine) void this.promote(replica, from);
      }
    });
  }

  /**
   * Probes a node whose link just closed, a few times over a second: a killed process
   * closes its connections a moment before its listening socket, so one early probe
   * can still find the port open. A node still listening after that is left to its
   * lease (it may be alive, or stopped).
   */
  private async probeUntilDead(url: string): Promise<'dead' | 'listening' | 'unknown'> {
    let state: 'dead' | 'listening' | 'unknown' = 'unknown';
    for (const wait of [0, 30, 100, 250, 500]) {
      if (wait > 0) await sleep(wait);
      state = await this.peers.probe(url);
      if (state === 'dead') return state;
    }
    return state;
  }

  /** Our link to a standby closed: a dead standby is dropped; a live one gets what it missed. */
  private outboundClosed(to: string): void {
    const mine = [...this.replicas.values()].filter((r) => r.session.role === 'primary' && r.replicator?.members.has(to));
    if (mine.length === 0) return;
    const node = this.cluster.node(to);
    const check = (attempt: number) => {
      if (!node) return void mine.forEach((r) => this.dropStandby(r, to, 'its node left the cluster'));
      void this.probeUntilDead(node.url).then((state) => {
        if (state === 'dead') {
          this.cluster.markDead(to, node.leaseId);
          for (const replica of mine) void this.dropStandby(replica, to, 'its node stopped');
        }
        else if (state === 'listening') {
          for (const replica of mine) {
            const member = replica.replicator?.members.get(to);
            if (member && ++member.failures > 3) void this.dropStandby(replica, to, 'its link keeps failing');
            else setTimeout(() => replica.replicator?.resend(to), 100 * (member?.failures ?? 1));
          }
        }
        else if (attempt < 5) setTimeout(() => check(attempt + 1), 200);
      });
    };
    check(1);
  }

  /** A member's lease expired (a silent failure): promote or drop as its role says. */
  private nodeGone(name: string): void {
    for (const replica of this.replicas.values()) {
      if (replica.session.role === 'standby' && replica.primary === name) void this.promote(replica, name);
      else if (replica.session.role === 'primary' && replica.replicator?.members.has(name)) void this.dropStandby(replica, name, 'its node left the cluster');
    }
  }

  /**
   * The primary on `dead` is gone: the first live standby becomes primary in epoch+1
   * by compare-and-swap (the others wait a moment, then try if it did not). The new
   * primary takes any entries another standby holds beyond its own, then waits for the
   * client's resume and places a new standby.
   */
  private async promote(replica: Replica, dead: string): Promise<void> {
    const session = replica.session;
    if (this.promoting.has(session.id)) return;
    this.promoting.add(session.id);
    const startedAt = performance.now();
    try {
      for (let attempt = 0; attempt < 3; attempt++) {
        if (!this.cluster.leaseValid()) {
          await sleep(100);
          continue;
        }
        const current = await this.cluster.getSession(session.id);
        if (!current || current.record.state !== 'running') return this.dropLocal(replica, 'the session ended');
        const record = current.record;
        if (record.epoch > session.epoch || record.primary !== dead) {
          if (record.primary === this.self) return;
          if (!record.standbys.includes(this.self)) return this.dropLocal(replica, 'no longer in the replica set');
          replica.primary = record.primary;
          return;
        }
        const live = record.standbys.filter((n) => n !== dead && this.cluster.isLive(n));
        if (!live.includes(this.self)) return this.dropLocal(replica, 'no longer in the replica set');
        if (live[0] !== this.self && attempt === 0) {
          await sleep(SECOND_STANDBY_DELAY_MS);
          continue;
        }
        const next: SessionRecord = {
          ...record,
          epoch: record.epoch + 1,
          primary: this.self,
          standbys: live.filter((n) => n !== this.self),
          attached: false,
          holdExpiresAt: Date.now() + this.config.node.sessionHoldSeconds * 1000,
        };
        if ((await this.cluster.swapSession(next, current.revision)) === null) continue;
        await this.becomePrimary(replica, next);
        this.counters.failovers += 1;
        this.log.warn('promoted to primary', { session: session.id, epoch: next.epoch, from: dead, ms: Math.round(performance.now() - startedAt), logIndex: session.log.length });
        return;
      }
    } catch (error) {
      this.log.error('promotion failed', { session: session.id, error: String(error) });
    } finally {
      this.promoting.delete(session.id);
    }
  }

  private async becomePrimary(replica: Replica, record: SessionRecord): Promise<void> {
    const session = replica.session;
    // Another standby may hold entries the old primary sent it but not us yet: take them.
    for (const name of record.standbys) {
      const reply = await this.request(name, { type: 'log.request', sessionId: session.id, epoch: record.epoch, from: session.log.length + 1, request: 0 }, 500);
      if (reply?.type === 'log.reply' && reply.entries.length > 0) session.appendFromPrimary(reply.entries.map(entryFromJson), true);
    }
    session.promote(record.epoch);
    replica.primary = this.self;
    const replicator = this.replicatorFor(replica);
    for (const name of record.standbys) {
      replicator.add(name, true, 0);
      replicator.resend(name);
    }
    this.replenish(replica, record);
  }

  /** Removes a standby from the record (by CAS, so a superseded primary learns it), then stops waiting for it. */
  private async dropStandby(replica: Replica, name: string, why: string): Promise<void> {
    const session = replica.session;
    if (!replica.replicator?.members.has(name)) return;
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await this.cluster.getSession(session.id).catch(() => null);
      if (!current) {
        await sleep(100);
        continue;
      }
      if (current.record.epoch > session.epoch || current.record.primary !== this.self) return this.stepDown(replica, 'a newer primary took over');
      const next = { ...current.record, standbys: current.record.standbys.filter((n) => n !== name) };
      if (next.standbys.length === current.record.standbys.length || (await this.cluster.swapSession(next, current.revision)) !== null) {
        replica.replicator.remove(name);
        this.log.warn('standby dropped', { session: session.id, peer: name, reason: why });
        this.replenish(replica, next);
        return;
      }
    }
  }

  /** Places new standbys until the replica set is whole again; each joins once its screen matches. */
  private replenish(replica: Replica, record: SessionRecord): void {
    const session = replica.session;
    if (session.endMessage !== null || replica.divergences >= MAX_DIVERGENCES) return;
    const members = replica.replicator?.members ?? new Map();
    const missing = this.replicasFor(session.app) - 1 - members.size;
    if (missing <= 0) return;
    const exclude = new Set([this.self, ...record.standbys, ...members.keys()]);
    const placed = this.cluster.place(missing, exclude);
    const replicator = this.replicatorFor(replica);
    for (const name of placed) {
      replicator.add(name, false);
      this.openStandby(session, name);
      this.log.info('placing a new standby', { session: session.id, peer: name, logIndex: session.log.length });
    }
  }

  /** A learner caught up: it joins the replica set once its screen equals ours at the same index. */
  private async join(replica: Replica, name: string): Promise<void> {
    const session = replica.session;
    for (let attempt = 0; attempt < 8 && session.endMessage === null && replica.replicator?.members.has(name); attempt++) {
      await this.waitQuiet(replica);
      const [ours, theirs] = await Promise.all([this.quietHash(session, session.log.length), this.remoteHash(replica, name)]);
      if (ours !== null && ours === theirs) {
        const current = await this.cluster.getSession(session.id);
        if (!current || current.record.epoch !== session.epoch || current.record.primary !== this.self) return this.stepDown(replica, 'a newer primary took over');
        const next = { ...current.record, standbys: [...new Set([...current.record.standbys, name])] };
        if ((await this.cluster.swapSession(next, current.revision)) === null) continue;
        replica.replicator?.setVoting(name);
        this.counters.replenished += 1;
        this.log.info('standby joined', { session: session.id, peer: name, logIndex: session.log.length });
        return;
      }
      await sleep(300);
    }
    if (!replica.replicator?.members.has(name) || session.endMessage !== null) return;
    this.diverged(replica, name, 'its screen never matched the primary’s after replaying the log');
  }

  /** Compares screens with each voting standby while the session is quiet. */
  private async checkHashes(replica: Replica): Promise<void> {
    const session = replica.session;
    if (session.role !== 'primary' || session.endMessage !== null || !replica.replicator) return;
    const voters = replica.replicator.voters();
    if (voters.length === 0 || !this.isQuiet(replica)) return;
    const mark = `${session.log.length}:${session.outputBytes}`;
    if (mark === replica.checkedAt) return;
    const ours = await this.quietHash(session, session.log.length);
    if (ours === null) return;
    let clean = true;
    for (const name of voters) {
      const theirs = await this.remoteHash(replica, name);
      if (theirs === null || theirs === ours) continue;
      // Differ once: maybe a late byte. Look again before calling it divergence.
      await sleep(QUIET_OUTPUT_MS);
      const [again, theirsAgain] = await Promise.all([this.quietHash(session, session.log.length), this.remoteHash(replica, name)]);
      if (again !== null && theirsAgain !== null && again !== theirsAgain) {
        clean = false;
        this.diverged(replica, name, 'its screen differs from the primary’s');
      }
    }
    if (clean) replica.checkedAt = mark;
  }

  private diverged(replica: Replica, name: string, why: string): void {
    const session = replica.session;
    replica.divergences += 1;
    this.counters.divergences += 1;
    this.log.warn('standby diverged', { session: session.id, app: session.app.id, peer: name, reason: why, divergences: replica.divergences });
    if (replica.divergences >= MAX_DIVERGENCES) this.log.error('app output is not deterministic: the session runs on without standbys', { session: session.id, app: session.app.id });
    this.sendTo(name, { type: 'replica.end', sessionId: session.id, epoch: session.epoch, message: 'diverged' });
    void this.dropStandby(replica, name, why);
  }

  private isQuiet(replica: Replica): boolean {
    const now = performance.now();
    return now - replica.lastEntryAt > QUIET_INPUT_MS && now - replica.session.lastOutputAt > QUIET_OUTPUT_MS;
  }

  private async waitQuiet(replica: Replica): Promise<void> {
    for (let i = 0; i < 20 && !this.isQuiet(replica); i++) await sleep(100);
  }

  /** This replica's screen hash once it has applied `index` and gone quiet; null if it cannot. */
  private async quietHash(session: Session, index: number): Promise<string | null> {
    for (let i = 0; i < 20 && (session.appliedIndex < index || performance.now() - session.lastOutputAt < QUIET_OUTPUT_MS); i++) await sleep(50);
    if (session.appliedIndex !== index) return null;
    const { index: at, hash } = await session.screenHash();
    return at === index ? hash : null;
  }

  private async remoteHash(replica: Replica, name: string): Promise<string | null> {
    const session = replica.session;
    const reply = await this.request(name, { type: 'hash.request', sessionId: session.id, epoch: session.epoch, index: session.log.length, request: 0 }, 3000);
    return reply?.type === 'hash.reply' ? reply.hash : null;
  }

  private request(name: string, message: Extract<PeerMessage, { type: 'hash.request' | 'log.request' }>, timeoutMs: number): Promise<PeerMessage | null> {
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
  private stepDown(replica: Replica, why: string): void {
    const session = replica.session;
    if (!this.replicas.has(session.id)) return;
    this.log.warn('stepping down: superseded', { session: session.id, epoch: session.epoch, reason: why });
    session.dropClient();
    this.dropLocal(replica, why);
  }

  private dropLocal(replica: Replica, why: string): void {
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
    this.log.warn('session lost with its host', { session: record.id, app: record.appId, primary: record.primary });
    return message;
  }

  /** Is `name`'s process alive? ('dead': its port refuses connections.) */
  async probe(name: string): Promise<'dead' | 'listening' | 'unknown'> {
    const node = this.cluster.node(name);
    if (!node) return 'dead';
    const state = await this.probeUntilDead(node.url);
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

  all(): Session[] {
    return [...this.replicas.values()].map((r) => r.session);
  }

  /** Drops records of sessions that ended over an hour ago. */
  async sweep(): Promise<void> {
    const now = Date.now();
    for (const { record, revision } of await this.cluster.listSessions()) {
      if (record.state === 'ended' && record.endedAt !== null && now - record.endedAt > REMEMBER_ENDED_MS) await this.cluster.deleteSession(record.id, revision);
    }
  }

  async stop(): Promise<void> {
    for (const replica of [...this.replicas.values()]) {
      clearInterval(replica.hashTimer);
      // A standby going away is not the session ending; a primary shutting down is.
      if (replica.session.role === 'primary') replica.session.end('The broker node was shut down.');
      else {
        this.replicas.delete(replica.session.id);
        replica.session.end('replica removed: node shut down');
      }
    }
    await this.screens.stop();
  }
}


function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
