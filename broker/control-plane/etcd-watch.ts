// One etcd watch over a key prefix, streamed from the JSON gateway and re-attached on the
// next endpoint whenever the stream ends or fails. Invariant: the listener sees each change
// once, in revision order, never going back — resuming from the last revision delivered.
import { parseJson, prefixRange, sleep, unb64, WatchMessage, type WatchResult } from './etcd-wire.js';
import type { KeyValue, Watch, WatchEvent } from './types.js';

/**
 * What a watch needs of the control plane that made it. Declared here, not taken from
 * EtcdControlPlane, so the watch does not import the plane back (no cycle).
 */
export interface WatchSource {
  /** How long a watch stream may take to be created before the endpoint is passed over. */
  readonly requestTimeoutMs: number;
  /** Index of the endpoint that last answered: where a watch starts. */
  readonly preferredEndpoint: number;
  /** The endpoint at `index`, wrapped around the list. */
  endpointAt(index: number): { index: number; url: string };
  /** Every key under `prefix` and the store revision they were read at (after a compaction). */
  range(prefix: string): Promise<{ kvs: KeyValue[]; revision: number }>;
  /** The watch is closed: the source stops tracking it. */
  dropWatch(watch: EtcdWatch): void;
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
export class EtcdWatch implements Watch {
  readonly ready: Promise<void>;
  private resolveReady!: () => void;
  private readonly abort = new AbortController();
  /** Last revision delivered; undefined until a "from now" watch learns where now is. */
  private lastRevision: number | undefined;
  /** Keys seen put and not deleted, to report deletions after a compaction. */
  private readonly seen = new Set<string>();

  constructor(
    private readonly source: WatchSource,
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
    this.source.dropWatch(this);
  }

  private get closed(): boolean {
    return this.abort.signal.aborted;
  }

  private async run(): Promise<void> {
    let endpoint = this.source.preferredEndpoint;
    let failures = 0;
    while (!this.closed) {
      let outcome: 'ended' | 'compacted' = 'ended';
      try {
        outcome = await this.stream(this.source.endpointAt(endpoint).url, () => (failures = 0));
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
    let connectTimer: NodeJS.Timeout | undefined = setTimeout(stopAttempt, this.source.requestTimeoutMs).unref();
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
    const { kvs, revision } = await this.source.range(this.prefix);
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
