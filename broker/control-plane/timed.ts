// A control plane that reports how long each call took (and which failed) to the
// node's metrics; otherwise it is the plane it wraps. Leases and watches pass through.
import type { ControlPlane, KeyValue, Lease, PutOptions, Watch, WatchEvent } from './types.js';

export interface CallObserver {
  observe(op: string, seconds: number, ok: boolean): void;
}

export class TimedControlPlane implements ControlPlane {
  constructor(
    private readonly inner: ControlPlane,
    private readonly observer: CallObserver,
  ) {}

  private async time<T>(op: string, call: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      const result = await call();
      this.observer.observe(op, (performance.now() - started) / 1000, true);
      return result;
    } catch (error) {
      this.observer.observe(op, (performance.now() - started) / 1000, false);
      throw error;
    }
  }

  grantLease(ttlMs: number, keepAliveMs: number): Promise<Lease> {
    return this.time('grant_lease', () => this.inner.grantLease(ttlMs, keepAliveMs));
  }
  get(key: string): Promise<KeyValue | null> {
    return this.time('get', () => this.inner.get(key));
  }
  list(prefix: string): Promise<KeyValue[]> {
    return this.time('list', () => this.inner.list(prefix));
  }
  put(key: string, value: string, options?: PutOptions): Promise<number> {
    return this.time('put', () => this.inner.put(key, value, options));
  }
  compareAndSwap(key: string, revision: number, value: string, options?: PutOptions): Promise<number | null> {
    return this.time('compare_and_swap', () => this.inner.compareAndSwap(key, revision, value, options));
  }
  compareAndDelete(key: string, revision: number): Promise<boolean> {
    return this.time('compare_and_delete', () => this.inner.compareAndDelete(key, revision));
  }
  delete(key: string): Promise<void> {
    return this.time('delete', () => this.inner.delete(key));
  }
  watch(prefix: string, listener: (event: WatchEvent) => void, options?: { fromRevision?: number }): Watch {
    return this.inner.watch(prefix, listener, options);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
