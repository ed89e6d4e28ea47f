// The resumable download against a fake server: a drop mid-stream resumes at the byte
// it stopped with If-Range; a file that changed meanwhile (200, not 206) starts over;
// Cancel stops the transfer and lets go of it; the progress numbers add up.
import { describe, expect, it } from 'vitest';
import { DownloadFailed, DownloadRefused, isAbort, parseContentRange, resumableDownload, type DownloadProgress } from './resumable-download.js';
import { formatBytes, formatSecondsLeft } from './files-api.js';

const bytes = (length: number, seed = 1) => Uint8Array.from({ length }, (_, i) => (i * 31 + seed * 7) & 0xff);

interface Call {
  headers: Record<string, string>;
  /** The response body's stream was cancelled (by the client). */
  cancelled: boolean;
  /** The request's signal aborted. */
  aborted: boolean;
}

/**
 * A file served the way the broker serves it: Content-Length, ETag, Range with If-Range.
 * `plan[i]` shapes the i-th answer: drop after N bytes (the stream errors), hang after N
 * bytes (nothing more arrives), or a status with the broker's error JSON.
 */
type Step = { dropAfter?: number; hangAfter?: number; status?: number; error?: { error: string; message: string } };

class FakeServer {
  file: Uint8Array;
  etag = '"v1"';
  calls: Call[] = [];
  /** Every chunk advances this clock by `msPerChunk`. */
  clock = 0;
  constructor(
    file: Uint8Array,
    private readonly plan: Step[] = [],
    private readonly chunk = 10_000,
    private readonly msPerChunk = 100,
  ) {
    this.file = file;
  }

  fetch = async (_url: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const headers = Object.fromEntries(Object.entries((init?.headers ?? {}) as Record<string, string>).map(([k, v]) => [k.toLowerCase(), v]));
    const call: Call = { headers, cancelled: false, aborted: false };
    this.calls.push(call);
    const step = this.plan[this.calls.length - 1] ?? {};
    const signal = init?.signal;
    if (signal?.aborted) throw new DOMException('aborted', 'AbortError');
    if (step.status) return new Response(JSON.stringify(step.error ?? {}), { status: step.status, headers: { 'content-type': 'application/json' } });
    const range = /^bytes=(\d+)-$/.exec(headers.range ?? '');
    const partial = range !== null && headers['if-range'] === this.etag;
    const start = partial ? Number(range[1]) : 0;
    const body = this.file.subarray(start);
    const limit = step.dropAfter ?? step.hangAfter ?? Infinity;
    let sent = 0;
    let hang: (() => void) | null = null;
    let source: ReadableStreamDefaultController<Uint8Array> | null = null;
    const stream = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          source = controller;
        },
        pull: async (controller) => {
          if (sent >= body.byteLength) return controller.close();
          if (sent >= limit) {
            if (step.dropAfter !== undefined) return controller.error(new TypeError('network error'));
            return new Promise<void>((resolve) => (hang = resolve));
          }
          const piece = body.subarray(sent, Math.min(body.byteLength, sent + this.chunk, limit));
          sent += piece.byteLength;
          this.clock += this.msPerChunk;
          controller.enqueue(piece.slice());
        },
        cancel: () => {
          call.cancelled = true;
          (hang as (() => void) | null)?.();
        },
      },
      // Nothing read ahead: a chunk (and its time) is made when the client reads it.
      { highWaterMark: 0 },
    );
    // As fetch does: an aborted request errors its body.
    signal?.addEventListener('abort', () => {
      call.aborted = true;
      try {
        (source as ReadableStreamDefaultController<Uint8Array> | null)?.error(signal.reason);
      } catch {
        /* already closed */
      }
      (hang as (() => void) | null)?.();
    });
    const responseHeaders: Record<string, string> = { 'content-length': String(body.byteLength), etag: this.etag, 'accept-ranges': 'bytes' };
    if (partial) responseHeaders['content-range'] = `bytes ${start}-${this.file.byteLength - 1}/${this.file.byteLength}`;
    return new Response(stream, { status: partial ? 206 : 200, headers: responseHeaders });
  };
}

async function read(blob: Blob): Promise<Uint8Array> {
  return new Uint8Array(await blob.arrayBuffer());
}

/** The broker's refusals: JSON { error, message }. */
const brokerWords = async (response: Response) => {
  const body = (await response.json()) as { error: string; message: string };
  return new DownloadRefused(body.message, response.status, body.error);
};

const noWait = async (_ms: number, signal: AbortSignal) => {
  if (signal.aborted) throw new DOMException('cancelled', 'AbortError');
};

describe('resumableDownload', () => {
  it('downloads a file whole in one go', async () => {
    const server = new FakeServer(bytes(95_000));
    const result = await resumableDownload({ url: 'http://b/f', fetch: server.fetch, sleep: noWait, headers: () => ({ authorization: 'Bearer t' }) });
    expect(await read(result.blob)).toEqual(server.file);
    expect(result).toMatchObject({ size: 95_000, etag: '"v1"' });
    expect(server.calls).toHaveLength(1);
    expect(server.calls[0]!.headers).toEqual({ authorization: 'Bearer t' });
  });

  it('resumes after a drop mid-stream at the byte it stopped, on condition the file is the same (If-Range)', async () => {
    const server = new FakeServer(bytes(100_000), [{ dropAfter: 40_000 }, { dropAfter: 25_000 }]);
    const progress: DownloadProgress[] = [];
    const result = await resumableDownload({ url: 'http://b/f', fetch: server.fetch, sleep: noWait, onProgress: (p) => progress.push(p), now: () => server.clock });
    expect(await read(result.blob)).toEqual(server.file);
    expect(server.calls.map((c) => [c.headers.range, c.headers['if-range']])).toEqual([
      [undefined, undefined],
      ['bytes=40000-', '"v1"'],
      ['bytes=65000-', '"v1"'],
    ]);
    // While it waited to try again it said why; then it went on from where it was.
    const waiting = progress.filter((p) => p.retrying !== null);
    expect(waiting.map((p) => p.received)).toEqual([40_000, 65_000]);
    expect(waiting[0]!.retrying).toMatch(/dropped/);
    expect(progress.at(-1)).toMatchObject({ received: 100_000, total: 100_000, retrying: null, resumes: 2, restarts: 0 });
    // Never backwards, except on a start over (there was none).
    for (let i = 1; i < progress.length; i++) expect(progress[i]!.received).toBeGreaterThanOrEqual(progress[i - 1]!.received);
  });

  it('starts over when the file changed meanwhile (200 with the whole new file, not 206)', async () => {
    const server = new FakeServer(bytes(60_000, 1), [{ dropAfter: 30_000 }]);
    const progress: DownloadProgress[] = [];
    const sleep = async () => {
      // The file is rewritten while the client waits to try again.
      server.file = bytes(70_000, 2);
      server.etag = '"v2"';
    };
    const result = await resumableDownload({ url: 'http://b/f', fetch: server.fetch, sleep, onProgress: (p) => progress.push(p) });
    expect(server.calls[1]!.headers).toMatchObject({ range: 'bytes=30000-', 'if-range': '"v1"' });
    const got = await read(result.blob);
    expect(got.byteLength).toBe(70_000);
    expect(got).toEqual(bytes(70_000, 2));
    expect(result.etag).toBe('"v2"');
    expect(progress.at(-1)).toMatchObject({ received: 70_000, total: 70_000, resumes: 0, restarts: 1 });
    // After the start over, the count went back to the start of the new file.
    const afterRetry = progress.slice(progress.findIndex((p) => p.retrying !== null) + 1);
    expect(afterRetry[0]!.received).toBe(0);
  });

  it('starts over when the broker says the file changed since the ETag it holds', async () => {
    const server = new FakeServer(bytes(50_000), [{ dropAfter: 20_000 }, { status: 409, error: { error: 'changed', message: 'big.bin changed while it was read; download it again.' } }]);
    const result = await resumableDownload({ url: 'http://b/f', fetch: server.fetch, sleep: noWait, describeRefusal: brokerWords });
    expect(await read(result.blob)).toEqual(server.file);
    expect(server.calls.map((c) => c.headers.range)).toEqual([undefined, 'bytes=20000-', undefined]);
  });

  it('gives up on a file that keeps changing while it is read', async () => {
    const server = new FakeServer(bytes(50_000), Array.from({ length: 20 }, () => ({ dropAfter: 10_000 })));
    const fetch: typeof server.fetch = async (url, init) => {
      server.etag = `"v${server.calls.length}"`;
      return server.fetch(url, init);
    };
    const error = await resumableDownload({ url: 'http://b/f', fetch, sleep: noWait }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DownloadFailed);
    expect((error as Error).message).toMatch(/keeps changing/);
    expect(server.calls).toHaveLength(7);
  });

  it('treats a response that ends early (fewer bytes than Content-Length) as a drop', async () => {
    const file = bytes(50_000);
    let call = 0;
    const fetch = async (_url: RequestInfo | URL, init?: RequestInit) => {
      call++;
      const headers = init?.headers as Record<string, string>;
      if (call === 1) return new Response(file.slice(0, 20_000), { status: 200, headers: { 'content-length': '50000', etag: '"e"' } });
      expect(headers).toMatchObject({ range: 'bytes=20000-', 'if-range': '"e"' });
      return new Response(file.slice(20_000), { status: 206, headers: { 'content-range': 'bytes 20000-49999/50000', etag: '"e"' } });
    };
    const result = await resumableDownload({ url: 'http://b/f', fetch, sleep: noWait });
    expect(await read(result.blob)).toEqual(file);
  });

  it('starts over when the 206 is not the rest it asked for', async () => {
    const file = bytes(30_000);
    const seen: Array<string | undefined> = [];
    let call = 0;
    const fetch = async (_url: RequestInfo | URL, init?: RequestInit) => {
      call++;
      seen.push((init?.headers as Record<string, string>).range);
      if (call === 1) return new Response(file.slice(0, 10_000), { status: 200, headers: { 'content-length': '30000', etag: '"e"' } });
      if (call === 2) return new Response(file.slice(5_000), { status: 206, headers: { 'content-range': 'bytes 5000-29999/30000', etag: '"e"' } });
      return new Response(file, { status: 200, headers: { 'content-length': '30000', etag: '"e"' } });
    };
    const result = await resumableDownload({ url: 'http://b/f', fetch, sleep: noWait });
    expect(await read(result.blob)).toEqual(file);
    expect(seen).toEqual([undefined, 'bytes=10000-', undefined]);
  });

  it('treats a response that stops sending as dropped, and resumes', async () => {
    const server = new FakeServer(bytes(40_000), [{ hangAfter: 20_000 }]);
    const result = await resumableDownload({ url: 'http://b/f', fetch: server.fetch, sleep: noWait, stallMs: 50 });
    expect(await read(result.blob)).toEqual(server.file);
    expect(server.calls[0]!.aborted).toBe(true);
    expect(server.calls[1]!.headers.range).toBe('bytes=20000-');
  });

  it('stops and lets go when cancelled: the transfer is cancelled, nothing more is asked, nothing more is told', async () => {
    const server = new FakeServer(bytes(100_000), [{ hangAfter: 30_000 }]);
    const controller = new AbortController();
    const progress: DownloadProgress[] = [];
    const download = resumableDownload({
      url: 'http://b/f',
      fetch: server.fetch,
      signal: controller.signal,
      onProgress: (p) => {
        progress.push(p);
        if (p.received === 30_000) controller.abort();
      },
      now: () => server.clock,
    });
    const error = await download.catch((e: unknown) => e);
    expect(isAbort(error)).toBe(true);
    expect(server.calls).toHaveLength(1);
    expect(server.calls[0]).toMatchObject({ aborted: true, cancelled: true });
    const told = progress.length;
    await new Promise((r) => setTimeout(r, 20));
    expect(server.calls).toHaveLength(1);
    expect(progress).toHaveLength(told);
  });

  it('stops when cancelled while it waits to try again', async () => {
    const server = new FakeServer(bytes(50_000), [{ dropAfter: 10_000 }]);
    const controller = new AbortController();
    const download = resumableDownload({ url: 'http://b/f', fetch: server.fetch, signal: controller.signal, retryDelaysMs: [60_000] });
    await new Promise((r) => setTimeout(r, 20));
    controller.abort();
    expect(isAbort(await download.catch((e: unknown) => e))).toBe(true);
    expect(server.calls).toHaveLength(1);
  });

  it('tells bytes, speed and time left as it goes', async () => {
    // 10 kB per 100 ms: 100 kB/s; 100 kB in all.
    const server = new FakeServer(bytes(100_000), [], 10_000, 100);
    const progress: DownloadProgress[] = [];
    await resumableDownload({ url: 'http://b/f', fetch: server.fetch, sleep: noWait, onProgress: (p) => progress.push(p), now: () => server.clock });
    expect(progress[0]).toEqual({ received: 0, total: 100_000, bytesPerSecond: null, secondsLeft: null, retrying: null, resumes: 0, restarts: 0 });
    const half = progress.find((p) => p.received === 50_000)!;
    expect(half.bytesPerSecond).toBeCloseTo(100_000, 5);
    expect(half.secondsLeft).toBeCloseTo(0.5, 5);
    expect(progress.at(-1)).toMatchObject({ received: 100_000, total: 100_000, secondsLeft: 0 });
  });

  it('tells progress at most every 100 ms while it runs, and always at the end', async () => {
    // 1 kB every 10 ms: a hundred chunks over a second.
    const server = new FakeServer(bytes(100_000), [], 1_000, 10);
    const progress: DownloadProgress[] = [];
    await resumableDownload({ url: 'http://b/f', fetch: server.fetch, sleep: noWait, onProgress: (p) => progress.push(p), now: () => server.clock });
    expect(progress.length).toBeLessThanOrEqual(12);
    expect(progress.at(-1)!.received).toBe(100_000);
  });

  it('gives the broker’s words when it refuses, without trying again', async () => {
    const server = new FakeServer(bytes(10), [{ status: 403, error: { error: 'download_off', message: 'Downloading files from Shell is turned off by your administrator.' } }]);
    const error = await resumableDownload({
      url: 'http://b/f',
      fetch: server.fetch,
      sleep: noWait,
      describeRefusal: brokerWords,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DownloadRefused);
    expect(error).toMatchObject({ status: 403, code: 'download_off', message: 'Downloading files from Shell is turned off by your administrator.' });
    expect(server.calls).toHaveLength(1);
  });

  it('tries again when the session is moving (409) or the broker busy (503)', async () => {
    const server = new FakeServer(bytes(20_000), [{ status: 409, error: { error: 'moved', message: 'The session is moving; try again.' } }, { status: 503 }]);
    const result = await resumableDownload({ url: 'http://b/f', fetch: server.fetch, sleep: noWait });
    expect(result.size).toBe(20_000);
    expect(server.calls).toHaveLength(3);
  });

  it('gives up after tries in a row that bring nothing', async () => {
    let calls = 0;
    const fetch = async () => {
      calls++;
      throw new TypeError('Failed to fetch');
    };
    const error = await resumableDownload({ url: 'http://b/f', fetch, sleep: noWait, maxFailures: 4 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DownloadFailed);
    expect((error as Error).message).toMatch(/dropped.*Tried 4 times/);
    expect(calls).toBe(4);
  });

  it('downloads an empty file', async () => {
    const server = new FakeServer(new Uint8Array(0));
    const result = await resumableDownload({ url: 'http://b/f', fetch: server.fetch, sleep: noWait });
    expect(result.size).toBe(0);
    expect(result.blob.size).toBe(0);
  });
});

describe('the words for sizes and times', () => {
  it('says sizes as people read them', () => {
    expect(parseContentRange('bytes 10-99/100')).toEqual({ start: 10, total: 100 });
    expect(parseContentRange('bytes 10-99/*')).toEqual({ start: 10, total: null });
    expect(parseContentRange(null)).toBeNull();
    expect([1, 512, 1_234, 12_345, 1_200_000, 3_000_000, 999_999, 24_000_000, 1_100_000_000].map(formatBytes)).toEqual(['1 byte', '512 bytes', '1.2 kB', '12 kB', '1.2 MB', '3.0 MB', '1.0 MB', '24 MB', '1.1 GB']);
    expect([0.2, 12, 185, 3720].map(formatSecondsLeft)).toEqual(['less than a second', '12 s', '3 min 5 s', '1 h 2 min']);
  });
});
