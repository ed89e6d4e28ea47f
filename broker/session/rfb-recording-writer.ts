// One replica's recording of a graphical session (shared/protocol/rfb-recording.ts has
// the format and why it is the RFB stream): the bytes its own display sent its recorder
// (host/rfb-recorder.ts), and each input message its log applied, timed in ms since the
// session started. Written through a RecordingFile: batched, bounded, and a failure
// marks the copy incomplete without touching the session.
import { encodeHeaderLine, encodeRecord, RFB_RECORDING_FORMAT } from '../../shared/protocol/index.js';
import { RecordingFile, type RecordingMeta } from './recording-file.js';
import type { RecordingHeader, RecordingSink } from './recording.js';

/** Bytes not yet on disk past which the recorder asks the display for nothing more (until they are written). */
const BEHIND_BYTES = 1024 * 1024;

export interface RfbRecordingWriterOptions {
  header: RecordingHeader;
  path: string;
  metaPath: string;
  after?: Promise<void>;
  now?: () => number;
  flushMs?: number;
  maxPendingBytes?: number;
  warn: (message: string, fields: Record<string, unknown>) => void;
}

export class RfbRecordingWriter implements RecordingSink {
  private readonly now: () => number;
  private readonly file: RecordingFile;
  /** The last record's time (ms): times never go back. */
  private lastT = 0;
  private lastAuthor: string;
  private ending = false;

  constructor(private readonly options: RfbRecordingWriterOptions) {
    this.now = options.now ?? Date.now;
    const { header } = options;
    this.lastAuthor = header.owner;
    this.file = new RecordingFile({
      path: options.path,
      metaPath: options.metaPath,
      describe: () => ({ sessionId: header.sessionId, owner: header.owner, appId: header.appId, appName: header.appName, node: header.node, startedAt: header.startedAt, seconds: this.lastT / 1000, kind: 'rfb' }),
      ...(options.after ? { after: options.after } : {}),
      ...(options.now ? { now: options.now } : {}),
      ...(options.flushMs !== undefined ? { flushMs: options.flushMs } : {}),
      ...(options.maxPendingBytes !== undefined ? { maxPendingBytes: options.maxPendingBytes } : {}),
      warn: options.warn,
    });
    this.file.push(
      encodeHeaderLine({ format: RFB_RECORDING_FORMAT, version: 1, session: header.sessionId, owner: header.owner, app: header.appId, appName: header.appName, node: header.node, startedAt: header.startedAt }),
    );
  }

  /** Bytes the display sent the recorder, read at `atMs`. */
  output(data: Uint8Array, atMs = this.now()): void {
    // Copied: the reader's buffer may be reused.
    this.record('server', atMs, data);
  }

  /** One input message the log applied; a change of who typed is marked before it (a shared session). */
  input(data: Uint8Array, atMs = this.now(), author?: string): void {
    const who = author ?? this.options.header.owner;
    if (who !== this.lastAuthor) {
      this.lastAuthor = who;
      this.record('marker', atMs, new TextEncoder().encode(`input: ${who}`));
    }
    this.record('input', atMs, data);
  }

  /** A graphical display's size is an input message (SetDesktopSize), recorded as one. */
  resize(): void {}

  /** The file is behind the display: the recorder waits before asking for more. */
  get behind(): boolean {
    return this.file.pendingBytes > BEHIND_BYTES;
  }

  get intact(): boolean {
    return this.file.intact;
  }

  /** The recorder could not go on (the display broke its stream): what follows is not recorded. */
  failed(why: string): void {
    this.file.fail(new Error(why));
  }

  /** A marker at the end says when it ended: a still screen sends nothing, and the recording's length is the session's, not its last picture's. */
  end(withSession: boolean): Promise<RecordingMeta> {
    if (!this.ending) this.record('marker', this.now(), new TextEncoder().encode(withSession ? 'end' : 'end of this replica'));
    this.ending = true;
    return this.file.end(withSession);
  }

  private record(kind: 'server' | 'input' | 'marker', atMs: number, bytes: Uint8Array): void {
    const t = Math.max(this.lastT, Math.round(atMs - this.options.header.startedAt));
    this.lastT = t;
    this.file.push(encodeRecord(kind, t, bytes));
  }
}
