// A primary's side of uploads (docs/protocol.md#uploads): turns a person's upload into
// log entries — a begin, chunks of at most CHUNK_BYTES among their keystrokes, an end
// — so every replica writes the same file (host/home-uploads.ts applies them). Bytes
// are taken from the client only as fast as the standbys hold them: at most WINDOW
// chunks are unsettled at once, and no faster than this replica's writer takes them, so
// an upload never fills the node's memory and a keystroke waits behind at most that
// much. Typing goes first: while a keystroke is on its way to the screen, and for
// TYPING_GRACE_MS after the last one, no chunk is logged, and while the person is typing
// (a keystroke in the last TYPING_SPAN_MS) uploads keep to TYPING_RATE (a chunk waits at
// most MAX_YIELD_MS, so a person who never stops typing still gets their file). The offset a client
// is told is what this replica has applied; after a failover the new primary knows its
// own from its log, and a client resuming at another offset is told the right one (409).
import type { FileOp } from '../cluster/peer-protocol.js';
import type { HomeUploads, UploadState, UploadTarget } from '../host/home-uploads.js';
import { UploadError, type UploadStateInfo } from '../../shared/protocol/index.js';

/** One chunk entry's bytes at most: small enough that a keystroke behind it waits well under a millisecond on a LAN. */
export const CHUNK_BYTES = 64 * 1024;
/**
 * Chunks logged but not yet settled at most (256 KiB): the client is read no faster
 * than the standbys hold, and a keystroke logged now waits behind no more than this.
 */
export const WINDOW = 4;
/** Bytes an upload's writer may have waiting (given, not yet taken by its pipe) before the client is read on. */
const WRITER_BACKLOG = 1024 * 1024;
/** After a keystroke, the next chunk waits this long: its echo has the CPU and the links to itself. */
export const TYPING_GRACE_MS = 30;
/** …but one chunk waits no longer than this for typing to pause (≥ 0.6 MB/s under a person who never stops). */
export const MAX_YIELD_MS = 100;
/** A keystroke within this long means the person is typing… */
export const TYPING_SPAN_MS = 1000;
/**
 * …and while they are, uploads move at most this fast (bytes/s): a full-speed upload
 * keeps the cores of a small node busy (the node, its writer, a standby beside it) and
 * a keystroke then waits for a CPU however promptly the upload yields the log.
 */
export const TYPING_RATE = 8 * 1024 * 1024;
/** Uploads one session may have receiving at once. */
export const MAX_RECEIVING = 4;
/** An upload that has had no bytes for this long is given up (its spool file removed on every replica). */
export const ABANDONED_MS = 15 * 60_000;

/** What the coordinator needs of the session's log (input-log.ts). */
export interface UploadLog {
  file(op: FileOp, data?: Uint8Array | null): number;
  whenSettled(index: number): Promise<void>;
  /** When the last keystroke was logged (performance.now()). */
  readonly lastInputAt: number;
  /** A keystroke is logged whose echo is not yet shown. */
  readonly inputUnsettled: boolean;
}

export interface UploadLimits {
  /** The largest file, in bytes (transferPolicies maxFileMiB). */
  maxBytes: number;
}

/** Applies one logged file operation to this replica's home; a promise while it is still being done (an end or an abort). */
export function applyFileOp(home: HomeUploads, op: FileOp, data: Uint8Array | null, timeUs?: number): Promise<void> | null {
  if (op.op === 'begin') return home.begin(op.upload, op.path, op.size, op.key ?? null), null;
  if (op.op === 'chunk') return home.chunk(op.upload, op.offset, data ?? new Uint8Array(0)), null;
  if (op.op === 'end') return home.end(op.upload, timeUs);
  return home.abort(op.upload, op.reason);
}

/** Where an upload stands, as its client is told. */
function info(state: UploadState): UploadStateInfo {
  return { upload: state.upload, path: state.path, size: state.size, offset: state.received, status: state.status, error: state.error, sha256: state.sha256 };
}

export class SessionUploads {
  /** Bytes logged per upload (ahead of what is applied while a chunk waits its turn). */
  private readonly logged = new Map<number, number>();
  /** Uploads a PATCH is writing now: one at a time each. */
  private readonly writing = new Set<number>();
  private readonly lastActive = new Map<number, number>();
  private sweepTimer: NodeJS.Timeout | undefined;
  /** While the person types, the next chunk waits for this time (clock.now()): TYPING_RATE. */
  private nextChunkAt = -Infinity;

  constructor(
    private readonly log: UploadLog,
    private readonly home: HomeUploads,
    private readonly now: () => number = Date.now,
    /** The clock lastInputAt is read on, and how a chunk waits for typing to pause. */
    private readonly clock: { now(): number; sleep(ms: number): Promise<void> } = { now: () => performance.now(), sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)) },
  ) {}

  /** Where the upload stands (404 UploadError when there is none). */
  state(upload: number): UploadStateInfo {
    return info(this.applied(upload));
  }

  private applied(upload: number): UploadState {
    const state = this.home.state(upload);
    if (!state) throw new UploadError('no_such_upload', 404, 'There is no such upload in this session; start it again.');
    return state;
  }

  /** Begins an upload to `path` (or finds the one begun with `key`); resolves once every replica holds its begin. */
  async begin(path: string, size: number | null, key: string | null, limits: UploadLimits): Promise<UploadStateInfo> {
    const again = key ? this.home.all().find((u) => u.key === key && u.status === 'receiving') : undefined;
    if (again) return info(again);
    if (size !== null && size > limits.maxBytes) throw tooLarge(limits);
    if (this.home.receiving >= MAX_RECEIVING) throw new UploadError('busy', 429, `This session is already receiving ${MAX_RECEIVING} uploads; wait for one to finish.`);
    const target: UploadTarget = await this.home.target(path);
    if (size !== null && size > target.free) throw noSpace(target.free);
    const index = this.log.file({ op: 'begin', upload: 0, path: target.path, size, ...(key ? { key } : {}) });
    this.logged.set(index, 0);
    this.touch(index);
    await this.log.whenSettled(index);
    return this.state(index);
  }

  /**
   * Takes the upload's bytes from `offset` (which must be where it stands) from `body`,
   * as chunk entries; with `done` (or once `size` bytes are in) ends it, and resolves once
   * the file is in place here — every voting standby holds the end, and writes it in step.
   */
  async write(upload: number, offset: number, body: AsyncIterable<Uint8Array>, done: boolean, limits: UploadLimits): Promise<UploadStateInfo> {
    const state = this.applied(upload);
    if (state.status !== 'receiving') return info(state);
    if (this.writing.has(upload)) throw new UploadError('busy', 409, 'This upload is already being written by another request; wait for it, then ask where it stands.');
    const at = this.logged.get(upload) ?? state.received;
    if (offset !== at) throw new UploadError('offset_mismatch', 409, `The upload stands at byte ${at}, not ${offset}; send from there.`, at);
    this.writing.add(upload);
    try {
      let next = at;
      const unsettled: number[] = [];
      for await (const piece of body) {
        for (let start = 0; start < piece.length; start += CHUNK_BYTES) {
          const data = piece.subarray(start, start + CHUNK_BYTES);
          if (next + data.length > limits.maxBytes) throw await this.giveUp(upload, tooLarge(limits), 'larger than allowed');
          if (state.size !== null && next + data.length > state.size) throw await this.giveUp(upload, new UploadError('too_much', 400, `More than the ${state.size} bytes announced came; upload the file again.`), 'more bytes than announced');
          await this.typingPaused();
          // Not copied: the body's pieces are this request's own.
          unsettled.push(this.log.file({ op: 'chunk', upload, offset: next }, data));
          next += data.length;
          this.logged.set(upload, next);
          this.touch(upload);
          if (unsettled.length >= WINDOW) await this.log.whenSettled(unsettled.splice(0, WINDOW / 2).at(-1)!);
          // A turn of the event loop between chunks: a keystroke that came meanwhile goes before the next one.
          else await yieldTurn();
          // …and no faster than this replica's own writer takes them.
          await this.home.drained(upload, WRITER_BACKLOG);
          if (this.applied(upload).status === 'failed') throw await this.failed(upload);
        }
      }
      if (unsettled.length > 0) await this.log.whenSettled(unsettled.at(-1)!);
      if (this.applied(upload).status === 'failed') throw await this.failed(upload);
      if (done || (state.size !== null && next === state.size)) return await this.end(upload);
      return this.state(upload);
    } finally {
      this.writing.delete(upload);
    }
  }

  /** The person cancelled: every replica removes what was written. */
  async cancel(upload: number): Promise<UploadStateInfo> {
    const state = this.applied(upload);
    if (state.status !== 'receiving' && state.status !== 'failed') return info(state);
    await this.log.whenSettled(this.log.file({ op: 'abort', upload, reason: 'cancelled' }));
    return this.state(upload);
  }

  /** Gives up uploads that have had no bytes for ABANDONED_MS (a client that went away for good). */
  sweep(): void {
    for (const state of this.home.all()) {
      if (state.status !== 'receiving' || this.writing.has(state.upload)) continue;
      const last = this.lastActive.get(state.upload);
      if (last === undefined) this.lastActive.set(state.upload, this.now());
      else if (this.now() - last > ABANDONED_MS) this.log.file({ op: 'abort', upload: state.upload, reason: 'abandoned: no bytes came for 15 minutes' });
    }
  }

  /** Sweeps every minute while the session runs (a primary's job; a standby's log is written by its primary). */
  startSweeping(): void {
    this.sweepTimer ??= setInterval(() => this.sweep(), 60_000);
    this.sweepTimer.unref();
  }

  stop(): void {
    clearInterval(this.sweepTimer);
  }

  private async end(upload: number): Promise<UploadStateInfo> {
    await this.log.whenSettled(this.log.file({ op: 'end', upload }));
    const state = this.state(upload);
    if (state.status === 'failed') throw await this.failed(upload);
    return state;
  }

  /**
   * Resolves once no keystroke is on its way, none came for TYPING_GRACE_MS and, while
   * the person is typing, the upload keeps to TYPING_RATE — or after MAX_YIELD_MS.
   * (The pace is the session's, not the upload's: uploads side by side share it.)
   */
  private async typingPaused(): Promise<void> {
    const start = this.clock.now();
    for (;;) {
      const now = this.clock.now();
      const quiet = now - this.log.lastInputAt;
      const paced = quiet >= TYPING_SPAN_MS || now >= this.nextChunkAt;
      if ((!this.log.inputUnsettled && quiet >= TYPING_GRACE_MS && paced) || now - start >= MAX_YIELD_MS) {
        this.nextChunkAt = now + (CHUNK_BYTES / TYPING_RATE) * 1000;
        return;
      }
      const wait = Math.max(1, TYPING_GRACE_MS - quiet, quiet < TYPING_SPAN_MS ? this.nextChunkAt - now : 0);
      await this.clock.sleep(Math.min(wait, MAX_YIELD_MS - (now - start)));
    }
  }

  private touch(upload: number): void {
    this.lastActive.set(upload, this.now());
  }

  /** The upload failed here (a full home, a write error): every replica drops it; the error to answer with. */
  private async failed(upload: number): Promise<UploadError> {
    const why = this.applied(upload).error ?? 'writing it failed';
    if (/full/.test(why)) {
      await this.log.whenSettled(this.log.file({ op: 'abort', upload, reason: why }));
      return noSpace(await this.home.free().catch(() => 0));
    }
    return this.giveUp(upload, new UploadError('write_failed', 500, `The upload failed: ${why}. Nothing was kept; try again.`), why);
  }

  private async giveUp(upload: number, error: UploadError, reason: string): Promise<UploadError> {
    await this.log.whenSettled(this.log.file({ op: 'abort', upload, reason }));
    return error;
  }
}

const MiB = 1024 * 1024;

/** Lets the event loop poll for I/O (setImmediate runs after the poll phase; a resolved promise would not). */
const yieldTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

function noSpace(free: number): UploadError {
  return new UploadError('no_space', 507, `There is not enough space in your home (${Math.floor(free / MiB)} MiB free). Delete some files in the session, then upload again.`);
}

function tooLarge(limits: UploadLimits): UploadError {
  return new UploadError('too_large', 413, `Files larger than ${Math.round(limits.maxBytes / MiB)} MiB cannot be uploaded to this app (your administrator’s limit).`);
}
