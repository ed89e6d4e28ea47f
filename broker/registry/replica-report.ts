// What this node reports of its replicas: to `holdfast status` and the admin page
// (each replica's role, epoch and log position) and to the metrics (how far each
// primary's standbys are behind). Computed when asked, so it cannot drift.
import type { Replica } from '../cluster/replica.js';
import type { SandboxHost } from '../host/sandbox-host.js';
import type { Session } from '../session/session.js';
import type { AppDivergenceHistory, ClusterEvent } from './cluster-history.js';
import type { DrainState } from './moves.js';

export interface ReplicaStatus {
  sessionId: string;
  role: string;
  epoch: number;
  logIndex: number;
  appliedIndex: number;
  /** A primary: when its person last gave input (ms since the epoch). */
  lastInputAt?: number;
}

/** What /api/replicas answers of this node. */
export interface NodeReport {
  counters: Record<string, number>;
  replicas: ReplicaStatus[];
  events: ClusterEvent[];
  /** Apps whose standbys diverged here. */
  apps: AppDivergenceHistory[];
  drain: DrainState | null;
  sandbox: SandboxHost['info'];
}

export interface ReplicaLag {
  session: Session;
  /** Log entries each standby does not hold yet (null: not a replicated primary). */
  lagByStandby: Map<string, number> | null;
}

export function replicaStatus(replicas: Iterable<Replica<Session>>): ReplicaStatus[] {
  return [...replicas].map((r) => ({ sessionId: r.session.id, role: r.session.role, epoch: r.session.epoch, logIndex: r.session.log.length, appliedIndex: r.session.log.appliedIndex, ...(r.session.role === 'primary' ? { lastInputAt: r.session.lastInputAt } : {}) }));
}

export function* standbyLag(replicas: Iterable<Replica<Session>>): Iterable<ReplicaLag> {
  for (const { session } of replicas) {
    if (session.role !== 'primary' || !session.replicator) {
      yield { session, lagByStandby: null };
      continue;
    }
    const lag = new Map<string, number>();
    for (const member of session.replicator.members.values()) lag.set(member.name, Math.max(0, session.log.length - member.acked));
    yield { session, lagByStandby: lag };
  }
}
