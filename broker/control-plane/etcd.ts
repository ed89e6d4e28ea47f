// The control plane for a cluster: etcd v3 through its JSON gRPC gateway, over Node's
// fetch (no client library). Every request has a timeout and moves on to the next
// endpoint when one is down; leases are kept alive on timers and turn invalid by
// themselves when keep-alives stop succeeding; watches re-attach on another endpoint
// from the last revision they delivered, so a listener sees every change once, in order.
import { z } from 'zod';
import { ControlPlaneUnavailable, type ControlPlane, type KeyValue, type Lease, type PutOptions, type Watch, type WatchEvent } from './types.js';

export interface EtcdControlPlaneOptions {
  /** Client URLs such as http://127.0.0.1:2379. */
  endpoints: string[];
  /** Per request and endpoint (and for a watch to be created). Default 1000 ms. */
  requestTimeoutMs?: number;
}

// --- wire format: proto3 JSON; int64 as strings, bytes as base64, defaults omitted ---

const int64 = z.union([z.string(), z.number()]).transform((v) => Number(v));
const Header = z.object({ revision: int64.optional() });
const Kv = z.object({ key: z.string(), value: z.string().optional(), mod_revision: int64.optional() });
const RangeResponse = z.object({ header: Header, kvs: z.array(Kv).optional() });
const HeaderResponse = z.object({ header: Header });
const TxnResponse = z.object({ header: Header, succeeded: z.boolean().optional() });
const GrantResponse = z.object({ ID: z.string(), TTL: int64, error: z.string().optional() });
const KeepAliveResponse = z.object({ result: z.object({ ID: z.string().optional(), TTL: int64.optional() }) });
const ErrorResponse = z.object({ message: z.string().optional(), error: z.string().optional(), code: z.number().optional() });
const WatchMessage = z.object({
  result: z
    .object({
      header: Header.optional(),
      created: z.boolean().optional(),
      canceled: z.boolean().optional(),
      compact_revision: int64.optional(),
      cancel_reason: z.string().optional(),
      events: z.array(z.object({ type: z.enum(['PUT', 'DELETE']).optional(), kv: Kv })).optional(),
    })
    .optional(),
  error: z.object({ message: z.string().optional(), http_code: z.number().optional() }).optional(),
});
type WatchResult = NonNullable<z.infer<typeof WatchMessage>['result']>;

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
const unb64 = (data: string | undefined): string => Buffer.from(data ?? '', 'base64').toString('utf8');

/** [key, range_end] covering every key that starts with `prefix` (etcd's WithPrefix). */
function prefixRange(prefix: string): { key: string; range_end: string } {
  const bytes = Buffer.from(prefix, 'utf8');
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i]! < 0xff) {
      const end = Buffer.from(bytes.subarray(0, i + 1));
      end[i] = end[i]! + 1;
      return { key: bytes.toString('base64'), range_end: end.toString('base64') };
    }
  }
  // Empty (or all-0xff) prefix: everything from the key on.
  return { key: bytes.length ? bytes.toString('base64') : b64('\0'), range_end: b64('\0') };
}

/** An answer from etcd that is not worth retrying elsewhere (bad request, lease not found). */
export class EtcdError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'EtcdError';
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms).unref());

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

  // --- internals shared with leases and watches ---

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

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
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

function toKeyValue(kv: z.infer<typeof Kv>): KeyValue {
  return { key: unb64(kv.key), value: unb64(kv.value), revision: kv.mod_revision ?? 0 };
}

function requireRevision(header: z.infer<typeof Header>): number {
  if (header.revision === undefined) throw new Error('etcd: response without a revision');
  return header.revision;
}

function putRequest(key: string, value: string, options: PutOptions): Record<string, string> {
  return { key: b64(key), value: b64(value), ...(options.lease ? { lease: options.lease.id } : {}) };
}

function modRevisionIs(key: string, revision: number): Record<string, string> {
  return { key: b64(key), target: 'MOD', result: 'EQUAL', mod_revision: String(revision) };
}

class EtcdLease implements Lease {
  private state: 'alive' | 'lost' | 'ended' = 'alive';
  /** When the last successful keep-alive (or the grant) was sent: the TTL runs from there. */
  private lastOk: number;
  private readonly listeners: Array<() => void> = [];
  private readonly keepAliveTimer: NodeJS.Timeout;
  private lapseTimer: NodeJS.Timeout | undefined;
  private inFlight = false;
  private suspended = false;

  constructor(
    private readonly plane: EtcdControlPlane,
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
    await this.plane.revokeLease(this.id);
  }

  suspend(): void {
    this.suspended = true;
  }

  /** No more keep-alives, and no onLost: the holder let go on purpose. */
  stop(): void {
    if (this.state === 'alive') this.state = 'ended';
    this.listeners.length = 0;
    this.clearTimers();
    this.plane.dropLease(this);
  }

  private async keepAlive(): Promise<void> {
    if (this.inFlight || this.suspended || this.state !== 'alive') return;
    this.inFlight = true;
    const sentAt = performance.now();
    try {
      const ttlSeconds = await this.plane.keepAliveOnce(this.id);
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
    this.plane.dropLease(this);
    for (const listener of this.listeners.splice(0)) queueMicrotask(listener);
  }

  private clearTimers(): void {
    clearInterval(this.keepAliveTimer);
    if (this.lapseTimer) clearTimeout(this.lapseTimer);
  }
}

/**
 * One etcd watch, re-created on the next endpoint whenever its stream ends or fails,
 * from the revision after the last one delivered — forever, until close().
 *
 * Compaction: if etcd no longer has the history the watch needs (it was compacted past
 * the revision to resume from), the watch re-lists the prefix instead and reports the
 * difference: a put for every key changed since the last revision delivered (in revision
 * order, with its current value), then a delete (at the listing's revision) for every key
 * this watch had seen put and is gone. Intermediate values are lost, and a key that was
 * created and deleted in the gap is not reported. It then carries on from the listing.
 */
class EtcdWatch implements Watch {
  readonly ready: Promise<void>;
  private resolveReady!: () => void;
  private readonly abort = new AbortController();
  /** Last revision delivered; undefined until a "from now" watch learns where now is. */
  private lastRevision: number | undefined;
  /** Keys seen put and not deleted, to report deletions after a compaction. */
  private readonly seen = new Set<string>();

  constructor(
    private readonly plane: EtcdControlPlane,
    private readonly prefix: string,
    private readonly listener: (event: WatchEvent) => void,
    fromRevision: number | undefined,
  ) {
    this.ready = new Promise((resolve) => (this.resolveReady = resolve));
    this.lastRevision = fromRevision === undefined ? undefined : fromRevision - 1;
    void this.run();
  }

  close(): void {
    this.abort.abort();
    this.resolveReady();
    this.plane.dropWatch(this);
  }

  private get closed(): boolean {
    return this.abort.signal.aborted;
  }

  private async run(): Promise<void> {
    let endpoint = this.plane.preferredEndpoint;
    let failures = 0;
    while (!this.closed) {
      let outcome: 'ended' | 'compacted' = 'ended';
      try {
        outcome = await this.stream(this.plane.endpointAt(endpoint).url, () => (failures = 0));
      } catch {
        // the member went away, timed out, or lost its leader: try the next one
      }
      if (this.closed) return;
      if (outcome === 'compacted') {
        try {
          await this.resync();
          continue;
        } catch {
          // etcd unreachable: back off and retry below
        }
      }
      endpoint++;
      failures++;
      const backoff = Math.min(1000, 25 * 2 ** Math.min(failures, 6));
      await sleep(backoff * (0.5 + Math.random() / 2));
    }
  }

  /** Runs one watch stream until it ends; `onCreated` is called once etcd accepted it. */
  private async stream(url: string, onCreated: () => void): Promise<'ended' | 'compacted'> {
    const attempt = new AbortController();
    const stopAttempt = (): void => attempt.abort();
    this.abort.signal.addEventListener('abort', stopAttempt, { once: true });
    let connectTimer: NodeJS.Timeout | undefined = setTimeout(stopAttempt, this.plane.requestTimeoutMs).unref();
    try {
      const request = {
        create_request: {
          ...prefixRange(this.prefix),
          ...(this.lastRevision !== undefined ? { start_revision: String(this.lastRevision + 1) } : {}),
        },
      };
      const response = await fetch(`${url}/v3/watch`, {
        method: 'POST',
        // Ask the member to end the stream if it loses the leader (clientv3's WithRequireLeader),
        // so a member cut off from the quorum does not leave us watching a frozen store.
        headers: { 'content-type': 'application/json', 'grpc-metadata-hasleader': 'true' },
        body: JSON.stringify(request),
        signal: attempt.signal,
      });
      if (!response.ok || !response.body) throw new Error(`watch: HTTP ${response.status}`);
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffered = '';
      for (;;) {
        const chunk = await reader.read();
        if (chunk.done) return 'ended';
        buffered += decoder.decode(chunk.value, { stream: true });
        for (let newline = buffered.indexOf('\n'); newline >= 0; newline = buffered.indexOf('\n')) {
          const line = buffered.slice(0, newline).trim();
          buffered = buffered.slice(newline + 1);
          if (!line) continue;
          const message = WatchMessage.parse(parseJson(line));
          if (message.error) throw new Error(`watch: ${message.error.message ?? 'error'}`);
          const result = message.result;
          if (!result) continue;
          if (result.created) {
            clearTimeout(connectTimer);
            connectTimer = undefined;
            if (this.lastRevision === undefined) this.lastRevision = result.header?.revision ?? 0;
            onCreated();
            this.resolveReady();
          }
          if (result.canceled) {
            if ((result.compact_revision ?? 0) > 0) return 'compacted';
            throw new Error(`watch canceled: ${result.cancel_reason ?? 'no reason given'}`);
          }
          this.deliver(result);
        }
      }
    } finally {
      clearTimeout(connectTimer);
      this.abort.signal.removeEventListener('abort', stopAttempt);
      attempt.abort();
    }
  }

  private deliver(result: WatchResult): void {
    for (const event of result.events ?? []) {
      const revision = event.kv.mod_revision ?? 0;
      const key = unb64(event.kv.key);
      if (event.type === 'DELETE') this.emit({ type: 'delete', key, revision });
      else this.emit({ type: 'put', key, value: unb64(event.kv.value), revision });
    }
  }

  private async resync(): Promise<void> {
    const { kvs, revision } = await this.plane.range(this.prefix);
    if (this.closed) return;
    const since = this.lastRevision ?? 0;
    const present = new Set(kvs.map((kv) => kv.key));
    for (const kv of kvs.filter((kv) => kv.revision > since).sort((a, b) => a.revision - b.revision)) {
      this.emit({ type: 'put', key: kv.key, value: kv.value, revision: kv.revision });
    }
    for (const key of [...this.seen].filter((key) => !present.has(key)).sort()) {
      this.emit({ type: 'delete', key, revision });
    }
    this.lastRevision = Math.max(this.lastRevision ?? 0, revision);
  }

  private emit(event: WatchEvent): void {
    // Several events may share a revision (a lease's keys all go in one); none goes back.
    if (this.closed || event.revision < (this.lastRevision ?? 0)) return;
    this.lastRevision = event.revision;
    if (event.type === 'put') this.seen.add(event.key);
    else this.seen.delete(event.key);
    try {
      this.listener(event);
    } catch (error) {
      // A listener's bug must not stop the watch; surface it as the memory plane would.
      queueMicrotask(() => {
        throw error;
      });
    }
  }
}
