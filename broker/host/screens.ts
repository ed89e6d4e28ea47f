// The host's side of the screen worker: feeds each session's output to its headless
// terminal and asks for snapshots. Output is copied into the worker, so the caller
// keeps its buffer; `backlog(id)` says how far the worker lags, for flow control.
import { Worker } from 'node:worker_threads';

const BATCH_BYTES = 256 * 1024;
const BATCH_MS = 50;

export interface Snapshot {
  data: string;
  cols: number;
  rows: number;
}

type Reply = { op: 'written'; id: string; bytes: number } | { op: 'snapshot'; request: number; data: string | null; cols: number; rows: number };

export class Screens {
  private readonly worker: Worker;
  private readonly backlogs = new Map<string, number>();
  private readonly waiting = new Map<number, (snapshot: Snapshot | null) => void>();
  private readonly drained = new Map<string, () => void>();
  private nextRequest = 1;
  private readonly batches = new Map<string, { chunks: Uint8Array[]; bytes: number }>();
  private flushTimer: NodeJS.Timeout | undefined;

  constructor(private readonly scrollback = 1000) {
    this.worker = new Worker(new URL('./screen-worker.mjs', import.meta.url));
    this.worker.unref();
    // Without the worker there are no snapshots, but sessions keep streaming.
    this.worker.on('error', (error) => {
      process.stderr.write(`holdfast: screen worker failed: ${error.message}\n`);
      for (const resolve of this.waiting.values()) resolve(null);
      this.waiting.clear();
    });
    this.worker.on('message', (reply: Reply) => {
      if (reply.op === 'written') {
        const left = (this.backlogs.get(reply.id) ?? 0) - reply.bytes;
        this.backlogs.set(reply.id, Math.max(0, left));
        this.drained.get(reply.id)?.();
      } else {
        const resolve = this.waiting.get(reply.request);
        this.waiting.delete(reply.request);
        resolve?.(reply.data === null ? null : { data: reply.data, cols: reply.cols, rows: reply.rows });
      }
    });
  }

  open(id: string, cols: number, rows: number): void {
    this.backlogs.set(id, 0);
    this.worker.postMessage({ op: 'open', id, cols, rows, scrollback: this.scrollback });
  }

  /**
   * Queues output for the session's screen. Output is batched (up to 256 KiB, or
   * 50 ms) so the worker is off the keystroke path and bulk output costs one message
   * per batch; a snapshot flushes the batch first.
   */
  write(id: string, data: Uint8Array): void {
    this.backlogs.set(id, (this.backlogs.get(id) ?? 0) + data.byteLength);
    let batch = this.batches.get(id);
    if (!batch) this.batches.set(id, (batch = { chunks: [], bytes: 0 }));
    // Copy now: the caller's buffer may be reused.
    batch.chunks.push(new Uint8Array(data));
    batch.bytes += data.byteLength;
    if (batch.bytes >= BATCH_BYTES) this.flush(id);
    else this.flushTimer ??= setTimeout(() => this.flushAll(), BATCH_MS);
  }

  private flush(id: string): void {
    const batch = this.batches.get(id);
    if (!batch || batch.bytes === 0) return;
    this.batches.delete(id);
    const joined = new Uint8Array(batch.bytes);
    let at = 0;
    for (const chunk of batch.chunks) {
      joined.set(chunk, at);
      at += chunk.byteLength;
    }
    this.worker.postMessage({ op: 'write', id, data: joined.buffer }, [joined.buffer]);
  }

  private flushAll(): void {
    this.flushTimer = undefined;
    for (const id of [...this.batches.keys()]) this.flush(id);
  }

  backlog(id: string): number {
    return this.backlogs.get(id) ?? 0;
  }

  /** Called whenever the worker catches up on some of this session's output. */
  onProgress(id: string, listener: () => void): void {
    this.drained.set(id, listener);
  }

  resize(id: string, cols: number, rows: number): void {
    this.worker.postMessage({ op: 'resize', id, cols, rows });
  }

  /** The screen after every byte written so far: what a resuming client is shown. */
  snapshot(id: string): Promise<Snapshot | null> {
    this.flush(id);
    const request = this.nextRequest++;
    return new Promise((resolve) => {
      this.waiting.set(request, resolve);
      this.worker.postMessage({ op: 'snapshot', id, request, scrollback: this.scrollback });
    });
  }

  /** A hash of the visible screen and cursor after every byte written so far (replicas compare these). */
  async hash(id: string): Promise<string | null> {
    this.flush(id);
    const request = this.nextRequest++;
    const reply = await new Promise<Snapshot | null>((resolve) => {
      this.waiting.set(request, resolve);
      this.worker.postMessage({ op: 'hash', id, request });
    });
    return reply?.data ?? null;
  }

  close(id: string): void {
    this.batches.delete(id);
    this.backlogs.delete(id);
    this.drained.delete(id);
    this.worker.postMessage({ op: 'close', id });
  }

  async stop(): Promise<void> {
    clearTimeout(this.flushTimer);
    await this.worker.terminate();
  }
}
