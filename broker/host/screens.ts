// The host's side of the screen worker: feeds each session's output to its headless
// terminal and asks for snapshots. Output is copied into the worker, so the caller
// keeps its buffer; `backlog(id)` says how far the worker lags, for flow control.
import { Worker } from 'node:worker_threads';

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

  write(id: string, data: Uint8Array): void {
    // A copy the worker can own (a Node Buffer's slice() would share, then detach, its pool).
    const copy = new Uint8Array(data).buffer;
    this.backlogs.set(id, (this.backlogs.get(id) ?? 0) + data.byteLength);
    this.worker.postMessage({ op: 'write', id, data: copy }, [copy]);
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
    const request = this.nextRequest++;
    return new Promise((resolve) => {
      this.waiting.set(request, resolve);
      this.worker.postMessage({ op: 'snapshot', id, request, scrollback: this.scrollback });
    });
  }

  close(id: string): void {
    this.backlogs.delete(id);
    this.drained.delete(id);
    this.worker.postMessage({ op: 'close', id });
  }

  async stop(): Promise<void> {
    await this.worker.terminate();
  }
}
