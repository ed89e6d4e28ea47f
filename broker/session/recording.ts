// One replica's recording of a terminal session, as an asciicast v2 file
// (https://docs.asciinema.org/manual/asciicast/v2/): a header line, then one event a
// line — output ("o"), the input log's keystrokes ("i") and resizes ("r") — with times
// in seconds since the session started (the same start on every replica). Beside it a
// small JSON file says how the recording ended. Every replica of a session records
// (docs/operations.md, "Recording"): what a replica writes is its own app's output and
// the log entries it applies, so a promoted standby's file already holds everything.
//
// Writing never holds the session up (recording-file.ts: batched writes, bounded
// memory; a failed write marks the copy incomplete and the session goes on). A graphical
// app's replica records its display's RFB stream instead (rfb-recording-writer.ts),
// through the same ReplicaRecording.
import { StringDecoder } from 'node:string_decoder';
import { RecordingFile, type RecordingMeta } from './recording-file.js';

export type { RecordingMeta } from './recording-file.js';

/** What a recording is of: its header's fields. */
export interface RecordingHeader {
  sessionId: string;
  /** A terminal's recording (asciicast) or a graphical display's (RFB). */
  kind?: 'terminal' | 'rfb';
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

export class RecordingWriter implements RecordingSink {
  private readonly now: () => number;
  private readonly file: RecordingFile;
  /** Output is decoded as a stream: a character split across two reads is written whole, once. */
  private readonly output_ = new StringDecoder('utf8');
  private readonly input_ = new StringDecoder('utf8');
  /** The last event's time (s): times never go back (a standby's output and its primary's input stamps interleave). */
  private lastT = 0;
  /** Whose keys the last input was (the owner's until someone typing through a share link says otherwise). */
  private lastAuthor: string;
  private readonly owner: string;
  private ending = false;

  constructor(private readonly options: RecordingWriterOptions) {
    this.now = options.now ?? Date.now;
    const { header } = options;
    this.owner = this.lastAuthor = header.owner;
    this.file = new RecordingFile({
      path: options.castPath,
      metaPath: options.metaPath,
      describe: () => ({ sessionId: header.sessionId, owner: header.owner, appId: header.appId, appName: header.appName, node: header.node, startedAt: header.startedAt, seconds: this.lastT, kind: 'terminal' }),
      ...(options.after ? { after: options.after } : {}),
      ...(options.now ? { now: options.now } : {}),
      ...(options.flushMs !== undefined ? { flushMs: options.flushMs } : {}),
      ...(options.maxPendingBytes !== undefined ? { maxPendingBytes: options.maxPendingBytes } : {}),
      warn: options.warn,
    });
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
    return this.file.intact;
  }

  get behind(): boolean {
    return false;
  }

  failed(why: string): void {
    this.file.fail(new Error(why));
  }

  /**
   * Writes what is left and closes the file, then the JSON beside it. `withSession`:
   * the session ended (not only this replica). Never rejects.
   */
  end(withSession: boolean): Promise<RecordingMeta> {
    if (!this.ending) {
      const rest = this.output_.end();
      if (rest) this.event(this.now(), 'o', rest);
      this.ending = true;
    }
    return this.file.end(withSession);
  }

  private event(atMs: number, code: 'o' | 'i' | 'r' | 'm', data: string): void {
    if (this.ending) return;
    const t = Math.max(this.lastT, Math.round(atMs - this.options.header.startedAt) / 1000);
    this.lastT = t;
    // Written out rather than JSON.stringify([t, code, data]): the same line, without an array per keystroke.
    this.push(`[${t},"${code}",${JSON.stringify(data)}]`);
  }

  private push(line: string): void {
    this.file.push(Buffer.from(line + '\n'));
  }
}

/** What a replica's recording writes to: an asciicast (RecordingWriter) or an RFB recording (RfbRecordingWriter). */
export interface RecordingSink {
  /** What the display produced, read at `atMs`. */
  output(data: Uint8Array, atMs?: number): void;
  /** One log entry's input, applied at `atMs`; `author`: who typed it, where the entry says. */
  input(data: Uint8Array, atMs?: number, author?: string): void;
  resize(cols: number, rows: number, atMs?: number): void;
  readonly intact: boolean;
  /** Its file is behind: a source that can wait (a display's recorder) asks for nothing more for now. */
  readonly behind: boolean;
  /** What feeds it could not go on: the copy is incomplete. */
  failed(why: string): void;
  end(withSession: boolean): Promise<RecordingMeta>;
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

  private readonly writer: RecordingSink;
  private readonly now: () => number;

  constructor(options: {
    writer: RecordingSink;
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

  /** Its file is behind (the display's recorder waits before asking for more). */
  get behind(): boolean {
    return this.writer.behind;
  }

  /** Its source broke off (the display's recorder lost its stream): the copy is incomplete. */
  failed(why: string): void {
    this.writer.failed(why);
  }

  end(withSession: boolean): Promise<RecordingMeta> {
    const closed = this.writer.end(withSession);
    this.ending?.(closed);
    return closed;
  }
}
