// Messages between broker nodes on the /peer WebSocket. Every message names its
// session and carries the sender's epoch for that session; a host refuses anything
// from a lower epoch (fencing). The hot path — log entries and their acks — is binary;
// the rest is JSON, parsed as unknown with these schemas.
import { z } from 'zod';

export const PEER_SUBPROTOCOL = 'holdfast.peer.v1';
export const PEER_BEARER_PREFIX = 'holdfast.node.';
export const PEER_PATH = '/peer';

/**
 * A file operation in a session's log (an upload, docs/protocol.md#uploads): every
 * replica applies it at the same point among the person's input, so every replica's
 * home gets the same file. `upload` is the index of the upload's `begin` entry.
 */
export type FileOp =
  /**
   * Start writing a new file that will be put at `path` (relative to the home); `size`:
   * null when not known in advance; `key`: the client's name for it, so a repeated
   * request finds the upload it already began.
   */
  | { op: 'begin'; upload: number; path: string; size: number | null; key?: string }
  /** The upload's bytes from `offset` (the entry's `data`). */
  | { op: 'chunk'; upload: number; offset: number }
  /** Every byte is in: the file takes its place. */
  | { op: 'end'; upload: number }
  /** Given up (cancelled, failed, abandoned): what was written goes. */
  | { op: 'abort'; upload: number; reason: string };

/** One entry of a session's input log: an input (client seq + bytes), a resize, or a file operation. */
export interface LogEntry {
  index: number;
  /** The client's input sequence number; 0 for a resize. */
  seq: number;
  data: Uint8Array | null;
  cols: number;
  rows: number;
  /**
   * Output bytes the replica had produced when it applied this entry. A new standby
   * replaying the log applies the entry only once its app has produced as much, so
   * the app's answers land between the same keystrokes as they did.
   */
  after?: number;
  /**
   * Lockstep terminal apps: how many times the replica's app had set its terminal's mode
   * (tcsetattr) when it applied this entry. A standby applies the entry only once its
   * app has got as far, so a keystroke finds the terminal echoing, or not, as it did.
   */
  modes?: number;
  /**
   * Lockstep sessions: the wall-clock time (µs since the epoch) the primary stamped on
   * the entry when it took it; every replica's app reads it as "now" from the moment the
   * entry is applied (host/lockstep-clock.ts).
   */
  time?: number;
  /** A file operation (an upload's bytes are in `data`); absent for inputs and resizes. */
  file?: FileOp;
  /**
   * Lockstep sessions: the app's process clocks (pid → µs) that had changed since the
   * previous entry when this replica applied this one. Kept with the log, never in
   * APPEND: a replacement standby replaying the history gets them as CLOCKS frames and
   * fast-forwards its app's timers to them, entry by entry.
   */
  clocks?: Array<[number, number]>;
  /**
   * Input typed by someone watching through a share link that lets them type, not by the
   * owner (whose input `seq` numbers): who, from which of their tabs, and that tab's own
   * input number — after a failover the new primary knows what each tab sent, so a
   * resend is taken once. Absent for the owner's input.
   */
  by?: InputAuthor;
  /**
   * The person's microphone: `data` is one Opus packet, which every replica decodes into
   * its app's microphone (host/microphone-feed.ts). Live sound, not kept: once settled its
   * bytes are dropped, and a replica that starts later replays it as nothing.
   */
  microphone?: true;
}

export interface InputAuthor {
  user: string;
  tab: string;
  seq: number;
}

const FileOpSchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('begin'), upload: z.number().int().min(1), path: z.string().min(1).max(4096), size: z.number().int().min(0).nullable(), key: z.string().max(64).optional() }),
  z.object({ op: z.literal('chunk'), upload: z.number().int().min(1), offset: z.number().int().min(0) }),
  z.object({ op: z.literal('end'), upload: z.number().int().min(1) }),
  z.object({ op: z.literal('abort'), upload: z.number().int().min(1), reason: z.string().max(1024) }),
]);

const Entry = z.object({
  index: z.number().int().min(1),
  seq: z.number().int().min(0),
  data: z.string().nullable(),
  cols: z.number().int().min(0),
  rows: z.number().int().min(0),
  after: z.number().int().min(0).optional(),
  modes: z.number().int().min(0).optional(),
  time: z.number().int().min(0).optional(),
  file: FileOpSchema.optional(),
  by: z.object({ user: z.string().min(1).max(64), tab: z.string().min(1).max(64), seq: z.number().int().min(1) }).optional(),
  microphone: z.literal(true).optional(),
});

const base = { sessionId: z.string().min(1).max(64), epoch: z.number().int().min(1) };

export const PeerMessage = z.discriminatedUnion('type', [
  /** primary → new standby: start the app and replay `entries`; reply replica.opened. */
  z.object({
    type: z.literal('replica.open'),
    ...base,
    owner: z.string(),
    appId: z.string(),
    cols: z.number().int().min(1),
    rows: z.number().int().min(1),
    /** A GUI app's scale (device pixels per CSS pixel of the screen it was launched from): its app starts told it (host/sandbox.ts scaleSettings). */
    scale: z.number().min(1).max(4).optional(),
    resumeToken: z.string(),
    startedAt: z.number(),
    /** The session's lockstep key (base64, 32 bytes): its replicas read randomness and the clock through the shim. */
    lockstepKey: z.string().optional(),
    entries: z.array(Entry),
    /**
     * The log's length when it was opened, when more entries than `entries` follow as
     * APPEND and COMMIT frames (a log holding uploads is too large for one message):
     * the standby says replica.opened once it has applied this many.
     */
    replay: z.number().int().min(0).optional(),
    /** A standby placed after the session started: its app's timers fast-forward to the primary's clocks (CLOCKS frames). */
    fastForward: z.boolean().optional(),
    /** The session is recorded: the standby writes its own copy (session/recording.ts), from its first output. */
    recorded: z.boolean().optional(),
  }),
  z.object({ type: z.literal('replica.opened'), ...base, index: z.number().int().min(0) }),
  /** The receiver's epoch for this session is higher: the sender was superseded. */
  z.object({ type: z.literal('replica.stale'), ...base }),
  /** A standby could not start or lost its app: the primary drops it. */
  z.object({ type: z.literal('replica.failed'), ...base, message: z.string() }),
  z.object({ type: z.literal('replica.end'), ...base, message: z.string() }),
  /** primary → standby: the screen's hash once both have applied `index` and are quiet. */
  z.object({ type: z.literal('hash.request'), ...base, index: z.number().int().min(0), request: z.number().int() }),
  /** `files`: the digest of the replica's home (its app's files); absent from nodes that do not send it. */
  z.object({ type: z.literal('hash.reply'), ...base, index: z.number().int().min(0), request: z.number().int(), hash: z.string().nullable(), files: z.string().nullable().optional() }),
  /** new primary → other standbys: send me your entries from `from` (they may be ahead). */
  z.object({ type: z.literal('log.request'), ...base, from: z.number().int().min(1), request: z.number().int() }),
  z.object({ type: z.literal('log.reply'), ...base, request: z.number().int(), entries: z.array(Entry) }),
  /**
   * primary → one of its voting standbys: take over (a drain, or an administrator's
   * move). The standby promotes itself to epoch+1 by compare-and-swap, as in a failover,
   * once it holds `index`; the old primary steps down when the reply says so.
   */
  z.object({ type: z.literal('handover'), ...base, index: z.number().int().min(0), request: z.number().int() }),
  z.object({ type: z.literal('handover.reply'), ...base, request: z.number().int(), ok: z.boolean(), message: z.string() }),
]);
export type PeerMessage = z.infer<typeof PeerMessage>;

export function entryToJson(entry: LogEntry): z.infer<typeof Entry> {
  return { index: entry.index, seq: entry.seq, data: entry.data ? Buffer.from(entry.data).toString('base64') : null, cols: entry.cols, rows: entry.rows, after: entry.after, modes: entry.modes, time: entry.time, file: entry.file, by: entry.by, microphone: entry.microphone };
}

export function entryFromJson(entry: z.infer<typeof Entry>): LogEntry {
  const { file, by, microphone, ...rest } = entry;
  return { ...rest, data: entry.data === null ? null : Buffer.from(entry.data, 'base64'), ...(file ? { file } : {}), ...(by ? { by } : {}), ...(microphone ? { microphone } : {}) };
}

// ---- binary frames: APPEND (primary → standby) and ACKED (standby → primary) ----------

export const APPEND = 0x10;
export const ACKED = 0x11;
export const COMMIT = 0x12;
export const CLOCKS = 0x13;

export type BinaryPeerFrame =
  | { type: 'append'; sessionId: string; epoch: number; entries: LogEntry[] }
  | { type: 'acked'; sessionId: string; epoch: number; index: number }
  | { type: 'commit'; sessionId: string; epoch: number; first: number; marks: ApplyMark[] }
  | { type: 'clocks'; sessionId: string; epoch: number; index: number; clocks: Array<[number, number]> };

function header(type: number, sessionId: string, epoch: number, extra: number): { frame: Buffer; at: number } {
  const sid = Buffer.from(sessionId, 'latin1');
  const frame = Buffer.allocUnsafe(1 + 4 + 1 + sid.length + extra);
  frame[0] = type;
  frame.writeUInt32BE(epoch, 1);
  frame[5] = sid.length;
  sid.copy(frame, 6);
  return { frame, at: 6 + sid.length };
}

/** A file operation's header in APPEND: op (1), upload (4), offset (6), meta length (2), then the meta JSON and the bytes. */
const FILE_OPS = ['begin', 'chunk', 'end', 'abort'] as const;
const FILE_HEADER = 13;

/** A file operation's fields beyond its op, upload and offset (begin's path and size, abort's reason), as JSON. */
function fileMeta(file: FileOp): Buffer {
  if (file.op === 'begin') return Buffer.from(JSON.stringify({ path: file.path, size: file.size, key: file.key }));
  if (file.op === 'abort') return Buffer.from(JSON.stringify({ reason: file.reason }));
  return Buffer.alloc(0);
}

/** An author's fields in APPEND (kinds 7 and 8): user and tab (each a length byte and UTF-8), then the tab's input number (u32). */
function authorBytes(by: InputAuthor): Buffer {
  const user = Buffer.from(by.user, 'utf8');
  const tab = Buffer.from(by.tab, 'utf8');
  const bytes = Buffer.allocUnsafe(2 + user.length + tab.length + 4);
  bytes[0] = user.length;
  user.copy(bytes, 1);
  bytes[1 + user.length] = tab.length;
  tab.copy(bytes, 2 + user.length);
  bytes.writeUInt32BE(by.seq, 2 + user.length + tab.length);
  return bytes;
}

export function encodeAppend(sessionId: string, epoch: number, entries: LogEntry[]): Buffer {
  let size = 2;
  const metas = entries.map((entry) => (entry.file ? fileMeta(entry.file) : entry.by && entry.data ? authorBytes(entry.by) : null));
  entries.forEach((entry, i) => {
    const file = metas[i] ? (entry.file ? FILE_HEADER : 0) + metas[i].length : 0;
    size += 13 + file + (entry.data?.byteLength ?? (file || entry.microphone ? 0 : 4)) + (entry.time === undefined ? 0 : 8);
  });
  const { frame, at: start } = header(APPEND, sessionId, epoch, size);
  let at = frame.writeUInt16BE(entries.length, start);
  entries.forEach((entry, i) => {
    at = frame.writeUInt32BE(entry.index, at);
    at = frame.writeUInt32BE(entry.seq, at);
    // Kinds 1 (input), 2 (resize), 5 (file operation), 7 (input by an author) and 9 (microphone); 3, 4, 6, 8 and 10 are the same with the entry's time first.
    const timed = entry.time === undefined ? 0 : 8;
    const meta = metas[i];
    const file = entry.file && meta ? FILE_HEADER + meta.length : 0;
    const author = !entry.file && meta ? meta.length : 0;
    frame[at++] = entry.microphone ? (timed ? 10 : 9) : file ? (timed ? 6 : 5) : author ? (timed ? 8 : 7) : (entry.data ? 1 : 2) + (timed ? 2 : 0);
    at = frame.writeUInt32BE(timed + file + author + (entry.data ? entry.data.byteLength : file ? 0 : 4), at);
    if (entry.time !== undefined) {
      // µs since the epoch: 51 bits, written as two words (no BigInt on the keystroke path).
      at = frame.writeUInt32BE(Math.floor(entry.time / 2 ** 32), at);
      at = frame.writeUInt32BE(entry.time >>> 0, at);
    }
    if (entry.file && meta) {
      frame[at++] = FILE_OPS.indexOf(entry.file.op);
      at = frame.writeUInt32BE(entry.file.upload, at);
      at = frame.writeUIntBE(entry.file.op === 'chunk' ? entry.file.offset : 0, at, 6);
      at = frame.writeUInt16BE(meta.length, at);
      meta.copy(frame, at);
      at += meta.length;
      if (entry.data) {
        frame.set(entry.data, at);
        at += entry.data.byteLength;
      }
    } else if (entry.data) {
      if (author) at += meta!.copy(frame, at);
      frame.set(entry.data, at);
      at += entry.data.byteLength;
    } else if (!entry.microphone) {
      at = frame.writeUInt16BE(entry.cols, at);
      at = frame.writeUInt16BE(entry.rows, at);
    }
  });
  return frame;
}

export function encodeAcked(sessionId: string, epoch: number, index: number): Buffer {
  const { frame, at } = header(ACKED, sessionId, epoch, 4);
  frame.writeUInt32BE(index, at);
  return frame;
}

/** Where a replica's app was when the replica applied an entry: its output so far, and its terminal's mode changes (absent: not counted). */
export interface ApplyMark {
  after: number;
  modes?: number;
}

/** COMMIT's per-entry mode count for "not counted". */
const NO_MODES = 0xffffffff;

/** The primary applied entries `first`…, each where `marks` says its app was: per entry, output u48 and mode changes u32. */
export function encodeCommit(sessionId: string, epoch: number, first: number, marks: readonly ApplyMark[]): Buffer {
  const { frame, at: start } = header(COMMIT, sessionId, epoch, 6 + 10 * marks.length);
  let at = frame.writeUInt32BE(first, start);
  at = frame.writeUInt16BE(marks.length, at);
  for (const mark of marks) {
    at = frame.writeUIntBE(mark.after, at, 6);
    at = frame.writeUInt32BE(mark.modes === undefined ? NO_MODES : Math.min(mark.modes, NO_MODES - 1), at);
  }
  return frame;
}

/** What an applied entry tells its standbys (COMMIT). */
export function markOf(entry: LogEntry): ApplyMark {
  return entry.modes === undefined ? { after: entry.after ?? 0 } : { after: entry.after ?? 0, modes: entry.modes };
}

/** The primary's app's process clocks (pid → µs) that changed, read when it had applied entry `index`. */
export function encodeClocks(sessionId: string, epoch: number, index: number, clocks: ReadonlyArray<readonly [number, number]>): Buffer {
  const { frame, at: start } = header(CLOCKS, sessionId, epoch, 6 + 12 * clocks.length);
  let at = frame.writeUInt32BE(index, start);
  at = frame.writeUInt16BE(clocks.length, at);
  for (const [pid, clock] of clocks) {
    at = frame.writeUInt32BE(pid, at);
    at = frame.writeUInt32BE(Math.floor(clock / 2 ** 32), at);
    at = frame.writeUInt32BE(clock >>> 0, at);
  }
  return frame;
}

/** Decodes a binary peer frame, or returns why it is malformed. */
export function decodePeerFrame(frame: Buffer): BinaryPeerFrame | string {
  if (frame.length < 6) return 'peer frame too short';
  const type = frame[0];
  const epoch = frame.readUInt32BE(1);
  const sidLength = frame[5]!;
  if (frame.length < 6 + sidLength) return 'peer frame too short';
  const sessionId = frame.toString('latin1', 6, 6 + sidLength);
  let at = 6 + sidLength;
  if (type === ACKED) {
    if (frame.length !== at + 4) return 'ACKED frame has the wrong length';
    return { type: 'acked', sessionId, epoch, index: frame.readUInt32BE(at) };
  }
  if (type === COMMIT) {
    if (frame.length < at + 6) return 'COMMIT frame too short';
    const first = frame.readUInt32BE(at);
    const count = frame.readUInt16BE(at + 4);
    at += 6;
    if (frame.length !== at + 10 * count) return 'COMMIT frame has the wrong length';
    const marks: ApplyMark[] = [];
    for (let i = 0; i < count; i++) {
      const after = frame.readUIntBE(at + 10 * i, 6);
      const modes = frame.readUInt32BE(at + 10 * i + 6);
      marks.push(modes === NO_MODES ? { after } : { after, modes });
    }
    return { type: 'commit', sessionId, epoch, first, marks };
  }
  if (type === CLOCKS) {
    if (frame.length < at + 6) return 'CLOCKS frame too short';
    const index = frame.readUInt32BE(at);
    const count = frame.readUInt16BE(at + 4);
    at += 6;
    if (frame.length !== at + 12 * count) return 'CLOCKS frame has the wrong length';
    const clocks: Array<[number, number]> = [];
    for (let i = 0; i < count; i++, at += 12) clocks.push([frame.readUInt32BE(at), frame.readUInt32BE(at + 4) * 2 ** 32 + frame.readUInt32BE(at + 8)]);
    return { type: 'clocks', sessionId, epoch, index, clocks };
  }
  if (type !== APPEND) return `unknown peer frame type 0x${(type ?? 0).toString(16)}`;
  if (frame.length < at + 2) return 'APPEND frame too short';
  const count = frame.readUInt16BE(at);
  at += 2;
  const entries: LogEntry[] = [];
  for (let i = 0; i < count; i++) {
    if (frame.length < at + 13) return 'APPEND entry truncated';
    const index = frame.readUInt32BE(at);
    const seq = frame.readUInt32BE(at + 4);
    const kind = frame[at + 8];
    const length = frame.readUInt32BE(at + 9);
    at += 13;
    if (frame.length < at + length) return 'APPEND entry data truncated';
    const timed = kind === 3 || kind === 4 || kind === 6 || kind === 8 || kind === 10;
    if (timed && length < 8) return 'APPEND entry too short for its time';
    const time = timed ? frame.readUInt32BE(at) * 2 ** 32 + frame.readUInt32BE(at + 4) : undefined;
    const body = at + (timed ? 8 : 0);
    const bodyLength = length - (timed ? 8 : 0);
    const stamp = time === undefined ? {} : { time };
    if (kind === 1 || kind === 3) entries.push({ index, seq, data: frame.subarray(body, body + bodyLength), cols: 0, rows: 0, ...stamp });
    else if ((kind === 2 || kind === 4) && bodyLength === 4) entries.push({ index, seq, data: null, cols: frame.readUInt16BE(body), rows: frame.readUInt16BE(body + 2), ...stamp });
    else if (kind === 5 || kind === 6) {
      const entry = decodeFileEntry(frame.subarray(body, body + bodyLength));
      if (typeof entry === 'string') return entry;
      entries.push({ index, seq, ...entry, cols: 0, rows: 0, ...stamp });
    } else if (kind === 7 || kind === 8) {
      const entry = decodeAuthorEntry(frame.subarray(body, body + bodyLength));
      if (typeof entry === 'string') return entry;
      entries.push({ index, seq, ...entry, cols: 0, rows: 0, ...stamp });
    } else if (kind === 9 || kind === 10) entries.push({ index, seq, data: frame.subarray(body, body + bodyLength), cols: 0, rows: 0, microphone: true, ...stamp });
    else return 'APPEND entry of unknown kind';
    at += length;
  }
  if (at !== frame.length) return 'APPEND frame has trailing bytes';
  return { type: 'append', sessionId, epoch, entries };
}

/** An author's input in APPEND (after the entry's time): who typed it, and what. */
function decodeAuthorEntry(body: Buffer): { by: InputAuthor; data: Uint8Array } | string {
  const userLength = body[0] ?? 0;
  const tabAt = 1 + userLength;
  const tabLength = body[tabAt] ?? 0;
  const seqAt = tabAt + 1 + tabLength;
  if (userLength === 0 || tabLength === 0 || body.length < seqAt + 4) return 'APPEND author entry truncated';
  const seq = body.readUInt32BE(seqAt);
  if (seq === 0) return 'APPEND author entry has no input number';
  return { by: { user: body.toString('utf8', 1, tabAt), tab: body.toString('utf8', tabAt + 1, seqAt), seq }, data: body.subarray(seqAt + 4) };
}

/** A file operation's body in APPEND (after the entry's time): its op, its data, or what is wrong with it. */
function decodeFileEntry(body: Buffer): { file: FileOp; data: Uint8Array | null } | string {
  if (body.length < FILE_HEADER) return 'APPEND file entry too short';
  const op = FILE_OPS[body[0]!];
  const upload = body.readUInt32BE(1);
  const offset = body.readUIntBE(5, 6);
  const metaLength = body.readUInt16BE(11);
  if (body.length < FILE_HEADER + metaLength) return 'APPEND file entry truncated';
  const bytes = body.subarray(FILE_HEADER + metaLength);
  let meta: unknown = {};
  try {
    if (metaLength > 0) meta = JSON.parse(body.toString('utf8', FILE_HEADER, FILE_HEADER + metaLength));
  } catch {
    return 'APPEND file entry has malformed fields';
  }
  const parsed = FileOpSchema.safeParse({ ...(meta as object), op, upload, ...(op === 'chunk' ? { offset } : {}) });
  if (!parsed.success) return 'APPEND file entry has malformed fields';
  return { file: parsed.data, data: op === 'chunk' ? bytes : null };
}
