// Part 13's transfers through Holdfast (files.ts): an upload through the real HTTP
// upload API with the shared client's resumableUpload (docs/protocol.md#uploads, Node's
// fetch), and a download of the file back (GET …/files/content, node:http), each timed
// whole and its SHA-256 checked against the bytes sent. The CPU the nodes and this
// process spend on each is measured alongside (/proc schedstat). An upload can also run
// in a worker thread (uploadInWorker): while keystrokes are timed on the main thread, the
// upload's client must not hold their event loop, as a browser's fetch does not.
import { createHash } from 'node:crypto';
import { get } from 'node:http';
import { setPriority } from 'node:os';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { resumableUpload, type FetchLike } from '../shared/core/resumable-upload.js';
import { cpuSeconds } from './proc.js';
import { nowNs, withTimeout } from './timing.js';

export interface Transfer {
  bytes: number;
  seconds: number;
  MBs: number;
  /** The SHA-256 of what arrived (the upload's final answer; the download's bytes) is the sender's. */
  shaOk: boolean;
  /** CPU seconds during the transfer, by process (the nodes', the floor server's, this bench's). */
  cpu: Record<string, number>;
}

export const sha256 = (chunks: Iterable<Uint8Array>) => {
  const h = createHash('sha256');
  for (const c of chunks) h.update(c);
  return h.digest('hex');
};

/**
 * The same, letting other I/O run every 4 MiB: on a busy machine hashing 200 MiB at
 * once can hold this process longer than a node waits for the sessions' pongs.
 */
export async function sha256Async(chunks: Iterable<Uint8Array>): Promise<string> {
  const h = createHash('sha256');
  let since = 0;
  for (const c of chunks) {
    h.update(c);
    since += c.length;
    if (since >= 4 * 1024 * 1024) {
      since = 0;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
  return h.digest('hex');
}

/** CPU seconds of these processes from now on (this bench's too, as `bench`). */
export function cpuOf(pids: Record<string, number>): { stop(): Record<string, number> } {
  const all = { ...pids, bench: process.pid };
  const start = Object.fromEntries(Object.entries(all).map(([k, pid]) => [k, cpuSeconds([pid]).total]));
  return {
    stop: () => Object.fromEntries(Object.entries(all).map(([k, pid]) => [k, Math.round((cpuSeconds([pid]).total - start[k]!) * 100) / 100])),
  };
}

export const rate = (bytes: number, seconds: number) => Math.round((bytes / 2 ** 20 / seconds) * 10) / 10;

export interface UploadDone extends Transfer {
  /** Where the session put it (relative to the home). */
  path: string;
  /** PATCH requests sent. */
  pieces: number;
}

/** What an upload reads its pieces from (a Buffer is one). */
export interface Bytes {
  readonly length: number;
  subarray(start: number, end: number): Uint8Array;
}

/** Uploads `data` to `path` in the session, through `url`'s node; resolves once the session answers done. */
export async function upload(url: string, token: string, sessionId: string, path: string, data: Bytes, expectedSha: string, pids: Record<string, number>): Promise<UploadDone> {
  let pieces = 0;
  const cpu = cpuOf(pids);
  const t0 = nowNs();
  const state = await withTimeout(
    resumableUpload({
      baseUrl: url,
      sessionId,
      path,
      source: {
        size: data.length,
        read: async (offset, length) => {
          pieces += 1;
          return data.subarray(offset, offset + length);
        },
      },
      headers: () => ({ authorization: `Bearer ${token}` }),
      fetch: fetch as unknown as FetchLike,
      retryForMs: 20_000,
    }),
    300_000,
    `the upload of ${path}`,
  );
  const seconds = Number(nowNs() - t0) / 1e9;
  if (state.status !== 'done') throw new Error(`the upload ended ${state.status}: ${state.error ?? ''}`);
  return { bytes: state.offset, seconds: Math.round(seconds * 1000) / 1000, MBs: rate(state.offset, seconds), shaOk: state.sha256 === expectedSha && state.offset === data.length, cpu: cpu.stop(), path: state.path, pieces };
}

/** Downloads `path` from the session through `url`'s node; the bytes are kept and hashed after the clock stops. */
export function download(url: string, token: string, sessionId: string, path: string, expectedSha: string, expectedBytes: number, pids: Record<string, number>): Promise<Transfer> {
  const target = `${url}/api/sessions/${encodeURIComponent(sessionId)}/files/content?path=${encodeURIComponent(path)}`;
  return getTimed(target, { authorization: `Bearer ${token}` }, expectedSha, expectedBytes, pids, `the download of ${path}`);
}

/** GETs `target` with node:http, timed from the ask to the last byte; the bytes are kept and hashed after the clock stops. */
export async function getTimed(target: string, headers: Record<string, string>, expectedSha: string, expectedBytes: number, pids: Record<string, number>, what: string): Promise<Transfer> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  const cpu = cpuOf(pids);
  const t0 = nowNs();
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      const request = get(target, { headers }, (response) => {
        if (response.statusCode !== 200) {
          let body = '';
          response.on('data', (d: Buffer) => (body += d.toString()));
          response.on('end', () => reject(new Error(`${what}: HTTP ${response.statusCode}: ${body.slice(0, 200)}`)));
          return;
        }
        response.on('data', (d: Buffer) => {
          bytes += d.length;
          chunks.push(d);
        });
        response.on('end', resolve);
        response.on('error', reject);
      });
      request.on('error', reject);
    }),
    300_000,
    what,
  );
  const seconds = Number(nowNs() - t0) / 1e9;
  const used = cpu.stop();
  return { bytes, seconds: Math.round(seconds * 1000) / 1000, MBs: rate(bytes, seconds), shaOk: bytes === expectedBytes && (await sha256Async(chunks)) === expectedSha, cpu: used };
}

const WORKER = 'holdfast-bench-files-upload';
interface WorkerArgs {
  kind: typeof WORKER;
  url: string;
  token: string;
  sessionId: string;
  path: string;
  shared: SharedArrayBuffer;
  expectedSha: string;
  pids: Record<string, number>;
}

/**
 * The same upload in a worker thread: `shared` holds the bytes (the worker copies each
 * piece out of it, as fetch takes no shared memory). This module is the worker's code.
 */
export function uploadInWorker(args: Omit<WorkerArgs, 'kind'>): Promise<UploadDone> {
  const worker = new Worker(new URL(import.meta.url), { workerData: { ...args, kind: WORKER } satisfies WorkerArgs });
  return new Promise<UploadDone>((resolve, reject) => {
    worker.once('message', (m: { done?: UploadDone; error?: string }) => (m.done ? resolve(m.done) : reject(new Error(m.error))));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the upload worker exited (${code}) without an answer`)));
  }).finally(() => void worker.terminate());
}

if (!isMainThread && (workerData as Partial<WorkerArgs> | null)?.kind === WORKER) {
  const w = workerData as WorkerArgs;
  // The person's client runs on their own machine, not on the nodes' two cores: here it takes only the CPU they leave.
  setPriority(19);
  const view = new Uint8Array(w.shared);
  const copy: Bytes = { length: view.length, subarray: (start, end) => Buffer.from(view.subarray(start, end)) };
  upload(w.url, w.token, w.sessionId, w.path, copy, w.expectedSha, w.pids).then(
    (done) => parentPort!.postMessage({ done }),
    (error: unknown) => parentPort!.postMessage({ error: error instanceof Error ? error.message : String(error) }),
  );
}
