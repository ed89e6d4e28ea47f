// What the cluster modules (failover, screen checks) work on, declared here so that
// they depend on these small interfaces and not on the registry or the session: one
// replica of a session on this node, and what they may ask of the node's replica set.
import type { AppConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { NodeMetrics } from '../metrics.js';
import type { Cluster } from './cluster.js';
import type { LogEntry, PeerMessage } from './peer-protocol.js';
import type { PeerHub } from './peers.js';
import type { Replicator } from './replicator.js';

/** A session whose standbys diverge this often runs on without standbys. */
export const MAX_DIVERGENCES = 3;

/** What the cluster modules read and do of a replica's input log. */
export interface ReplicaLog {
  readonly length: number;
  readonly appliedIndex: number;
  appendFromPrimary(entries: LogEntry[], committed?: boolean): number;
  commitThrough(index: number): void;
}

/** What the cluster modules read and do of one replica of a session. */
export interface ReplicaSession {
  readonly id: string;
  readonly owner: string;
  readonly app: Pick<AppConfig, 'id' | 'name' | 'failover' | 'replicas' | 'display' | 'fastForward'>;
  readonly role: 'primary' | 'standby';
  readonly epoch: number;
  readonly endMessage: string | null;
  readonly lastOutputAt: number;
  readonly outputBytes: number;
  readonly log: ReplicaLog;
  /** The primary's side of the replica set (null: a session that is never replicated). */
  readonly replicator: Replicator | null;
  promote(epoch: number): void;
  /** The screen's hash and the files' digest (null: not comparable now) at the log index applied. */
  screenHash(): Promise<{ index: number; hash: string | null; files: string | null }>;
}

export interface Replica<S extends ReplicaSession = ReplicaSession> {
  session: S;
  /** For a standby: the node its primary runs on. */
  primary: string;
  divergences: number;
  /** Log index and output count at the last clean screen check. */
  checkedAt: string;
  hashTimer?: NodeJS.Timeout;
  /** A primary still being launched (its record and first standbys not written yet): not for the periodic healing. */
  launching?: boolean;
  /** Nodes whose standby of this session failed, and when: placement avoids them for a while. */
  failedOn?: Map<string, number>;
}

/** What an operator is shown as recent: failovers, divergences, moves and drains. */
export type ClusterEventKind = 'failover' | 'restart' | 'divergence' | 'handover' | 'standby-joined' | 'standby-dropped' | 'drain' | 'undrain';

export type PeerRequest = Extract<PeerMessage, { type: 'hash.request' | 'log.request' | 'handover' }>;

/** What failover and the screen checks need of the node's replica set (the registry provides it). */
export interface ReplicaSetHost {
  readonly self: string;
  readonly replicas: ReadonlyMap<string, Replica>;
  readonly cluster: Cluster;
  /** Tells a dead node (its port refuses connections) from a live one. */
  readonly peers: Pick<PeerHub, 'probe'>;
  readonly log: Logger;
  readonly metrics: NodeMetrics;
  /** How long a promoted session waits for its client (node.sessionHoldSeconds). */
  readonly holdSeconds: number;
  /** Replicas (primary included) an app runs as. */
  replicasFor(app: ReplicaSession['app']): number;
  /** Sends `message` to `name` and resolves with its reply (null: none within `timeoutMs`). */
  request(name: string, message: PeerRequest, timeoutMs: number): Promise<PeerMessage | null>;
  sendTo(name: string, message: PeerMessage): void;
  /** Starts a standby of `session` on `name` (it replays the log). */
  openStandby(session: ReplicaSession, name: string): void;
  /** A primary here now has a replica set: its screens are compared periodically. */
  watchScreens(replica: Replica): void;
  stepDown(replica: Replica, why: string, planned?: boolean): void;
  dropLocal(replica: Replica, why: string): void;
  note(kind: ClusterEventKind, session: string | null, app: string | null, detail: string): void;
}
