// Messages between this node's replicas and other nodes', routed to what handles
// them: on links others opened to us (a primary's entries, commits, checks and
// handovers for our standbys) and on links we opened (our standbys' acks and replies).
// Every message is checked against the replica's epoch first (fencing). Requests that
// expect a reply are matched to it here, by number, with a timeout.
import type { Failover } from '../cluster/failover.js';
import { encodeAcked, entryToJson, type PeerMessage } from '../cluster/peer-protocol.js';
import type { Incoming, PeerHandlers, PeerReply } from '../cluster/peers.js';
import type { PeerRequest, Replica } from '../cluster/replica.js';
import type { ScreenChecks } from '../cluster/screen-checks.js';
import type { Logger } from '../log.js';
import type { Session } from '../session/session.js';
import type { ReplicaOpen } from './replica-open.js';

/** What routing needs of the node's replica set (the registry). */
export interface RoutedReplicaSet {
  readonly replicas: ReadonlyMap<string, Replica<Session>>;
  readonly log: Logger;
  /** A primary asked this node to run a standby. */
  startStandby(from: string, message: ReplicaOpen, reply: PeerReply): void;
  stepDown(replica: Replica<Session>, why: string): void;
  dropLocal(replica: Replica<Session>, why: string): void;
}

export class PeerRouter {
  private readonly pending = new Map<number, (message: PeerMessage | null) => void>();
  private nextRequest = 1;

  constructor(
    private readonly set: RoutedReplicaSet,
    private readonly failover: Failover,
    private readonly checks: ScreenChecks,
    private readonly send: (to: string, message: PeerMessage) => void,
  ) {}

  /** The handlers the peer links deliver to. */
  readonly handlers: PeerHandlers = {
    inbound: (from, message, reply) => this.inbound(from, message, reply),
    outbound: (to, message) => this.outbound(to, message),
    inboundClosed: (from) => this.failover.inboundClosed(from),
    inboundSilent: (from) => this.failover.inboundSilent(from),
    outboundClosed: (to) => this.failover.outboundClosed(to),
  };

  /** Sends a request to `name` and resolves with its reply, or null after `timeoutMs`. */
  request(name: string, message: PeerRequest, timeoutMs: number): Promise<PeerMessage | null> {
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
      this.send(name, { ...message, request } as PeerMessage);
    });
  }

  /** What other nodes send on links they opened to us: we hold their session's standby (or are asked to). */
  private inbound(from: string, message: Incoming, reply: PeerReply): void {
    if (message.type === 'replica.open') return this.set.startStandby(from, message, reply);
    const replica = this.set.replicas.get(message.sessionId);
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
      if (session.role === 'primary') return this.set.stepDown(replica, 'a newer primary took over');
      session.follow(message.epoch);
      replica.primary = from;
    }
    switch (message.type) {
      case 'append': {
        // Acknowledged as held, before it is applied: applying waits for the primary's COMMIT.
        const held = session.log.appendFromPrimary(message.entries);
        reply.binary(encodeAcked(session.id, session.epoch, held));
        return;
      }
      case 'commit':
        session.log.primaryApplied(message.first, message.marks);
        return;
      case 'clocks':
        session.primaryClocks(message.index, message.clocks);
        return;
      case 'replica.end':
        this.set.dropLocal(replica, message.message);
        return;
      case 'hash.request':
        void this.checks.quietLook(session, message.index).then((look) =>
          reply.json({ type: 'hash.reply', sessionId: session.id, epoch: session.epoch, index: message.index, request: message.request, hash: look?.hash ?? null, files: look?.files ?? null }),
        );
        return;
      case 'log.request':
        reply.json({ type: 'log.reply', sessionId: session.id, epoch: session.epoch, request: message.request, entries: session.log.entriesAfter(message.from - 1).map(entryToJson) });
        return;
      case 'handover':
        void this.failover.takeOver(replica, from, message.index).then((problem) =>
          reply.json({ type: 'handover.reply', sessionId: session.id, epoch: session.epoch, request: message.request, ok: problem === null, message: problem ?? 'taken over' }),
        );
        return;
    }
  }

  /** What comes back on links we opened: replies to our requests, and our standbys' acks and news. */
  private outbound(to: string, message: Incoming): void {
    if (message.type === 'hash.reply' || message.type === 'log.reply' || message.type === 'handover.reply') {
      const resolve = this.pending.get(message.request);
      this.pending.delete(message.request);
      resolve?.(message);
      return;
    }
    const replica = this.set.replicas.get(message.sessionId);
    if (!replica || replica.session.role !== 'primary') return;
    const session = replica.session;
    switch (message.type) {
      case 'acked': {
        if (message.epoch !== session.epoch) return;
        // The keystroke's way back: the standby holds it, so what it caused may be shown.
        const through = session.replicator?.acked(to, message.index) ?? 0;
        if (through > 0) session.log.commitThrough(through);
        return;
      }
      case 'replica.opened':
        if (session.replicator?.members.get(to)?.voting === false) void this.checks.join(replica, to);
        return;
      case 'replica.stale':
        return this.set.stepDown(replica, `${to} holds a newer epoch`);
      case 'replica.failed':
        this.set.log.warn('standby failed', { session: message.sessionId, user: session.owner, peer: to, reason: message.message });
        void this.failover.dropStandby(replica, to, 'its replica failed');
        return;
    }
  }
}
