// The in-process control plane for a single node: the same contract as etcd (a global
// revision that every change bumps, leases whose keys vanish with them, ordered watches)
// without a network. Keep-alive is implicit — the process holding the state is alive —
// so a lease ends only by revoke() or by the test hook expireLease().
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ControlPlane, KeyValue, Lease, PutOptions, Watch, WatchEvent } from './types.js';

/** How many change events are kept for watches that start in the past. */
const DEFAULT_HISTORY = 10_000;

interface Entry {
  value: string;
  revision: number;
  lease: MemoryLease | null;
}

export interface MemoryControlPlaneOptions {
  /** Events kept for `watch({ fromRevision })`; older ones are compacted away. */
  historyLimit?: number;
  /**
   * Keys under these prefixes (without a lease) are kept in `file` (0600) and there
   * again after a restart: what a single node must not forget — people's second
   * factors, revoked tokens. Everything else lives and dies with the process.
   */
  persist?: { file: string; prefixes: string[] };
}

class MemoryLease implements Lease {
  readonly ttlMs: number;
  readonly keys = new Set<string>();
  private state: 'alive' | 'lost' | 'revoked' = 'alive';
  private readonly listeners: Array<() => void> = [];

  constructor(
    readonly id: string,
    ttlMs: number,
    private readonly plane: MemoryControlPlane,
  ) {
    this.ttlMs = ttlMs;
  }

  get alive(): boolean {
    return this.state === 'alive';
  }

  valid(): boolean {
    return this.state === 'alive';
  }

  onLost(listener: () => void): void {
    if (this.state === 'lost') queueMicrotask(listener);
    else if (this.state === 'alive') this.listeners.push(listener);
  }

  async revoke(): Promise<void> {
    if (this.state !== 'alive') return;
    this.state = 'revoked';
    this.plane.endLease(this);
  }

  /** Ends the lease as if its keep-alives had stopped: keys deleted, listeners told. */
  lose(): void {
    if (this.state !== 'alive') return;
    this.state = 'lost';
    this.plane.endLease(this);
    for (const listener of this.listeners.splice(0)) queueMicrotask(listener);
  }

  /** close(): the lease is no longer kept alive, but nobody is told it was lost. */
  abandon(): void {
    if (this.state === 'alive') this.state = 'revoked';
    this.listeners.length = 0;
  }
}

class MemoryWatch implements Watch {
  readonly ready: Promise<void> = Promise.resolve();
  private queue: WatchEvent[] = [];
  private scheduled = false;
  private closed = false;
  /** Keys this watch has seen put and not deleted: reported deleted after a resync. */
  readonly seen = new Set<string>();
  /** Last revision delivered (or skipped as already seen). */
  lastRevision: number;

  constructor(
    readonly prefix: string,
    private readonly listener: (event: WatchEvent) => void,
    private readonly plane: MemoryControlPlane,
    startRevision: number,
  ) {
    this.lastRevision = startRevision - 1;
  }

  push(event: WatchEvent): void {
    // Several events may share a revision (a lease's keys all go in one); none goes back.
    if (this.closed || event.revision < this.lastRevision) return;
    this.lastRevision = event.revision;
    if (event.type === 'put') this.seen.add(event.key);
    else this.seen.delete(event.key);
    this.queue.push(event);
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  private flush(): void {
    this.scheduled = false;
    const events = this.queue;
    this.queue = [];
    for (const event of events) {
      if (this.closed) return;
      this.listener(event);
    }
  }

  close(): void {
    this.closed = true;
    this.queue = [];
    this.plane.dropWatch(this);
  }
}

export class MemoryControlPlane implements ControlPlane {
  private readonly data = new Map<string, Entry>();
  private readonly leases = new Map<string, MemoryLease>();
  private readonly watches = new Set<MemoryWatch>();
  /** Change events in revision order, for watches that start in the past. */
  private history: WatchEvent[] = [];
  /** The oldest revision `history` is complete from (etcd's compact revision). */
  private compactedRevision = 0;
  /** Like a fresh etcd: the store starts at revision 1, the first write makes it 2. */
  private revision = 1;
  private nextLeaseId = 1;
  private closed = false;
  private readonly historyLimit: number;

  private readonly persist: { file: string; prefixes: string[] } | null;

  constructor(options: MemoryControlPlaneOptions = {}) {
    this.historyLimit = options.historyLimit ?? DEFAULT_HISTORY;
    this.persist = options.persist ?? null;
    if (this.persist && existsSync(this.persist.file)) {
      const saved = JSON.parse(readFileSync(this.persist.file, 'utf8')) as unknown;
      if (saved && typeof saved === 'object') {
        for (const [key, value] of Object.entries(saved)) if (typeof value === 'string' && this.durable(key)) this.data.set(key, { value, revision: ++this.revision, lease: null });
      }
    }
  }

  private durable(key: string): boolean {
    return this.persist?.prefixes.some((prefix) => key.startsWith(prefix)) ?? false;
  }

  /** Writes the durable keys out whole (they change rarely: an enrolment, a revocation). */
  private save(): void {
    if (!this.persist) return;
    const out: Record<string, string> = {};
    for (const [key, entry] of this.data) if (!entry.lease && this.durable(key)) out[key] = entry.value;
    mkdirSync(dirname(this.persist.file), { recursive: true, mode: 0o700 });
    const temp = `${this.persist.file}.${process.pid}.tmp`;
    writeFileSync(temp, JSON.stringify(out), { mode: 0o600 });
    renameSync(temp, this.persist.file);
  }

  async grantLease(ttlMs: number, _keepAliveMs: number): Promise<Lease> {
    this.assertOpen();
    const lease = new MemoryLease(String(this.nextLeaseId++), ttlMs, this);
    this.leases.set(lease.id, lease);
    return lease;
  }

  async get(key: string): Promise<KeyValue | null> {
    this.assertOpen();
    const entry = this.data.get(key);
    return entry ? { key, value: entry.value, revision: entry.revision } : null;
  }

  async list(prefix: string): Promise<KeyValue[]> {
    this.assertOpen();
    return this.snapshot(prefix);
  }

  async put(key: string, value: string, options: PutOptions = {}): Promise<number> {
    this.assertOpen();
    return this.write(key, value, this.leaseFor(options));
  }

  async compareAndSwap(key: string, revision: number, value: string, options: PutOptions = {}): Promise<number | null> {
    this.assertOpen();
    const lease = this.leaseFor(options);
    if ((this.data.get(key)?.revision ?? 0) !== revision) return null;
    return this.write(key, value, lease);
  }

  async compareAndDelete(key: string, revision: number): Promise<boolean> {
    this.assertOpen();
    if ((this.data.get(key)?.revision ?? 0) !== revision) return false;
    this.remove(key);
    return true;
  }

  async delete(key: string): Promise<void> {
    this.assertOpen();
    this.remove(key);
  }

  watch(prefix: string, listener: (event: WatchEvent) => void, options: { fromRevision?: number } = {}): Watch {
    this.assertOpen();
    const from = options.fromRevision ?? this.revision + 1;
    const watch = new MemoryWatch(prefix, listener, this, from);
    if (from < this.compactedRevision) {
      // The history asked for is gone: report the current state of what changed since
      // (see resync in etcd.ts — the same behaviour), then carry on live.
      for (const kv of this.snapshot(prefix).filter((kv) => kv.revision >= from).sort((a, b) => a.revision - b.revision)) {
        watch.push({ type: 'put', key: kv.key, value: kv.value, revision: kv.revision });
      }
    } else {
      for (const event of this.history) {
        if (event.revision >= from && event.key.startsWith(prefix)) watch.push(event);
      }
    }
    this.watches.add(watch);
    return watch;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const watch of [...this.watches]) watch.close();
    for (const lease of this.leases.values()) lease.abandon();
    this.leases.clear();
  }

  /** Test hook: the lease lapses as if its holder had stopped keeping it alive. */
  expireLease(lease: Lease | string): void {
    const id = typeof lease === 'string' ? lease : lease.id;
    this.leases.get(id)?.lose();
  }

  /** Forgets history before `revision`: watches from before it resync from the current state. */
  compact(revision: number): void {
    this.compactedRevision = Math.max(this.compactedRevision, Math.min(revision, this.revision));
    this.history = this.history.filter((event) => event.revision >= this.compactedRevision);
  }

  /** Called by a lease that ended: its keys all go in one revision, as in etcd. */
  endLease(lease: MemoryLease): void {
    this.leases.delete(lease.id);
    const keys = [...lease.keys].filter((key) => this.data.has(key));
    if (keys.length === 0) return;
    const revision = ++this.revision;
    for (const key of keys) this.remove(key, revision);
  }

  dropWatch(watch: MemoryWatch): void {
    this.watches.delete(watch);
  }

  private snapshot(prefix: string): KeyValue[] {
    const result: KeyValue[] = [];
    for (const [key, entry] of this.data) {
      if (key.startsWith(prefix)) result.push({ key, value: entry.value, revision: entry.revision });
    }
    // etcd orders keys by their bytes; UTF-16 comparison differs above U+D7FF.
    return result.sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
  }

  private leaseFor(options: PutOptions): MemoryLease | null {
    if (!options.lease) return null;
    const lease = this.leases.get(options.lease.id);
    if (!lease?.alive) throw new Error(`lease ${options.lease.id} not found`);
    return lease;
  }

  private write(key: string, value: string, lease: MemoryLease | null): number {
    const revision = ++this.revision;
    this.data.get(key)?.lease?.keys.delete(key);
    this.data.set(key, { value, revision, lease });
    lease?.keys.add(key);
    if (!lease && this.durable(key)) this.save();
    this.record({ type: 'put', key, value, revision });
    return revision;
  }

  private remove(key: string, revision?: number): void {
    const entry = this.data.get(key);
    if (!entry) return; // like etcd: deleting nothing does not bump the revision
    revision ??= ++this.revision;
    entry.lease?.keys.delete(key);
    this.data.delete(key);
    if (this.durable(key)) this.save();
    this.record({ type: 'delete', key, revision });
  }

  private record(event: WatchEvent): void {
    this.history.push(event);
    if (this.history.length > this.historyLimit) {
      const lastDropped = this.history[this.history.length - this.historyLimit - 1]?.revision ?? 0;
      this.compact(lastDropped + 1);
    }
    for (const watch of this.watches) {
      if (event.key.startsWith(watch.prefix)) watch.push(event);
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('control plane closed');
  }
}
