// The control plane: the cluster's shared truth (nodes under leases, session records
// with their replica sets and epochs). One interface, two implementations: in-process
// for the single-node default (memory.ts), etcd v3 for a cluster (etcd.ts). The same
// conformance suite (conformance.test.ts) runs against both.

export interface KeyValue {
  key: string;
  value: string;
  /** The key's modification revision: what compareAndSwap compares against. */
  revision: number;
}

export type WatchEvent =
  | { type: 'put'; key: string; value: string; revision: number }
  | { type: 'delete'; key: string; revision: number };

export interface Lease {
  readonly id: string;
  readonly ttlMs: number;
  /**
   * True while the lease is known to be alive: the last successful keep-alive was less
   * than the TTL ago. A node whose lease is not valid must not act as a primary.
   */
  valid(): boolean;
  /** Called once when the lease is lost (keep-alive refused, or no success for a whole TTL). */
  onLost(listener: () => void): void;
  /** Stops keep-alives and deletes the lease (and every key attached to it). */
  revoke(): Promise<void>;
}

export interface Watch {
  /**
   * Resolves once the watch is established: a change made after this is certain to be
   * seen. A watch "from now" may otherwise miss changes made before it reached the
   * server (etcd). Never rejects; resolves at once if closed first.
   */
  readonly ready?: Promise<void>;
  close(): void;
}

export interface PutOptions {
  /** Attach the key to this lease: it is deleted when the lease expires or is revoked. */
  lease?: Lease;
}

export interface ControlPlane {
  /** Grants a lease of `ttlMs` and keeps it alive every `keepAliveMs` until revoked or lost. */
  grantLease(ttlMs: number, keepAliveMs: number): Promise<Lease>;
  get(key: string): Promise<KeyValue | null>;
  /** Every key starting with `prefix`, in key order. */
  list(prefix: string): Promise<KeyValue[]>;
  /** Unconditional write; resolves with the new revision. */
  put(key: string, value: string, options?: PutOptions): Promise<number>;
  /**
   * Writes only if the key's current revision is `revision` (0: the key must not
   * exist). Resolves with the new revision, or null when the comparison failed.
   */
  compareAndSwap(key: string, revision: number, value: string, options?: PutOptions): Promise<number | null>;
  /** Deletes only if the key's current revision is `revision`; false when it was not. */
  compareAndDelete(key: string, revision: number): Promise<boolean>;
  delete(key: string): Promise<void>;
  /**
   * Calls `listener` for every change under `prefix` at or after `fromRevision` (inclusive,
   * like etcd's start_revision; default: from now), in revision order. Survives the loss
   * of one etcd endpoint by re-watching from the last revision seen on another.
   */
  watch(prefix: string, listener: (event: WatchEvent) => void, options?: { fromRevision?: number }): Watch;
  close(): Promise<void>;
}

/** Thrown when the control plane cannot be reached at all (every endpoint failed). */
export class ControlPlaneUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ControlPlaneUnavailable';
  }
}
