// What an operator is shown of this node's recent replica-set history — failovers,
// divergences, moves, drains — with the counters, metrics and audit lines that go
// with each. Bounded: the newest MAX_EVENTS are kept.
import type { AuditLog } from '../audit.js';
import type { ClusterEventKind } from '../cluster/replica.js';
import type { NodeMetrics } from '../metrics.js';

export interface NodeCounters {
  failovers: number;
  divergences: number;
  replenished: number;
}

/** What the admin view lists as recent: failovers, divergences, moves and drains. */
export interface ClusterEvent {
  at: number;
  kind: ClusterEventKind;
  node: string;
  session: string | null;
  app: string | null;
  detail: string;
}

const MAX_EVENTS = 100;

const AUDITED = { failover: 'session.failover', restart: 'session.restart', handover: 'session.move' } as const;

export class ClusterHistory {
  readonly counters: NodeCounters = { failovers: 0, divergences: 0, replenished: 0 };
  /** Recent events here, newest last. */
  readonly events: ClusterEvent[] = [];

  constructor(
    private readonly self: string,
    private readonly metrics: NodeMetrics,
    private readonly audit: AuditLog,
  ) {}

  /** Counts and remembers something an operator should see (metrics, the admin view, holdfast status). */
  note(kind: ClusterEventKind, session: string | null, app: string | null, detail: string): void {
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
    if (kind in AUDITED) this.audit.record(AUDITED[kind as keyof typeof AUDITED], { session: session ?? undefined, app: app ?? undefined, detail });
    if (this.events.length > MAX_EVENTS) this.events.splice(0, this.events.length - MAX_EVENTS);
  }
}
