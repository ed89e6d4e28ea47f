// An upload that survives a dropped network and a failover (docs/protocol.md#uploads):
// it begins the upload (POST, with a key of its own so a repeated begin finds it), sends
// the bytes in pieces (PATCH from the offset the session says), and when a piece fails —
// the network, or the primary's node died and the session moved — it asks where the
// upload stands and goes on from there. Used by the web client, the CLI and the bench;
// it is given a fetch (the browser's or Node's: the shared layer names neither).
import { UploadStateSchema, type UploadStateInfo } from '../protocol/index.js';

/** The part of an AbortSignal it uses. */
export interface AbortSignalLike {
  readonly aborted: boolean;
  readonly reason?: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
}

/** The part of fetch it uses (the browser's and Node's both fit). */
export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: Uint8Array | string; signal?: AbortSignalLike },
) => Promise<{ ok: boolean; status: number; json(): Promise<unknown> }>;

/** Where the bytes come from: `read` gives up to `length` bytes at `offset` (fewer, or empty, only at the end). */
export interface UploadSource {
  /** Null when not known in advance (a pipe): the last piece says it is the last. */
  size: number | null;
  read(offset: number, length: number): Promise<Uint8Array>;
}

export interface UploadProgress {
  /** Bytes the session has taken. */
  sent: number;
  total: number | null;
  /** Over the last few seconds; null until there is enough to say. */
  bytesPerSecond: number | null;
  secondsLeft: number | null;
  /** Set while it waits to try again: what went wrong, in words. */
  retrying: string | null;
  /** The upload's id, once begun (to cancel it). */
  upload: number | null;
}

/** The session refused (policy, a full home, a bad path, …): trying again will not help. `message` is for people. */
export class UploadRefused extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
  ) {
    super(message);
    this.name = 'UploadRefused';
  }
}

export interface ResumableUploadOptions {
  /** The broker, e.g. https://broker.example:8443. */
  baseUrl: string;
  sessionId: string;
  /** Where it goes, relative to the session's home. */
  path: string;
  source: UploadSource;
  /** Asked before every request (a bearer token may have been refreshed). */
  headers: () => Record<string, string>;
  fetch: FetchLike;
  /** Bytes per PATCH (default 4 MiB): a lost piece costs at most this. */
  pieceBytes?: number;
  signal?: AbortSignalLike;
  onProgress?: (progress: UploadProgress) => void;
  /** How long it keeps trying after failures in a row (default 2 minutes: a failover takes seconds). */
  retryForMs?: number;
  /** Called with the upload's id once begun. */
  onBegun?: (upload: number) => void;
}

const RETRIABLE = new Set([408, 409, 425, 429, 500, 502, 503, 504]);

/** Uploads the source whole; resolves with where it ended (status done, its SHA-256), or throws UploadRefused / an Error after retryForMs of failures. */
export async function resumableUpload(options: ResumableUploadOptions): Promise<UploadStateInfo> {
  const fetcher = options.fetch;
  const piece = options.pieceBytes ?? 4 * 1024 * 1024;
  const base = `${options.baseUrl.replace(/\/$/, '')}/api/sessions/${encodeURIComponent(options.sessionId)}/uploads`;
  const key = randomKey();
  const speed = new Speed();
  let failingSince: number | null = null;
  let upload: number | null = null;
  let state: UploadStateInfo | null = null;
  /** For a source of unknown size: the next piece, read ahead to know whether this one is the last. */
  let ahead: { offset: number; bytes: Uint8Array } | null = null;

  const report = (retrying: string | null) => {
    const sent = state?.offset ?? 0;
    const total = options.source.size;
    const rate = speed.rate(sent);
    options.onProgress?.({ sent, total, bytesPerSecond: rate, secondsLeft: rate && total !== null ? Math.max(0, (total - sent) / rate) : null, retrying, upload });
  };
  /** One request; its JSON answer, or a thrown UploadRefused, or null after a failure worth another try. */
  const ask = async (method: string, url: string, body?: Uint8Array | string, extra: Record<string, string> = {}): Promise<unknown> => {
    let reply: Awaited<ReturnType<FetchLike>>;
    try {
      reply = await fetcher(url, { method, headers: { ...options.headers(), ...extra }, ...(body === undefined ? {} : { body }), ...(options.signal ? { signal: options.signal } : {}) });
    } catch (error) {
      if (options.signal?.aborted) throw error;
      return failed(`the connection failed (${error instanceof Error ? error.message : String(error)})`);
    }
    const json = (await reply.json().catch(() => null)) as { error?: string; message?: string; offset?: number } | null;
    if (reply.ok) {
      failingSince = null;
      return json;
    }
    if (json?.error === 'offset_mismatch' && typeof json.offset === 'number' && state) {
      state = { ...state, offset: json.offset };
      return null;
    }
    if (!RETRIABLE.has(reply.status)) throw new UploadRefused(json?.message ?? `The upload was refused (HTTP ${reply.status}).`, reply.status, json?.error ?? 'refused');
    return failed(json?.message ?? `the session answered HTTP ${reply.status}`);
  };
  const failed = async (why: string): Promise<null> => {
    failingSince ??= Date.now();
    if (Date.now() - failingSince > (options.retryForMs ?? 120_000)) throw new Error(`The upload kept failing for ${Math.round((options.retryForMs ?? 120_000) / 1000)} s: ${why}. Try again later.`);
    report(`${why}; trying again`);
    await sleep(Math.min(2000, 250 * 2 ** Math.min(3, Math.floor((Date.now() - failingSince) / 1000))), options.signal);
    return null;
  };

  while (upload === null) {
    const begun = await ask('POST', base, JSON.stringify({ path: options.path, size: options.source.size, key }), { 'content-type': 'application/json' });
    if (begun) {
      state = UploadStateSchema.parse(begun);
      upload = state.upload;
      options.onBegun?.(upload);
    }
  }
  speed.mark(0);
  report(null);
  for (;;) {
    if (state!.status === 'done') return state!;
    if (state!.status !== 'receiving') throw new UploadRefused(state!.error ?? 'The upload was given up.', 409, state!.status);
    const offset = state!.offset;
    const bytes: Uint8Array = ahead?.offset === offset ? ahead.bytes : await options.source.read(offset, piece);
    let last: boolean;
    if (options.source.size !== null) last = offset + bytes.length >= options.source.size;
    else {
      // A pipe: the piece after this one says whether this is the last.
      const next = bytes.length === 0 ? new Uint8Array(0) : await options.source.read(offset + bytes.length, piece);
      ahead = { offset: offset + bytes.length, bytes: next };
      last = next.length === 0;
    }
    const answer = await ask('PATCH', `${base}/${upload}`, bytes, {
      'content-type': 'application/offset+octet-stream',
      'upload-offset': String(offset),
      ...(last ? { 'upload-done': '1' } : {}),
    });
    if (answer) state = UploadStateSchema.parse(answer);
    else {
      // Where does it stand now (perhaps on another node, after a failover)?
      const now = await ask('GET', `${base}/${upload}`);
      if (now) state = UploadStateSchema.parse(now);
    }
    report(null);
  }
}

/** Cancels an upload: the session removes what was written. Best effort. */
export async function cancelUpload(fetcher: FetchLike, baseUrl: string, sessionId: string, upload: number, headers: Record<string, string>): Promise<void> {
  await fetcher(`${baseUrl.replace(/\/$/, '')}/api/sessions/${encodeURIComponent(sessionId)}/uploads/${upload}`, { method: 'DELETE', headers }).catch(() => {});
}

/** Bytes per second over the last few seconds. */
class Speed {
  private marks: Array<{ at: number; bytes: number }> = [];

  mark(bytes: number): void {
    this.marks.push({ at: Date.now(), bytes });
  }

  rate(bytes: number): number | null {
    this.mark(bytes);
    const now = Date.now();
    this.marks = this.marks.filter((m) => now - m.at <= 5000);
    const first = this.marks[0]!;
    return now - first.at < 500 ? null : ((bytes - first.bytes) * 1000) / (now - first.at);
  }
}

/** The upload's own name, so a begin repeated after a lost answer finds it (not a secret: it is the owner's session). */
function randomKey(): string {
  let key = '';
  while (key.length < 32) key += Math.floor(Math.random() * 2 ** 32).toString(16).padStart(8, '0');
  return key;
}

function sleep(ms: number, signal?: AbortSignalLike): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason instanceof Error ? signal.reason : new Error('cancelled'));
      },
      { once: true },
    );
  });
}
