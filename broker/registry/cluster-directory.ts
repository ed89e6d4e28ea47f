// What any node can tell of the cluster — its members and the session records — as
// the gateway asks it (part of its SessionService, gateway/context.ts). Read-only: the
// registry, which extends it, is what changes records, and only by compare-and-swap.
import type { Cluster, VersionedSession } from '../cluster/cluster.js';
import type { NodeRecord } from '../cluster/records.js';

export class ClusterDirectory {
  constructor(readonly cluster: Cluster) {}

  /** This node's name. */
  get self(): string {
    return this.cluster.name;
  }

  get clustered(): boolean {
    return this.cluster.clustered;
  }

  brokerUrls(): string[] {
    return this.cluster.brokerUrls();
  }

  /** Where a new session's primary should run: the least loaded node (this one wins ties). */
  placePrimary(): string | null {
    return this.cluster.place(1, new Set())[0] ?? null;
  }

  isLive(name: string): boolean {
    return this.cluster.isLive(name);
  }

  member(name: string): NodeRecord | undefined {
    return this.cluster.node(name);
  }

  /** This node's record first, then the others it sees. */
  members(): NodeRecord[] {
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
}
