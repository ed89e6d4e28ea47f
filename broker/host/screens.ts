// The host's side of the screen worker: feeds each session's output to its headless
// terminal and asks for snapshots. Output is copied into the worker, so the caller
// keeps its buffer; `backlog(id)` says how far the worker lags, for flow control.
import { Worker } from 'node:worker_threads';

const BATCH_BYTES = 256 * 1024;
const FIRST_BATCH_BYTES = 16 * 1024;
const MAX_SPARE = 8;
const BATCH_MS = 50;

export interface Snapshot {
  data: string;
  cols: number;
  rows: number;
}

type Reply =
  | { op: 'written'; id: string; bytes: number }
  | { op: 'snapshot'; request: number; data: string | null; cols: number; rows: number }
  | { op: 'spare'; memory: ArrayBuffer };

export class Screens {
  private readonly worker: Worker;
  private readonly backlogs = new Map<string, number>();
  private readonly waiting = new Map<number, (snapshot: Snapshot | null) => void>();
  private readonly drained = new Map<string, () => void>();
  private nextRequest = 1;
  private readonly batches = new Map<string, { buffer: Buffer; bytes: number }>();
  /** Batch memory the worker has handed back: reused, so a stream touches no fresh pages. */
  private readonly spare: ArrayBuffer[] = [];
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
      } else if (reply.op === 'spare') {
        if (reply.memory.byteLength === BATCH_BYTES && this.spare.length < MAX_SPARE) this.spare.push(reply.memory);
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
   * per batch; a snapshot flushes the batch first. Each byte is copied once, into the
   * batch, whose memory then moves to the worker.
   */
  write(id: string, data: Uint8Array): void {
    this.backlogs.set(id, (this.backlogs.get(id) ?? 0) + data.byteLength);
    let batch = this.batches.get(id);
    if (!batch) this.batches.set(id, (batch = { buffer: this.batchMemory(FIRST_BATCH_BYTES, data.byteLength), bytes: 0 }));
    else if (batch.bytes + data.byteLength > batch.buffer.byteLength) {
      if (batch.buffer.byteLength >= BATCH_BYTES) {
        this.flush(id);
        this.batches.set(id, (batch = { buffer: this.batchMemory(BATCH_BYTES, data.byteLength), bytes: 0 }));
      } else {
        // Typing needs a few bytes, a stream the full batch: grow as output keeps coming.
        const grown = this.batchMemory(BATCH_BYTES, batch.bytes + data.byteLength);
        batch.buffer.copy(grown, 0, 0, batch.bytes);
        batch.buffer = grown;
      }
    }
    batch.buffer.set(data, batch.bytes);
    batch.bytes += data.byteLength;
    if (batch.bytes >= BATCH_BYTES) this.flush(id);
    else this.flushTimer ??= setTimeout(() => this.flushAll(), BATCH_MS);
  }

  /** A spare batch if there is one (they are BATCH_BYTES), else fresh memory of at least `size`. */
  private batchMemory(size: number, needed: number): Buffer {
    const memory = needed <= BATCH_BYTES ? this.spare.pop() : undefined;
    return memory ? Buffer.from(memory) : Buffer.allocUnsafeSlow(Math.max(size, needed));
  }

  private flush(id: string): void {
    const batch = this.batches.get(id);
    if (!batch) return;
    this.batches.delete(id);
    const memory = batch.buffer.buffer as ArrayBuffer;
    this.worker.postMessage({ op: 'write', id, data: memory, bytes: batch.bytes }, [memory]);
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
    return (await this.ask('hash', id))?.data ?? null;
  }

  /** The visible rows as text (each without its trailing blanks, joined by "\n"), after every byte written so far: a thumbnail. */
  text(id: string): Promise<Snapshot | null> {
    return this.ask('text', id);
  }

  private ask(op: 'hash' | 'text', id: string): Promise<Snapshot | null> {
    this.flush(id);
    const request = this.nextRequest++;
    return new Promise((resolve) => {
      this.waiting.set(request, resolve);
      this.worker.postMessage({ op, id, request });
    });
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
