// What an operator is shown of this node's recent replica-set history — failovers,
// divergences, moves, drains — with the counters, metrics and audit lines that go
// with each. Bounded: the newest MAX_EVENTS are kept.
import type { AuditLog } from '../audit.js';
import { MAX_DIVERGENCES, type ClusterEventKind } from '../cluster/replica.js';
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
/** Sessions remembered per app (to count them); older ones are forgotten first. */
const MAX_SESSIONS_PER_APP = 1000;

/** One app's divergences on this node since it started (before the catalog's `failover` is added). */
export interface AppDivergenceHistory {
  app: string;
  divergences: number;
  sessions: number;
  unprotected: number;
  lastDetail: string;
  lastAt: number;
}

const AUDITED = { failover: 'session.failover', restart: 'session.restart', handover: 'session.move' } as const;

export class ClusterHistory {
  readonly counters: NodeCounters = { failovers: 0, divergences: 0, replenished: 0 };
  /** Recent events here, newest last. */
  readonly events: ClusterEvent[] = [];
  /** Divergences by app, for as long as the node runs: which apps lockstep cannot keep. */
  private readonly byApp = new Map<string, { divergences: number; sessions: Map<string, number>; lastDetail: string; lastAt: number }>();

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
        if (app) this.noteDivergence(app, session, detail);
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

  /** Apps whose standbys diverged here, most divergences first. */
  appDivergences(): AppDivergenceHistory[] {
    return [...this.byApp.entries()]
      .map(([app, e]) => ({
        app,
        divergences: e.divergences,
        sessions: e.sessions.size,
        // A session whose standbys diverged MAX_DIVERGENCES times runs on without them.
        unprotected: [...e.sessions.values()].filter((n) => n >= MAX_DIVERGENCES).length,
        lastDetail: e.lastDetail,
        lastAt: e.lastAt,
      }))
      .sort((a, b) => b.divergences - a.divergences || (a.app < b.app ? -1 : 1));
  }

  private noteDivergence(app: string, session: string | null, detail: string): void {
    let entry = this.byApp.get(app);
    if (!entry) this.byApp.set(app, (entry = { divergences: 0, sessions: new Map(), lastDetail: '', lastAt: 0 }));
    entry.divergences += 1;
    if (session) {
      entry.sessions.set(session, (entry.sessions.get(session) ?? 0) + 1);
      // Bounded: the oldest session is forgotten first.
      if (entry.sessions.size > MAX_SESSIONS_PER_APP) entry.sessions.delete(entry.sessions.keys().next().value!);
    }
    entry.lastDetail = detail;
    entry.lastAt = Date.now();
  }
}

