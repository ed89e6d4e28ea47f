// This node's place in the cluster: its membership record under a control-plane
// lease, the live members it sees (by watching their records), session records read
// and changed only by compare-and-swap, and placement (least-loaded first).
//
// A node that loses its lease stops accepting sessions and must not act as a primary
// (`leaseValid()`); it registers again with a new lease as soon as the control plane
// answers, and then the registry reconciles its sessions with what the records say.
import type { ClusterConfig } from '../config/schema.js';
import type { ControlPlane, KeyValue, Lease, Watch } from '../control-plane/types.js';
import type { Logger } from '../log.js';
import { parseRecord } from '../control-plane/keys.js';
import { NODES, NodeRecord, SESSIONS, SessionRecord, type VersionedSession } from './records.js';
import { VERSION } from '../version.js';

export type { VersionedSession } from './records.js';

export interface ClusterEvents {
  /** A member's record vanished: its lease expired or it left. */
  nodeGone(name: string): void;
  /** This node lost its lease: stop acting as a primary until `leaseRegained`. */
  leaseLost(): void;
  leaseRegained(): void;
}

const RELIST_MS = 5000;

export class Cluster {
  readonly nodes = new Map<string, NodeRecord>();
  /** Nodes a probe found dead, by the lease they held then. */
  private readonly dead = new Map<string, string>();
  private lease: Lease | null = null;
  private watch: Watch | null = null;
  private relist: NodeJS.Timeout | undefined;
  private loadTimer: NodeJS.Timeout | undefined;
  private load = 0;
  private stopped = false;
  private readonly startedAt = Date.now();
  /** False while the node may not take new sessions (no lease, or draining). */
  accepting = false;
  /** Set by an administrator's drain: no new sessions until undrained (or restarted). */
  private drainingFlag = false;

  constructor(
    readonly name: string,
    readonly url: string,
    private readonly plane: ControlPlane,
    private readonly config: ClusterConfig,
    private readonly log: Logger,
    /** Who is told of members leaving and of this node's lease: the session registry, made after the cluster (null until then). */
    private readonly events: () => ClusterEvents | null = () => null,
  ) {}

  get clustered(): boolean {
    return this.config.controlPlane.kind === 'etcd';
  }

  async start(): Promise<void> {
    // etcd may be slow to answer for a moment (busy, electing a leader): try a few times before giving up.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.register();
        break;
      } catch (error) {
        if (attempt >= 4) throw error;
        this.log.warn('control plane not answering yet; trying again', { attempt, error: String(error) });
        await new Promise((r) => setTimeout(r, 500 * attempt));
      }
    }
    this.watch = this.plane.watch(NODES, (event) => {
      const name = event.key.slice(NODES.length);
      if (event.type === 'put') {
        const record = parseRecord(NodeRecord, event.value);
        if (record) this.nodes.set(name, record);
      } else if (this.nodes.delete(name) && name !== this.name) {
        this.log.warn('node left the cluster', { peer: name });
        this.events()?.nodeGone(name);
      }
    });
    await this.watch.ready;
    await this.refreshNodes();
    this.relist = setInterval(() => void this.refreshNodes().catch(() => {}), RELIST_MS);
    this.relist.unref();
  }

  /** True while this node's lease is known to be alive: the condition for acting as primary. */
  leaseValid(): boolean {
    return this.lease?.valid() ?? false;
  }

  /**
   * Live members' URLs, this node first: what clients get as their broker list. A
   * single node lists none: clients keep the address they were given (which may be a
   * proxy's), not the node's own listen address.
   */
  brokerUrls(): string[] {
    if (!this.clustered) return [];
    const others = [...this.nodes.values()].filter((n) => n.name !== this.name && n.accepting && !this.isDead(n)).map((n) => n.url);
    return [this.url, ...others.sort()];
  }

  /**
   * A probe found `name`'s process gone: leave it out of placement and broker lists
   * until it registers again (a new lease), without waiting for its lease to expire.
   */
  markDead(name: string, leaseId: string): void {
    this.dead.set(name, leaseId);
  }

  private isDead(record: NodeRecord): boolean {
    return this.dead.get(record.name) === record.leaseId;
  }

  /** Is `name` a live member (registered, and not found dead by a probe)? */
  isLive(name: string): boolean {
    if (name === this.name) return true;
    const record = this.nodes.get(name);
    return record !== undefined && !this.isDead(record);
  }

  node(name: string): NodeRecord | undefined {
    return name === this.name ? this.selfRecord() : this.nodes.get(name);
  }

  /** Nodes to host `count` replicas, least loaded first, never one in `exclude`. Self wins ties. */
  place(count: number, exclude: Set<string>): string[] {
    // This node's own record in `nodes` may lag a drain by a watch event: its flag decides.
    const candidates = [...this.nodes.values()].filter((n) => n.name !== this.name && n.accepting && !exclude.has(n.name) && !this.isDead(n));
    if (!exclude.has(this.name) && this.accepting) candidates.push(this.selfRecord());
    candidates.sort((a, b) => (a.name === this.name ? this.load : a.load) - (b.name === this.name ? this.load : b.load) || Number(b.name === this.name) - Number(a.name === this.name) || a.name.localeCompare(b.name));
    return candidates.slice(0, count).map((n) => n.name);
  }

  get draining(): boolean {
    return this.drainingFlag;
  }

  /** Starts (or ends) a drain: placement skips this node from the moment its record says so. */
  async setDraining(draining: boolean): Promise<void> {
    this.drainingFlag = draining;
    this.accepting = !draining && this.leaseValid();
    await this.publish();
  }

  /** Replicas hosted here changed: the record follows (coalesced). */
  setLoad(load: number): void {
    if (load === this.load) return;
    this.load = load;
    this.loadTimer ??= setTimeout(() => {
      this.loadTimer = undefined;
      void this.publish().catch(() => {});
    }, 100);
  }

  // ---- session records -----------------------------------------------------------

  async getSession(id: string): Promise<VersionedSession | null> {
    const kv = await this.plane.get(SESSIONS + id);
    return kv ? versioned(kv) : null;
  }

  async listSessions(): Promise<VersionedSession[]> {
    return (await this.plane.list(SESSIONS)).map(versioned).filter((v): v is VersionedSession => v !== null);
  }

  async createSession(record: SessionRecord): Promise<number | null> {
    return this.plane.compareAndSwap(SESSIONS + record.id, 0, JSON.stringify(record));
  }

  /** Writes `record` only if the stored one is still at `revision`; null when it changed. */
  async swapSession(record: SessionRecord, revision: number): Promise<number | null> {
    return this.plane.compareAndSwap(SESSIONS + record.id, revision, JSON.stringify(record));
  }

  async deleteSession(id: string, revision: number): Promise<boolean> {
    return this.plane.compareAndDelete(SESSIONS + id, revision);
  }

  /** Calls `listener` whenever a session record changes (or every `pollMs`), until it returns true. */
  waitForSession(id: string, until: (record: VersionedSession | null) => boolean, timeoutMs: number): Promise<VersionedSession | null> {
    return new Promise((resolve) => {
      let done = false;
      let watch: Watch | null = null;
      const finish = (value: VersionedSession | null) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        clearInterval(poll);
        watch?.close();
        resolve(value);
      };
      const check = () =>
        void this.getSession(id)
          .then((v) => {
            if (until(v)) finish(v);
          })
          .catch(() => {});
      watch = this.plane.watch(SESSIONS + id, () => check());
      const poll = setInterval(check, 250);
      const timer = setTimeout(() => void this.getSession(id).then(finish, () => finish(null)), timeoutMs);
      check();
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.relist);
    clearTimeout(this.loadTimer);
    this.watch?.close();
    await this.lease?.revoke().catch(() => {});
    await this.plane.close();
  }

  // ---- membership ------------------------------------------------------------------

  private selfRecord(): NodeRecord {
    return {
      name: this.name,
      url: this.url,
      pid: process.pid,
      load: this.load,
      accepting: this.accepting,
      startedAt: this.startedAt,
      leaseId: this.lease?.id ?? '',
      version: VERSION,
      draining: this.drainingFlag,
    };
  }

  private async register(): Promise<void> {
    const lease = await this.plane.grantLease(this.config.leaseTtlMs, this.config.keepAliveMs);
    this.lease = lease;
    this.accepting = !this.drainingFlag;
    await this.publish();
    lease.onLost(() => {
      if (this.stopped || this.lease !== lease) return;
      this.accepting = false;
      this.log.error('lost the control-plane lease: not accepting sessions and not acting as primary until it is back');
      this.events()?.leaseLost();
      void this.reregister();
    });
  }

  private async reregister(): Promise<void> {
    for (let attempt = 1; !this.stopped; attempt++) {
      try {
        await this.register();
        this.log.info('control-plane lease regained', { attempts: attempt });
        this.events()?.leaseRegained();
        return;
      } catch (error) {
        if (attempt === 1 || attempt % 20 === 0) this.log.warn('control plane unreachable; retrying', { error: String(error) });
        await new Promise((r) => setTimeout(r, Math.min(1000, 100 * attempt)));
      }
    }
  }

  private async publish(): Promise<void> {
    if (!this.lease) return;
    await this.plane.put(NODES + this.name, JSON.stringify(this.selfRecord()), { lease: this.lease });
  }

  private async refreshNodes(): Promise<void> {
    const listed = await this.plane.list(NODES);
    const seen = new Set<string>();
    for (const kv of listed) {
      const record = parseRecord(NodeRecord, kv.value);
      if (!record) continue;
      seen.add(record.name);
      this.nodes.set(record.name, record);
    }
    for (const name of [...this.nodes.keys()]) {
      if (!seen.has(name)) {
        this.nodes.delete(name);
        if (name !== this.name) this.events()?.nodeGone(name);
      }
    }
  }
}

function versioned(kv: KeyValue): VersionedSession | null {
  const record = parseRecord(SessionRecord, kv.value);
  return record ? { record, revision: kv.revision } : null;
}
