// Moving primaries on purpose, and keeping replica sets whole: a handover to a
// standby (an administrator's move, or one session of a drain), draining the whole
// node, and the periodic heal that gives short replica sets new standbys. A move is a
// promotion the old primary asks for: the standby takes epoch+1 by compare-and-swap.
import type { Failover } from '../cluster/failover.js';
import type { Replica, ReplicaSetHost } from '../cluster/replica.js';
import { sleep } from '../sleep.js';

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

export class Moves {
  drainState: DrainState | null = null;
  private readonly healTimer: NodeJS.Timeout;

  constructor(
    private readonly set: ReplicaSetHost,
    private readonly failover: Failover,
  ) {
    this.healTimer = setInterval(() => this.heal(), HEAL_MS);
    this.healTimer.unref();
  }

  /** Every primary here whose replica set is short (a node came back, a drain placed none) gets standbys. */
  private heal(): void {
    const cluster = this.set.cluster;
    if (!cluster.clustered || !cluster.leaseValid()) return;
    for (const replica of this.set.replicas.values()) {
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
    const { set } = this;
    const session = replica.session;
    if (set.replicasFor(session.app) < 2) return `${session.app.name} is not replicated (failover: ${session.app.failover}${session.app.failover === 'lockstep' ? ', replicas: 1' : ''}), so it cannot move without losing its state`;
    const deadline = Date.now() + waitMs;
    for (;;) {
      if (!set.replicas.has(session.id) || session.role !== 'primary') return 'the session is no longer primary here';
      if (session.endMessage !== null) return 'the session ended';
      const replicator = session.replicator;
      const voters = replicator?.voters().filter((n) => set.cluster.isLive(n)) ?? [];
      const target = to === null ? voters.sort((a, b) => replicator!.members.get(b)!.acked - replicator!.members.get(a)!.acked)[0] : voters.find((n) => n === to);
      if (target) {
        const reply = await set.request(target, { type: 'handover', sessionId: session.id, epoch: session.epoch, index: session.log.length, request: 0 }, 5000);
        if (reply?.type === 'handover.reply' && reply.ok) {
          set.metrics.handovers.inc({ role: 'from' });
          set.note('handover', session.id, session.app.id, `moved from ${set.self} to ${target} (epoch ${session.epoch + 1})`);
          set.log.info('session moved', { session: session.id, user: session.owner, app: session.app.id, to: target, logIndex: session.log.length });
          set.stepDown(replica, `moved to ${target}`, true);
          return null;
        }
        if (Date.now() >= deadline) return reply?.type === 'handover.reply' ? `${target} refused: ${reply.message}` : `${target} did not answer`;
      } else {
        if (to !== null && !replicator?.members.has(to)) {
          const node = set.cluster.node(to);
          if (!node || !set.cluster.isLive(to) || !node.accepting) return `${to} is not a live node that takes sessions`;
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
    const { set } = this;
    if (this.drainState && set.cluster.draining) return this.drainState;
    const state: DrainState = { startedAt: Date.now(), finishedAt: null, moved: 0, staying: [] };
    this.drainState = state;
    await set.cluster.setDraining(true);
    const primaries = [...set.replicas.values()].filter((r) => r.session.role === 'primary');
    const count = primaries.length;
    set.note('drain', null, null, `draining ${set.self}: ${count} ${count === 1 ? 'primary' : 'primaries'} to move`);
    set.log.warn('draining: no new sessions here; moving primaries to their standbys');
    // A few at a time: each client reconnects once, and a burst of promotions stays small.
    const queue = [...primaries];
    const worker = async () => {
      for (let replica = queue.shift(); replica; replica = queue.shift()) {
        if (!set.cluster.draining) return;
        const problem = await this.handover(replica, null);
        if (problem === null) state.moved += 1;
        else if (set.replicas.get(replica.session.id) === replica) state.staying.push({ session: replica.session.id, app: replica.session.app.name, reason: problem });
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    for (const replica of [...set.replicas.values()]) {
      if (replica.session.role !== 'standby') continue;
      const session = replica.session;
      set.sendTo(replica.primary, { type: 'replica.failed', sessionId: session.id, epoch: session.epoch, message: 'its node is being drained' });
      set.dropLocal(replica, 'node drained');
    }
    state.finishedAt = Date.now();
    set.log.warn('drained', { moved: state.moved, staying: state.staying.length });
    return state;
  }

  async undrain(): Promise<void> {
    this.drainState = null;
    await this.set.cluster.setDraining(false);
    this.set.note('undrain', null, null, `${this.set.self} takes sessions again`);
    this.set.log.info('undrained: taking new sessions again');
  }

  stop(): void {
    clearInterval(this.healTimer);
  }
}
