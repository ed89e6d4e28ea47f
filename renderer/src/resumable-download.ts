// A download that survives a dropped network: it keeps what arrived and asks for the
// rest (Range: bytes=N-) on condition that the file is still the one it started
// (If-Range: <its ETag>). The server answers 206 with the rest, or 200 with the whole
// file if it changed — then the download starts over. After a failover the new primary's
// copy has another ETag but the same bytes: the request also proves what arrived
// (Holdfast-Resume: N <SHA-256 of it>), and the node sends the rest if its head matches. No React and no DOM here beyond
// fetch, streams and Blob, so a unit test drives it with a fake fetch.

import { sha256 } from '@noble/hashes/sha256';

export interface DownloadProgress {
  /** Bytes received so far (of the current copy: a start-over goes back to 0). */
  received: number;
  /** The file's size, once the server said it (Content-Length / Content-Range). */
  total: number | null;
  /** Over the last few seconds; null until there is enough to say. */
  bytesPerSecond: number | null;
  /** At the current speed; null when the size or the speed is unknown. */
  secondsLeft: number | null;
  /** Set while the download waits to try again after a drop: what went wrong, in words. */
  retrying: string | null;
  /** How often it resumed after a drop, and how often it had to start over (the file changed). */
  resumes: number;
  restarts: number;
}

export interface DownloadResult {
  blob: Blob;
  size: number;
  /** The validator the bytes were read under (null if the server gave none). */
  etag: string | null;
}

/** The server refused: not worth trying again (403, 404, 413, …). `message` is for people. */
export class DownloadRefused extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | null,
  ) {
    super(message);
    this.name = 'DownloadRefused';
  }
}

/** The network kept failing: `attempts` tries in a row brought nothing. */
export class DownloadFailed extends Error {
  constructor(
    message: string,
    readonly attempts: number,
  ) {
    super(message);
    this.name = 'DownloadFailed';
  }
}

export interface ResumableDownloadOptions {
  url: string;
  /** Asked before every request (a bearer token may have been refreshed since the last one). */
  headers?: () => Record<string, string>;
  signal?: AbortSignal;
  onProgress?: (progress: DownloadProgress) => void;
  /** Turns a refusal into words (the broker's JSON { error, message }). */
  describeRefusal?: (response: Response) => Promise<DownloadRefused>;
  fetch?: typeof fetch;
  now?: () => number;
  /** Waits before the next try; rejects when `signal` aborts. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Waits between tries that bring nothing, in order; the last repeats until `maxFailures`. */
  retryDelaysMs?: readonly number[];
  /** Tries in a row that bring no byte before giving up. */
  maxFailures?: number;
  /** A response that brings nothing for this long is treated as dropped. */
  stallMs?: number;
  /** Start-overs (the file changed) before giving up. */
  maxRestarts?: number;
}

/** Statuses worth trying again: the session is moving, has no primary, or the node is busy. */
const TRANSIENT = new Set([408, 409, 425, 429, 502, 503, 504]);
/** Bytes held as loose chunks before they are folded into a Blob (which the browser may keep on disk). */
const FOLD_BYTES = 8 * 1024 * 1024;
/** Speed is measured over this window. */
const SPEED_WINDOW_MS = 4000;
/** Progress is told at most this often (and at every change of state). */
const REPORT_EVERY_MS = 100;

export function abortError(): DOMException {
  return new DOMException('The download was cancelled.', 'AbortError');
}

export const isAbort = (error: unknown): boolean => error instanceof DOMException && error.name === 'AbortError';

const defaultSleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(abortError());
    const timer = setTimeout(() => (signal.removeEventListener('abort', stop), resolve()), ms);
    const stop = () => (clearTimeout(timer), reject(abortError()));
    signal.addEventListener('abort', stop, { once: true });
  });

const defaultRefusal = async (response: Response) => new DownloadRefused(`The broker answered HTTP ${response.status}.`, response.status, null);

/** "bytes 100-199/1000" → { start: 100, total: 1000 } (total null for "*"). */
export function parseContentRange(header: string | null): { start: number; total: number | null } | null {
  const match = /^bytes (\d+)-(\d+)\/(\d+|\*)$/i.exec(header?.trim() ?? '');
  if (!match) return null;
  return { start: Number(match[1]), total: match[3] === '*' ? null : Number(match[3]) };
}

/** Measures speed over a sliding window of (time, bytes) samples. */
class Speedometer {
  private samples: Array<{ at: number; bytes: number }> = [];
  constructor(private readonly now: () => number) {}

  reset(bytes: number): void {
    this.samples = [{ at: this.now(), bytes }];
  }

  sample(bytes: number): number | null {
    const at = this.now();
    this.samples.push({ at, bytes });
    while (this.samples.length > 2 && at - this.samples[1]!.at >= SPEED_WINDOW_MS) this.samples.shift();
    const first = this.samples[0]!;
    const elapsed = at - first.at;
    // Less than a quarter of a second says little.
    return elapsed >= 250 ? ((bytes - first.bytes) * 1000) / elapsed : null;
  }
}

/**
 * Downloads `url` whole, resuming after drops. Resolves with the bytes as a Blob;
 * rejects with DownloadRefused (the server said no), DownloadFailed (the network kept
 * failing) or an AbortError (cancelled through `signal`: what arrived is let go).
 */
export async function resumableDownload(options: ResumableDownloadOptions): Promise<DownloadResult> {
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? defaultSleep;
  const delays = options.retryDelaysMs ?? [500, 1000, 2000, 4000, 8000];
  const maxFailures = options.maxFailures ?? 8;
  const stallMs = options.stallMs ?? 20_000;
  const maxRestarts = options.maxRestarts ?? 5;
  const describe = options.describeRefusal ?? defaultRefusal;
  const outer = options.signal ?? new AbortController().signal;

  // What arrived: folded Blobs, then loose chunks.
  let folded: Blob[] = [];
  let loose: Uint8Array[] = [];
  let looseBytes = 0;
  let received = 0;
  let total: number | null = null;
  let etag: string | null = null;
  let failures = 0;
  let resumes = 0;
  let restarts = 0;
  let retrying: string | null = null;
  const speed = new Speedometer(now);

  /** The SHA-256 of what arrived, in order (for Holdfast-Resume). */
  let head = sha256.create();
  const release = () => {
    folded = [];
    loose = [];
    looseBytes = 0;
    received = 0;
    head = sha256.create();
  };
  let reportedAt = -Infinity;
  let lastSpeed: number | null = null;
  const report = (bytesPerSecond: number | null, often = false) => {
    if (often && now() - reportedAt < REPORT_EVERY_MS) return;
    reportedAt = now();
    const secondsLeft = total !== null && bytesPerSecond ? Math.max(0, total - received) / bytesPerSecond : null;
    options.onProgress?.({ received, total, bytesPerSecond, secondsLeft, retrying, resumes, restarts });
  };
  /** Lets go of what arrived; a file that keeps changing while it is read is given up on. */
  const startOver = () => {
    release();
    etag = null;
    if (++restarts > maxRestarts) throw new DownloadFailed('The file keeps changing while it is read; download it again once it is finished.', failures);
  };
  const fold = () => {
    if (loose.length === 0) return;
    folded.push(new Blob(loose as BlobPart[]));
    loose = [];
    looseBytes = 0;
  };

  try {
    for (;;) {
      if (outer.aborted) throw abortError();
      const headers: Record<string, string> = { ...options.headers?.() };
      // Without a validator there is no knowing the rest belongs to the same file: start over.
      if (received > 0 && etag) {
        headers.range = `bytes=${received}-`;
        headers['if-range'] = etag;
        headers['holdfast-resume'] = `${received} ${hex(head.clone().digest())}`;
      } else if (received > 0) {
        startOver();
      }
      const resuming = received > 0;
      // Each try has its own controller: a stall aborts the try, Cancel aborts them all.
      const attempt = new AbortController();
      let reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
      const cancel = () => {
        void reader?.cancel(abortError()).catch(() => {});
        attempt.abort(abortError());
      };
      outer.addEventListener('abort', cancel, { once: true });
      let stallTimer: ReturnType<typeof setTimeout> | undefined;
      let stalled = false;
      const watch = () => {
        clearTimeout(stallTimer);
        stallTimer = setTimeout(() => ((stalled = true), attempt.abort(new DOMException('stalled', 'TimeoutError'))), stallMs);
      };
      let trouble: string | null = null;
      let complete = false;
      try {
        watch();
        const response = await doFetch(options.url, { headers, cache: 'no-store', signal: attempt.signal });
        if (response.status === 206 && resuming) {
          const range = parseContentRange(response.headers.get('content-range'));
          if (!range || range.start !== received) {
            // Not the rest we asked for: start over with a plain request.
            await response.body?.cancel().catch(() => {});
            startOver();
            continue;
          }
          total = range.total ?? total;
          // Another replica's copy (after a failover) has its own validator: resume against it from now on.
          etag = response.headers.get('etag') ?? etag;
          resumes++;
        } else if (response.status === 200) {
          if (resuming) startOver(); // The file changed (or the server ignores ranges): the whole of it again.
          release();
          etag = response.headers.get('etag');
          const length = response.headers.get('content-length');
          total = length !== null && /^\d+$/.test(length) ? Number(length) : null;
        } else {
          const refusal = await describe(response);
          if (refusal.code === 'changed' || (response.status === 416 && resuming)) {
            // What we hold is no longer a prefix of the file: start over.
            startOver();
            continue;
          }
          if (!TRANSIENT.has(response.status)) throw refusal;
          trouble = refusal.message;
        }
        if (trouble === null) {
          retrying = null;
          speed.reset(received);
          lastSpeed = null;
          report(null);
          // (A response without a body is an empty file.)
          reader = response.body?.getReader() ?? null;
          try {
            for (;;) {
              if (!reader) break;
              const { done, value } = await reader.read();
              if (done) break;
              if (value.byteLength === 0) continue;
              watch();
              loose.push(value);
              head.update(value);
              looseBytes += value.byteLength;
              received += value.byteLength;
              failures = 0;
              if (looseBytes >= FOLD_BYTES) fold();
              lastSpeed = speed.sample(received) ?? lastSpeed;
              report(lastSpeed, total === null || received < total);
            }
          } finally {
            reader?.releaseLock();
          }
          // (A cancelled reader ends as if the file did.)
          if (outer.aborted) throw abortError();
          if (total === null || received >= total) complete = true;
          else trouble = 'The connection dropped before the end of the file.';
        }
      } catch (error) {
        if (outer.aborted) throw abortError();
        if (error instanceof DownloadRefused || error instanceof DownloadFailed) throw error;
        trouble = stalled ? 'Nothing arrived for a while.' : 'The connection dropped.';
      } finally {
        clearTimeout(stallTimer);
        outer.removeEventListener('abort', cancel);
      }
      if (complete) {
        fold();
        const blob = new Blob(folded);
        const size = received;
        release();
        return { blob, size, etag };
      }
      failures++;
      if (failures >= maxFailures) throw new DownloadFailed(`${trouble ?? 'The connection dropped.'} Tried ${failures} times.`, failures);
      retrying = trouble;
      report(null);
      await sleep(delays[Math.min(failures - 1, delays.length - 1)] ?? 1000, outer);
    }
  } catch (error) {
    release();
    throw error;
  }
}

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
