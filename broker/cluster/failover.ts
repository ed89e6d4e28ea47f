// Keeping a session's replica set whole through failures: promotion of a standby when
// its primary dies (at once when its process is gone, at lease expiry when it is
// silent), dropping dead standbys, and placing new ones. Every change to the record is
// a compare-and-swap, so a superseded primary finds out and steps down.
import type { SessionRecord } from './records.js';
import { entryFromJson } from './peer-protocol.js';
import { MAX_DIVERGENCES, type Replica, type ReplicaSetHost } from './replica.js';
import { sleep } from '../sleep.js';

/** Standbys other than the first live one wait this long before trying to promote. */
const SECOND_STANDBY_DELAY_MS = 400;
/**
 * After a failure, new standbys are placed this long later. A node's death sends its
 * sessions' clients to resume on the survivors at the very moment every session that
 * lost a standby there wants a new one on them too; starting five sandboxes held a
 * resume on the same node back by half a second (failover bench, kill -9 p90 ~700 ms).
 * People waiting come first; protection is back a moment later.
 */
const REPLENISH_AFTER_FAILURE_MS = 1000;

export class Failover {
  private readonly promoting = new Set<string>();

  constructor(private readonly host: ReplicaSetHost) {}

  /** A primary's link to us closed: if its process is gone, take over now. */
  inboundClosed(from: string): void {
    const mine = [...this.host.replicas.values()].filter((r) => r.session.role === 'standby' && r.primary === from);
    if (mine.length === 0) return;
    const node = this.host.cluster.node(from);
    if (!node) return void Promise.all(mine.map((r) => this.promote(r, from)));
    void this.probeUntilDead(node.url).then((state) => {
      this.host.log.info('link from primary closed', { peer: from, state, sessions: mine.length });
      if (state === 'dead') {
        this.host.cluster.markDead(from, node.leaseId);
        for (const replica of mine) void this.promote(replica, from);
      }
    });
  }

  /**
   * A primary's link to us went silent (it answers no ping: hung, stopped, or cut off
   * from us): its standbys here take over now rather than at its lease's expiry. Safe
   * while it may still be alive: its output waits for its standbys, which no longer
   * answer it in an older epoch, and the compare-and-swap tells it it was superseded.
   */
  inboundSilent(from: string): void {
    const mine = [...this.host.replicas.values()].filter((r) => r.session.role === 'standby' && r.primary === from);
    for (const replica of mine) void this.promoteIfJoined(replica, from);
  }

  /**
   * Only a standby the record names (one that has joined) acts on silence. One still
   * replaying the log to join is busy itself — a replacement replaying a 200 MB upload
   * took its own stalls for its primary's silence and was dropped — and could not take
   * over anyway; the lease still decides for it.
   */
  private async promoteIfJoined(replica: Replica, from: string): Promise<void> {
    const current = await this.host.cluster.getSession(replica.session.id).catch(() => null);
    const record = current?.record;
    if (!record || record.primary !== from || !record.standbys.includes(this.host.self)) return;
    this.host.log.warn('primary silent: taking over', { session: replica.session.id, peer: from });
    await this.promote(replica, from);
  }

  /**
   * Probes a node whose link just closed, a few times over a second: a killed process
   * closes its connections a moment before its listening socket, so one early probe
   * can still find the port open. A node still listening after that is left to its
   * lease (it may be alive, or stopped).
   */
  async probeUntilDead(url: string): Promise<'dead' | 'listening' | 'unknown'> {
    let state: 'dead' | 'listening' | 'unknown' = 'unknown';
    for (const wait of [0, 30, 100, 250, 500]) {
      if (wait > 0) await sleep(wait);
      state = await this.host.peers.probe(url);
      if (state === 'dead') return state;
    }
    return state;
  }

  /** Our link to a standby closed: a dead standby is dropped; a live one gets what it missed. */
  outboundClosed(to: string): void {
    const mine = [...this.host.replicas.values()].filter((r) => r.session.role === 'primary' && r.session.replicator?.members.has(to));
    if (mine.length === 0) return;
    const node = this.host.cluster.node(to);
    const check = (attempt: number) => {
      if (!node) return void mine.forEach((r) => this.dropStandby(r, to, 'its node left the cluster', true));
      void this.probeUntilDead(node.url).then((state) => {
        if (state === 'dead') {
          this.host.cluster.markDead(to, node.leaseId);
          for (const replica of mine) void this.dropStandby(replica, to, 'its node stopped', true);
        }
        else if (state === 'listening') {
          for (const replica of mine) {
            const member = replica.session.replicator?.members.get(to);
            if (member && ++member.failures > 3) void this.dropStandby(replica, to, 'its link keeps failing');
            else setTimeout(() => replica.session.replicator?.resend(to), 100 * (member?.failures ?? 1));
          }
        }
        else if (attempt < 5) setTimeout(() => check(attempt + 1), 200);
      });
    };
    check(1);
  }

  /** A member's lease expired (a silent failure): promote or drop as its role says. */
  nodeGone(name: string): void {
    for (const replica of this.host.replicas.values()) {
      if (replica.session.role === 'standby' && replica.primary === name) void this.promote(replica, name);
      else if (replica.session.role === 'primary' && replica.session.replicator?.members.has(name)) void this.dropStandby(replica, name, 'its node left the cluster', true);
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
        if (!this.host.cluster.leaseValid()) {
          await sleep(100);
          continue;
        }
        const current = await this.host.cluster.getSession(session.id);
        if (!current || current.record.state !== 'running') return this.host.dropLocal(replica, 'the session ended');
        const record = current.record;
        if (record.epoch > session.epoch || record.primary !== dead) {
          if (record.primary === this.host.self) return;
          if (!record.standbys.includes(this.host.self)) return this.host.dropLocal(replica, 'no longer in the replica set');
          replica.primary = record.primary;
          return;
        }
        const live = record.standbys.filter((n) => n !== dead && this.host.cluster.isLive(n));
        if (!live.includes(this.host.self)) return this.host.dropLocal(replica, 'no longer in the replica set');
        if (live[0] !== this.host.self && attempt === 0) {
          await sleep(SECOND_STANDBY_DELAY_MS);
          continue;
        }
        const next: SessionRecord = {
          ...record,
          epoch: record.epoch + 1,
          primary: this.host.self,
          standbys: live.filter((n) => n !== this.host.self),
          attached: false,
          holdExpiresAt: Date.now() + this.host.holdSeconds * 1000,
        };
        if ((await this.host.cluster.swapSession(next, current.revision)) === null) continue;
        await this.becomePrimary(replica, next);
        this.host.note('failover', session.id, session.app.id, `promoted on ${this.host.self} after ${dead} stopped (epoch ${next.epoch})`);
        this.host.log.warn('promoted to primary', { session: session.id, user: session.owner, epoch: next.epoch, from: dead, ms: Math.round(performance.now() - startedAt), logIndex: session.log.length });
        return;
      }
    } catch (error) {
      this.host.log.error('promotion failed', { session: session.id, user: session.owner, error: String(error) });
    } finally {
      this.promoting.delete(session.id);
    }
  }

  /**
   * Our primary (`from`) hands the session over on purpose (a drain or a move): once
   * we hold everything it had logged (`index`; the entries came before this message on
   * the same link), promote ourselves to epoch+1 by compare-and-swap, as in a failover.
   * The old primary leaves the replica set. Resolves null when done, else why not.
   */
  async takeOver(replica: Replica, from: string, index: number): Promise<string | null> {
    const session = replica.session;
    if (session.role !== 'standby' || replica.primary !== from) return 'this replica is not a standby of that primary';
    if (this.promoting.has(session.id)) return 'a promotion is already under way';
    this.promoting.add(session.id);
    try {
      for (let i = 0; i < 100 && session.log.length < index; i++) await sleep(20);
      if (session.log.length < index) return `holds log index ${session.log.length}, not ${index}`;
      for (let attempt = 0; attempt < 3; attempt++) {
        if (!this.host.cluster.leaseValid()) return 'this node has no valid lease';
        const current = await this.host.cluster.getSession(session.id);
        if (!current || current.record.state !== 'running') return 'the session ended';
        const record = current.record;
        if (record.primary !== from || record.epoch !== session.epoch) return `the record names ${record.primary} in epoch ${record.epoch}`;
        const next: SessionRecord = {
          ...record,
          epoch: record.epoch + 1,
          primary: this.host.self,
          standbys: record.standbys.filter((n) => n !== this.host.self && n !== from && this.host.cluster.isLive(n)),
          attached: false,
          holdExpiresAt: Date.now() + this.host.holdSeconds * 1000,
        };
        if ((await this.host.cluster.swapSession(next, current.revision)) === null) continue;
        await this.becomePrimary(replica, next);
        this.host.metrics.handovers.inc({ role: 'to' });
        this.host.log.info('took over a moved session', { session: session.id, user: session.owner, epoch: next.epoch, from, logIndex: session.log.length });
        return null;
      }
      return 'the session record kept changing';
    } catch (error) {
      return `the control plane failed: ${String(error)}`;
    } finally {
      this.promoting.delete(session.id);
    }
  }

  private async becomePrimary(replica: Replica, record: SessionRecord): Promise<void> {
    const session = replica.session;
    // Another standby may hold entries the old primary sent it but not us yet: take them.
    for (const name of record.standbys) {
      const reply = await this.host.request(name, { type: 'log.request', sessionId: session.id, epoch: record.epoch, from: session.log.length + 1, request: 0 }, 500);
      if (reply?.type === 'log.reply' && reply.entries.length > 0) session.log.appendFromPrimary(reply.entries.map(entryFromJson), true);
    }
    session.promote(record.epoch);
    replica.primary = this.host.self;
    const replicator = session.replicator!;
    this.host.watchScreens(replica);
    for (const name of record.standbys) {
      replicator.add(name, true, 0);
      replicator.resend(name);
    }
    this.replenishLater(replica, record.standbys);
  }

  /**
   * Removes a standby from the record (by CAS, so a superseded primary learns it), then
   * stops waiting for it and places another: at once, or a moment later when a node
   * failed (`nodeFailed`: its clients are resuming on the nodes a new standby would take).
   */
  async dropStandby(replica: Replica, name: string, why: string, nodeFailed = false): Promise<void> {
    const session = replica.session;
    if (!replica.session.replicator?.members.has(name)) return;
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await this.host.cluster.getSession(session.id).catch(() => null);
      if (!current) {
        await sleep(100);
        continue;
      }
      if (current.record.epoch > session.epoch || current.record.primary !== this.host.self) return this.host.stepDown(replica, 'a newer primary took over');
      const next = { ...current.record, standbys: current.record.standbys.filter((n) => n !== name) };
      if (next.standbys.length === current.record.standbys.length || (await this.host.cluster.swapSession(next, current.revision)) !== null) {
        const through = session.replicator!.remove(name);
        if (through > 0) session.log.commitThrough(through);
        (replica.failedOn ??= new Map()).set(name, Date.now());
        // If it is still there, its replica goes: nothing will be sent to it any more.
        this.host.sendTo(name, { type: 'replica.end', sessionId: session.id, epoch: session.epoch, message: `dropped from the replica set: ${why}` });
        this.host.note('standby-dropped', session.id, session.app.id, `${name}: ${why}`);
        this.host.log.warn('standby dropped', { session: session.id, user: session.owner, peer: name, reason: why });
        if (nodeFailed) this.replenishLater(replica, next.standbys);
        else this.replenish(replica, next.standbys);
        return;
      }
    }
  }

  /** replenish, REPLENISH_AFTER_FAILURE_MS from now, if this replica is still the primary then. */
  private replenishLater(replica: Replica, standbys: readonly string[]): void {
    setTimeout(() => {
      if (replica.session.role === 'primary' && this.host.replicas.get(replica.session.id) === replica) this.replenish(replica, standbys);
    }, REPLENISH_AFTER_FAILURE_MS).unref();
  }

  /** Places new standbys until the replica set is whole again; each joins once its screen matches. */
  private replenish(replica: Replica, standbys: readonly string[]): void {
    const session = replica.session;
    if (session.endMessage !== null || replica.divergences >= MAX_DIVERGENCES) return;
    const members = replica.session.replicator?.members ?? new Map();
    const missing = this.host.replicasFor(session.app) - 1 - members.size;
    if (missing <= 0) return;
    // Not where a standby of this session failed in the last 10 s: placement would only fail again.
    const recent = [...(replica.failedOn ?? new Map<string, number>())].filter(([, at]) => Date.now() - at < 10_000).map(([name]) => name);
    const exclude = new Set([this.host.self, ...standbys, ...members.keys(), ...recent]);
    for (const name of this.host.cluster.place(missing, exclude)) this.addStandby(replica, name);
  }

  /** The periodic check: a replica set short of standbys (no node was free when it lost one) gets them now. */
  replenishIfShort(replica: Replica): void {
    if (this.promoting.has(replica.session.id)) return;
    this.replenish(replica, []);
  }

  /** Starts a standby of `replica` on `name`: it replays the log and joins once its screen matches. */
  addStandby(replica: Replica, name: string): void {
    const session = replica.session;
    // Placed after the session started: an app that asks for it (config fastForward)
    // replays the history with its timers caught up to ours entry by entry, then
    // follows our clocks as they move (replica-open.ts, Replicator).
    session.replicator!.add(name, false, 0, session.app.fastForward);
    this.host.watchScreens(replica);
    this.host.openStandby(session, name);
    this.host.log.info('placing a new standby', { session: session.id, user: session.owner, peer: name, logIndex: session.log.length });
  }
}
