// One replica's recording of a terminal session, as an asciicast v2 file
// (https://docs.asciinema.org/manual/asciicast/v2/): a header line, then one event a
// line — output ("o"), the input log's keystrokes ("i") and resizes ("r") — with times
// in seconds since the session started (the same start on every replica). Beside it a
// small JSON file says how the recording ended. Every replica of a session records
// (docs/operations.md, "Recording"): what a replica writes is its own app's output and
// the log entries it applies, so a promoted standby's file already holds everything.
//
// Writing never holds the session up: events gather in memory and go to the file in
// one write every FLUSH_MS (one descriptor, in order); a write that fails (a full disk)
// is logged once and the recording is marked incomplete, and the session goes on.
import { open, rename, writeFile, type FileHandle } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';

/** What a recording is of: its header's fields. */
export interface RecordingHeader {
  sessionId: string;
  owner: string;
  appId: string;
  appName: string;
  /** The node this copy was written on. */
  node: string;
  /** When the session started (ms since the epoch): time 0 of every event. */
  startedAt: number;
  /** The size the app started at (resizes follow as events). */
  cols: number;
  rows: number;
}

/** The JSON beside a recording: how it stands (written at its start, and again at its end). */
export interface RecordingMeta {
  sessionId: string;
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

export interface RecordingWriterOptions {
  header: RecordingHeader;
  castPath: string;
  metaPath: string;
  /** Resolves when the file may be opened (a previous copy of the same session on this node has closed). */
  after?: Promise<void>;
  /** ms since the epoch (tests give their own). */
  now?: () => number;
  flushMs?: number;
  /** Bytes gathered or being written at most: beyond it events are dropped (the disk does not keep up) and the copy is incomplete. */
  maxPendingBytes?: number;
  /** Told once, at the first failure. */
  warn: (message: string, fields: Record<string, unknown>) => void;
}

/** How often gathered events go to the file: a keystroke's echo is on disk within this. */
const FLUSH_MS = 100;
const MAX_PENDING_BYTES = 8 * 1024 * 1024;

export class RecordingWriter {
  private readonly now: () => number;
  private readonly file: Promise<FileHandle | null>;
  /** Lines gathered since the last write. */
  private lines: string[] = [];
  /** What is gathered or being written, in characters (a bound on memory, counted without encoding each line). */
  private pendingBytes = 0;
  /** Of that, the lines gathered since the last write. */
  private gatheredBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  /** The write in progress (writes are chained: one at a time, in order). */
  private writing: Promise<void> = Promise.resolve();
  /** Output is decoded as a stream: a character split across two reads is written whole, once. */
  private readonly output_ = new StringDecoder('utf8');
  private readonly input_ = new StringDecoder('utf8');
  /** The last event's time (s): times never go back (a standby's output and its primary's input stamps interleave). */
  private lastT = 0;
  private bytes = 0;
  private problem: string | null = null;
  /** Whose keys the last input was (the owner's until someone typing through a share link says otherwise). */
  private lastAuthor: string;
  private readonly owner: string;
  private ended: Promise<RecordingMeta> | null = null;
  /** The JSON beside it is written one version at a time, in order. */
  private metaWritten: Promise<unknown>;

  constructor(private readonly options: RecordingWriterOptions) {
    this.now = options.now ?? Date.now;
    const { header } = options;
    this.owner = this.lastAuthor = header.owner;
    this.push(
      JSON.stringify({
        version: 2,
        width: header.cols,
        height: header.rows,
        timestamp: Math.floor(header.startedAt / 1000),
        title: header.appName,
        env: { TERM: 'xterm-256color' },
        holdfast: { session: header.sessionId, owner: header.owner, app: header.appId, node: header.node, startedAt: header.startedAt },
      }),
    );
    const after = options.after ?? Promise.resolve();
    this.file = after.then(() => open(options.castPath, 'w', 0o600)).catch((error: unknown) => (this.fail(error), null));
    this.metaWritten = this.file.then(() => this.writeMeta(null));
  }

  /** Bytes the app wrote, read at `atMs` (default: now). */
  output(data: Uint8Array, atMs = this.now()): void {
    const text = this.output_.write(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    if (text) this.event(atMs, 'o', text);
  }

  /**
   * Keystrokes of one log entry, applied at `atMs`. `author`: who typed them, where the
   * entry says (a shared session); a change of author is marked before them.
   */
  input(data: Uint8Array, atMs = this.now(), author?: string): void {
    const text = this.input_.write(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    // The owner's keys are the rule; a marker says whenever someone else (through a share link) starts or stops typing.
    const who = author ?? this.owner;
    if (who !== this.lastAuthor) {
      this.lastAuthor = who;
      this.event(atMs, 'm', `input: ${who}`);
    }
    if (text) this.event(atMs, 'i', text);
  }

  resize(cols: number, rows: number, atMs = this.now()): void {
    this.event(atMs, 'r', `${cols}x${rows}`);
  }

  /** Whether it is still written whole (no write failed, nothing dropped). */
  get intact(): boolean {
    return this.problem === null;
  }

  /**
   * Writes what is left and closes the file, then the JSON beside it. `withSession`:
   * the session ended (not only this replica). Never rejects.
   */
  end(withSession: boolean): Promise<RecordingMeta> {
    if (this.ended) return this.ended;
    const rest = this.output_.end();
    if (rest) this.event(this.now(), 'o', rest);
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

  private event(atMs: number, code: 'o' | 'i' | 'r' | 'm', data: string): void {
    if (this.ended) return;
    const t = Math.max(this.lastT, Math.round(atMs - this.options.header.startedAt) / 1000);
    this.lastT = t;
    // Written out rather than JSON.stringify([t, code, data]): the same line, without an array per keystroke.
    this.push(`[${t},"${code}",${JSON.stringify(data)}]`);
  }

  private push(line: string): void {
    if (this.problem !== null) return;
    const size = line.length + 1;
    if (this.pendingBytes + size > (this.options.maxPendingBytes ?? MAX_PENDING_BYTES)) return this.fail(new Error('the disk did not keep up with the session: events were dropped'));
    this.lines.push(line);
    this.pendingBytes += size;
    this.gatheredBytes += size;
    this.timer ??= setTimeout(() => this.flush(), this.options.flushMs ?? FLUSH_MS);
  }

  private flush(): void {
    this.timer = undefined;
    if (this.lines.length === 0) return;
    const chunk = Buffer.from(this.lines.join('\n') + '\n');
    this.lines = [];
    const gathered = this.gatheredBytes;
    this.gatheredBytes = 0;
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
      this.pendingBytes -= gathered;
    });
  }

  private fail(error: unknown): void {
    if (this.problem !== null) return;
    this.problem = error instanceof Error ? error.message : String(error);
    this.lines = [];
    this.pendingBytes -= this.gatheredBytes;
    this.gatheredBytes = 0;
    this.options.warn('recording failed: the session goes on, its recording is incomplete', { session: this.options.header.sessionId, file: this.options.castPath, error: this.problem });
  }

  /** The JSON beside the recording, replaced whole (written aside, then renamed in). */
  private async writeMeta(endedAt: number | null, withSession = false): Promise<RecordingMeta> {
    const { header } = this.options;
    const meta: RecordingMeta = {
      sessionId: header.sessionId,
      owner: header.owner,
      appId: header.appId,
      appName: header.appName,
      node: header.node,
      startedAt: header.startedAt,
      endedAt,
      seconds: this.lastT,
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

/** What a recording is told of one log entry (peer-protocol.ts's LogEntry, as far as it is read here). */
export interface RecordedEntry {
  seq: number;
  data: Uint8Array | null;
  cols: number;
  rows: number;
  /** Lockstep: the primary's stamp (µs since the epoch), the same on every replica. */
  time?: number;
  /** A file operation: not recorded (its bytes are an upload, not keystrokes). */
  file?: unknown;
  /** Who typed it, where the entry says (someone typing through a share link); absent: the session's owner. */
  by?: { user: string };
}

/**
 * A replica's recording, as its session feeds it: the output its app reads, and each
 * log entry as it is applied. An entry is timed by its lockstep stamp where it has one
 * (so input has the same times on every replica), else by the clock. A standby replaying
 * the log it was opened with runs faster than the person typed: until it has caught up,
 * its app's output is timed by the entry it follows (without stamps the replayed part's
 * times are compressed: docs/operations.md, "Recording").
 */
export class ReplicaRecording {
  private replaying: boolean;
  /** The time of the last entry applied (ms since the epoch). */
  private entryAt: number;

  private readonly writer: RecordingWriter;
  private readonly now: () => number;

  constructor(options: {
    writer: RecordingWriter;
    startedAt: number;
    /** A standby opened with a log to replay. */
    replaying: boolean;
    now?: () => number;
    /** It is ending: resolves once its files are closed. */
    ending?: (closed: Promise<RecordingMeta>) => void;
  }) {
    this.writer = options.writer;
    this.replaying = options.replaying;
    this.entryAt = options.startedAt;
    this.now = options.now ?? Date.now;
    this.ending = options.ending;
  }

  private readonly ending: ((closed: Promise<RecordingMeta>) => void) | undefined;

  output(data: Uint8Array): void {
    this.writer.output(data, this.replaying ? this.entryAt : this.now());
  }

  applied(entry: RecordedEntry): void {
    const at = entry.time !== undefined ? entry.time / 1000 : this.now();
    this.entryAt = Math.max(this.entryAt, at);
    if (entry.file !== undefined) return;
    if (entry.data) this.writer.input(entry.data, at, entry.by?.user);
    else this.writer.resize(entry.cols, entry.rows, at);
  }

  /** The replica has applied the log it was opened with: its output is live from here. */
  caughtUp(): void {
    this.replaying = false;
  }

  get intact(): boolean {
    return this.writer.intact;
  }

  end(withSession: boolean): Promise<RecordingMeta> {
    const closed = this.writer.end(withSession);
    this.ending?.(closed);
    return closed;
  }
}
