// The control plane for a cluster: etcd v3 through its JSON gRPC gateway, over Node's
// fetch (no client library). Every request has a timeout and moves on to the next
// endpoint when one is down; leases are kept alive on timers and turn invalid by
// themselves when keep-alives stop succeeding; watches re-attach on another endpoint
// from the last revision they delivered, so a listener sees every change once, in order.
// The wire format is etcd-wire.ts; leases are etcd-lease.ts and watches etcd-watch.ts.
import { z } from 'zod';
import { EtcdLease } from './etcd-lease.js';
import { EtcdWatch } from './etcd-watch.js';
import {
  b64,
  ErrorResponse,
  EtcdError,
  GrantResponse,
  HeaderResponse,
  KeepAliveResponse,
  modRevisionIs,
  parseJson,
  prefixRange,
  putRequest,
  RangeResponse,
  requireRevision,
  sleep,
  toKeyValue,
  TxnResponse,
} from './etcd-wire.js';
import { ControlPlaneUnavailable, type ControlPlane, type KeyValue, type Lease, type PutOptions, type Watch, type WatchEvent } from './types.js';

export { EtcdError } from './etcd-wire.js';

export interface EtcdControlPlaneOptions {
  /** Client URLs such as http://127.0.0.1:2379. */
  endpoints: string[];
  /** Per request and endpoint (and for a watch to be created). Default 1000 ms. */
  requestTimeoutMs?: number;
}

export class EtcdControlPlane implements ControlPlane {
  private readonly endpoints: string[];
  readonly requestTimeoutMs: number;
  /** Index of the endpoint that last answered: the first one tried next time. */
  private current = 0;
  private readonly leases = new Set<EtcdLease>();
  private readonly watches = new Set<EtcdWatch>();
  private readonly closing = new AbortController();

  constructor(options: EtcdControlPlaneOptions) {
    if (options.endpoints.length === 0) throw new Error('etcd: at least one endpoint is required');
    this.endpoints = options.endpoints.map((url) => url.replace(/\/+$/, ''));
    this.requestTimeoutMs = options.requestTimeoutMs ?? 1000;
  }

  async grantLease(ttlMs: number, keepAliveMs: number): Promise<Lease> {
    const sentAt = performance.now();
    const ttlSeconds = Math.max(1, Math.ceil(ttlMs / 1000));
    const granted = await this.call('/v3/lease/grant', { TTL: String(ttlSeconds) }, GrantResponse);
    if (granted.error) throw new EtcdError(`etcd: lease grant refused: ${granted.error}`, 200);
    // etcd may raise a TTL to its minimum (1.5 election timeouts, rounded up to a second).
    const lease = new EtcdLease(this, granted.ID, granted.TTL * 1000, keepAliveMs, sentAt);
    this.leases.add(lease);
    return lease;
  }

  async get(key: string): Promise<KeyValue | null> {
    const response = await this.call('/v3/kv/range', { key: b64(key) }, RangeResponse);
    const kv = response.kvs?.[0];
    return kv ? toKeyValue(kv) : null;
  }

  async list(prefix: string): Promise<KeyValue[]> {
    return (await this.range(prefix)).kvs;
  }

  async put(key: string, value: string, options: PutOptions = {}): Promise<number> {
    const response = await this.call('/v3/kv/put', putRequest(key, value, options), HeaderResponse);
    return requireRevision(response.header);
  }

  async compareAndSwap(key: string, revision: number, value: string, options: PutOptions = {}): Promise<number | null> {
    // A missing key compares as mod_revision 0, so revision 0 means "create if absent".
    const response = await this.call(
      '/v3/kv/txn',
      { compare: [modRevisionIs(key, revision)], success: [{ request_put: putRequest(key, value, options) }] },
      TxnResponse,
    );
    return response.succeeded ? requireRevision(response.header) : null;
  }

  async compareAndDelete(key: string, revision: number): Promise<boolean> {
    const response = await this.call(
      '/v3/kv/txn',
      { compare: [modRevisionIs(key, revision)], success: [{ request_delete_range: { key: b64(key) } }] },
      TxnResponse,
    );
    return response.succeeded === true;
  }

  async delete(key: string): Promise<void> {
    await this.call('/v3/kv/deleterange', { key: b64(key) }, HeaderResponse);
  }

  watch(prefix: string, listener: (event: WatchEvent) => void, options: { fromRevision?: number } = {}): Watch {
    if (this.closing.signal.aborted) throw new Error('control plane closed');
    const watch = new EtcdWatch(this, prefix, listener, options.fromRevision);
    this.watches.add(watch);
    return watch;
  }

  /** Stops keep-alives and watches. Leases are not revoked: they lapse after their TTL. */
  async close(): Promise<void> {
    for (const lease of this.leases) lease.stop();
    this.leases.clear();
    for (const watch of [...this.watches]) watch.close();
    this.closing.abort();
  }

  /**
   * Test hook: stops keep-alives for `lease` without revoking it, so it lapses on the
   * server after its TTL; valid() turns false and onLost fires once the TTL has passed.
   */
  suspendKeepAlive(lease: Lease): void {
    for (const held of this.leases) if (held.id === lease.id) held.suspend();
  }

  // --- internals shared with leases (LeaseKeeper) and watches (WatchSource) ---

  /** Every key under `prefix` and the store revision they were read at. */
  async range(prefix: string): Promise<{ kvs: KeyValue[]; revision: number }> {
    const response = await this.call('/v3/kv/range', prefixRange(prefix), RangeResponse);
    return { kvs: (response.kvs ?? []).map(toKeyValue), revision: requireRevision(response.header) };
  }

  /** One keep-alive; resolves with the TTL etcd granted (0: the lease is gone). */
  async keepAliveOnce(id: string): Promise<number> {
    const response = await this.call('/v3/lease/keepalive', { ID: id }, KeepAliveResponse, true);
    return response.result.TTL ?? 0;
  }

  async revokeLease(id: string): Promise<void> {
    try {
      await this.call('/v3/lease/revoke', { ID: id }, z.unknown());
    } catch (error) {
      if (!(error instanceof EtcdError && error.status === 404)) throw error; // already gone
    }
  }

  dropLease(lease: EtcdLease): void {
    this.leases.delete(lease);
  }

  dropWatch(watch: EtcdWatch): void {
    this.watches.delete(watch);
  }

  endpointAt(index: number): { index: number; url: string } {
    const i = ((index % this.endpoints.length) + this.endpoints.length) % this.endpoints.length;
    return { index: i, url: this.endpoints[i]! };
  }

  get preferredEndpoint(): number {
    return this.current;
  }

  get closed(): AbortSignal {
    return this.closing.signal;
  }

  /**
   * POSTs `body` to `path`, trying each endpoint once from the last good one. A network
   * error, a timeout or a 5xx (e.g. no leader during an election) moves on to the next;
   * a 4xx is etcd's answer and is thrown as EtcdError. While some endpoint answers 5xx
   * the round is repeated, with a short pause, for up to one request timeout more.
   * Note a write that timed out may still have been applied: a retried CAS then reports
   * failure, and the caller re-reads (as it must after any failed CAS).
   */
  private async call<T>(path: string, body: unknown, schema: z.ZodType<T>, stream = false): Promise<T> {
    if (this.closing.signal.aborted) throw new Error('control plane closed');
    const deadline = performance.now() + this.requestTimeoutMs;
    const failures: string[] = [];
    for (let round = 0; ; round++) {
      let serverTrouble = false;
      failures.length = 0;
      for (let i = 0; i < this.endpoints.length; i++) {
        const endpoint = this.endpointAt(this.current + i);
        let response: Response;
        let text: string;
        try {
          response = await fetch(endpoint.url + path, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(body),
            signal: AbortSignal.any([AbortSignal.timeout(this.requestTimeoutMs), this.closing.signal]),
          });
          text = await response.text();
        } catch (error) {
          if (this.closing.signal.aborted) throw new Error('control plane closed', { cause: error });
          failures.push(`${endpoint.url}: ${describeFetchError(error)}`);
          continue;
        }
        const json = parseJson(stream ? (text.split('\n').find((line) => line.trim() !== '') ?? '') : text);
        if (!response.ok) {
          const detail = ErrorResponse.safeParse(json);
          const message = (detail.success ? (detail.data.message ?? detail.data.error) : undefined) ?? `HTTP ${response.status}`;
          if (response.status < 500) throw new EtcdError(`etcd ${path}: ${message}`, response.status);
          failures.push(`${endpoint.url}: ${message}`);
          serverTrouble = true;
          continue;
        }
        this.current = endpoint.index;
        return schema.parse(json);
      }
      if (!serverTrouble || performance.now() >= deadline) break;
      await sleep(Math.min(50 * 2 ** round, 250));
    }
    throw new ControlPlaneUnavailable(`etcd unavailable (tried ${this.endpoints.join(', ')}): ${failures.join('; ')}`);
  }
}

function describeFetchError(error: unknown): string {
  if (error instanceof Error) {
    if (error.name === 'TimeoutError') return 'timed out';
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
    return error.message + cause;
  }
  return String(error);
}
