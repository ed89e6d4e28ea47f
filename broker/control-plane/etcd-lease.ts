// One etcd lease as its holder sees it: kept alive on a timer, and valid only while the
// last successful keep-alive is younger than the TTL — so it turns invalid by itself when
// etcd cannot be reached, even before etcd expires it. onLost fires at most once.
import { EtcdError } from './etcd-wire.js';
import type { Lease } from './types.js';

/**
 * What a lease needs of the control plane that granted it. Declared here, not taken
 * from EtcdControlPlane, so the lease does not import the plane back (no cycle).
 */
export interface LeaseKeeper {
  /** One keep-alive; resolves with the TTL etcd granted in seconds (0: the lease is gone). */
  keepAliveOnce(id: string): Promise<number>;
  revokeLease(id: string): Promise<void>;
  /** The lease is over (ended or lost): the keeper stops tracking it. */
  dropLease(lease: EtcdLease): void;
}

export class EtcdLease implements Lease {
  private state: 'alive' | 'lost' | 'ended' = 'alive';
  /** When the last successful keep-alive (or the grant) was sent: the TTL runs from there. */
  private lastOk: number;
  private readonly listeners: Array<() => void> = [];
  private readonly keepAliveTimer: NodeJS.Timeout;
  private lapseTimer: NodeJS.Timeout | undefined;
  private inFlight = false;
  private suspended = false;

  constructor(
    private readonly keeper: LeaseKeeper,
    readonly id: string,
    readonly ttlMs: number,
    keepAliveMs: number,
    grantedAt: number,
  ) {
    this.lastOk = grantedAt;
    this.keepAliveTimer = setInterval(() => void this.keepAlive(), keepAliveMs).unref();
    this.armLapseCheck();
  }

  valid(): boolean {
    return this.state === 'alive' && performance.now() - this.lastOk < this.ttlMs;
  }

  onLost(listener: () => void): void {
    if (this.state === 'lost') queueMicrotask(listener);
    else if (this.state === 'alive') this.listeners.push(listener);
  }

  async revoke(): Promise<void> {
    if (this.state === 'ended') return;
    this.stop();
    await this.keeper.revokeLease(this.id);
  }

  suspend(): void {
    this.suspended = true;
  }

  /** No more keep-alives, and no onLost: the holder let go on purpose. */
  stop(): void {
    if (this.state === 'alive') this.state = 'ended';
    this.listeners.length = 0;
    this.clearTimers();
    this.keeper.dropLease(this);
  }

  private async keepAlive(): Promise<void> {
    if (this.inFlight || this.suspended || this.state !== 'alive') return;
    this.inFlight = true;
    const sentAt = performance.now();
    try {
      const ttlSeconds = await this.keeper.keepAliveOnce(this.id);
      if (this.state !== 'alive') return;
      if (ttlSeconds <= 0) return this.lose();
      this.lastOk = Math.max(this.lastOk, sentAt);
      this.armLapseCheck();
    } catch (error) {
      if (error instanceof EtcdError && error.status === 404) this.lose();
      // Otherwise etcd is unreachable for now: the lapse check decides when it is too late.
    } finally {
      this.inFlight = false;
    }
  }

  private armLapseCheck(): void {
    if (this.lapseTimer) clearTimeout(this.lapseTimer);
    const remaining = this.lastOk + this.ttlMs - performance.now();
    this.lapseTimer = setTimeout(() => {
      if (this.state !== 'alive') return;
      if (performance.now() - this.lastOk >= this.ttlMs) this.lose();
      else this.armLapseCheck();
    }, Math.max(0, remaining) + 1).unref();
  }

  private lose(): void {
    if (this.state !== 'alive') return;
    this.state = 'lost';
    this.clearTimers();
    this.keeper.dropLease(this);
    for (const listener of this.listeners.splice(0)) queueMicrotask(listener);
  }

  private clearTimers(): void {
    clearInterval(this.keepAliveTimer);
    if (this.lapseTimer) clearTimeout(this.lapseTimer);
  }
}
