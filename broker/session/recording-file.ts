// One replica's recording file on disk, whatever its format (recording.ts: asciicast
// for a terminal; rfb-recording-writer.ts: RFB for a graphical app), and the JSON beside
// it that says how it stands.
//
// Writing never holds the session up: bytes gather in memory and go to the file in one
// write every FLUSH_MS (one descriptor, in order); a write that fails (a full disk) is
// logged once and the recording is marked incomplete, and the session goes on. Memory is
// bounded: past maxPendingBytes not yet written, the rest is dropped (incomplete too).
import { open, rename, writeFile, type FileHandle } from 'node:fs/promises';

/** How often gathered bytes go to the file: a keystroke's echo is on disk within this. */
const FLUSH_MS = 100;
const MAX_PENDING_BYTES = 8 * 1024 * 1024;

/** The JSON beside a recording: how it stands (written at its start, and again at its end). */
export interface RecordingMeta {
  sessionId: string;
  /** What it records: a terminal (asciicast) or a graphical app's display (RFB). */
  kind: 'terminal' | 'rfb';
  owner: string;
  appId: string;
  appName: string;
  node: string;
  startedAt: number;
  /** When this copy ended (ms since the epoch); null while it is written (or its node died). */
  endedAt: number | null;
  /** The time of its last event (s). */
  seconds: number;
  /** Bytes of the .cast file written. */
  bytes: number;
  /** Every event was written, and the copy ended with the session (not with this replica alone). */
  complete: boolean;
  /** What kept it from being complete, if anything. */
  problem: string | null;
}

export interface RecordingFileOptions {
  path: string;
  metaPath: string;
  /** What the JSON beside it says of the recording (besides how it ended): its identity and its length so far. */
  describe: () => Pick<RecordingMeta, 'sessionId' | 'owner' | 'appId' | 'appName' | 'node' | 'startedAt' | 'seconds' | 'kind'>;
  /** Resolves when the file may be opened (a previous copy of the same session on this node has closed). */
  after?: Promise<void>;
  /** ms since the epoch (tests give their own). */
  now?: () => number;
  flushMs?: number;
  /** Bytes gathered or being written at most: beyond it they are dropped (the disk does not keep up) and the copy is incomplete. */
  maxPendingBytes?: number;
  /** Told once, at the first failure. */
  warn: (message: string, fields: Record<string, unknown>) => void;
}

export class RecordingFile {
  private readonly now: () => number;
  private readonly file: Promise<FileHandle | null>;
  /** Pieces gathered since the last write. */
  private pieces: Uint8Array[] = [];
  private pendingBytes_ = 0;
  private timer: NodeJS.Timeout | undefined;
  /** The write in progress (writes are chained: one at a time, in order). */
  private writing: Promise<void> = Promise.resolve();
  private bytes = 0;
  private problem: string | null = null;
  private ended: Promise<RecordingMeta> | null = null;
  /** The JSON beside it is written one version at a time, in order. */
  private readonly metaWritten: Promise<unknown>;

  constructor(private readonly options: RecordingFileOptions) {
    this.now = options.now ?? Date.now;
    const after = options.after ?? Promise.resolve();
    this.file = after.then(() => open(options.path, 'w', 0o600)).catch((error: unknown) => (this.fail(error), null));
    this.metaWritten = this.file.then(() => this.writeMeta(null));
  }

  /** Appends bytes (written within flushMs). Nothing after end() or a failure. */
  push(piece: Uint8Array): void {
    if (this.problem !== null || this.ended) return;
    if (this.pendingBytes_ + piece.length > (this.options.maxPendingBytes ?? MAX_PENDING_BYTES)) return this.fail(new Error('the disk did not keep up with the session: events were dropped'));
    this.pieces.push(piece);
    this.pendingBytes_ += piece.length;
    this.timer ??= setTimeout(() => this.flush(), this.options.flushMs ?? FLUSH_MS);
  }

  /** Bytes gathered or being written, not yet on disk. */
  get pendingBytes(): number {
    return this.pendingBytes_;
  }

  /** Whether it is still written whole (no write failed, nothing dropped). */
  get intact(): boolean {
    return this.problem === null;
  }

  /** Marks it incomplete, with why (told once). */
  fail(error: unknown): void {
    if (this.problem !== null) return;
    this.problem = error instanceof Error ? error.message : String(error);
    this.pieces = [];
    this.options.warn('recording failed: the session goes on, its recording is incomplete', { session: this.options.describe().sessionId, file: this.options.path, error: this.problem });
  }

  /**
   * Writes what is left and closes the file, then the JSON beside it. `withSession`:
   * the session ended (not only this replica). Never rejects.
   */
  end(withSession: boolean): Promise<RecordingMeta> {
    if (this.ended) return this.ended;
    clearTimeout(this.timer);
    this.flush();
    this.ended = this.writing
      .then(() => this.file)
      .then((file) => file?.close())
      .catch((error: unknown) => this.fail(error))
      .then(() => this.metaWritten)
      .then(() => this.writeMeta(this.now(), withSession));
    return this.ended;
  }

  private flush(): void {
    this.timer = undefined;
    if (this.pieces.length === 0) return;
    const chunk = Buffer.concat(this.pieces);
    this.pieces = [];
    this.writing = this.writing.then(async () => {
      const file = await this.file;
      if (file && this.problem === null) {
        try {
          let written = 0;
          while (written < chunk.length) written += (await file.write(chunk, written)).bytesWritten;
          this.bytes += chunk.length;
        } catch (error) {
          this.fail(error);
        }
      }
      this.pendingBytes_ -= chunk.length;
    });
  }

  /** The JSON beside the recording, replaced whole (written aside, then renamed in). */
  private async writeMeta(endedAt: number | null, withSession = false): Promise<RecordingMeta> {
    const meta: RecordingMeta = {
      ...this.options.describe(),
      endedAt,
      bytes: this.bytes,
      complete: endedAt !== null && withSession && this.problem === null,
      problem: this.problem ?? (endedAt !== null && !withSession ? 'this copy ended with its replica, before the session' : null),
    };
    try {
      await writeFile(this.options.metaPath + '.tmp', JSON.stringify(meta) + '\n', { mode: 0o600 });
      await rename(this.options.metaPath + '.tmp', this.options.metaPath);
    } catch (error) {
      this.fail(error);
    }
    return meta;
  }
}
