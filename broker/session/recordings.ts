// The recordings on this node's disk (node.recordings.dir): one recording file (an
// asciicast for a terminal app, an RFB recording for a graphical one) and one JSON file
// beside it per session this node held a replica of (recording.ts and
// rfb-recording-writer.ts write them). It starts a replica's recording, lists the copies here, finds one's file, and
// sweeps away ended ones past the retention time.
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { RecordingCopySchema, type RecordingCopy } from '../../shared/protocol/index.js';
import { RecordingWriter, ReplicaRecording, type RecordingHeader } from './recording.js';
import { RfbRecordingWriter } from './rfb-recording-writer.js';

export interface RecordingsOptions {
  dir: string;
  node: string;
  /** Ended recordings older than this are deleted by the sweep. */
  retentionDays: number;
  warn: (message: string, fields: Record<string, unknown>) => void;
  /** ms since the epoch (tests give their own). */
  now?: () => number;
}

/** A session id as a file name: what newSessionId makes (an id from a request is checked against it). */
const SESSION_ID = /^[A-Za-z0-9_-]{1,64}$/;
const SWEEP_MS = 60 * 60 * 1000;
/** How long a new copy of a session waits for the last one here to close. */
const PREVIOUS_CLOSE_MS = 5000;

export class Recordings {
  /** Copies being written, by session: a replica started again here waits for the last one to close. */
  private readonly open = new Map<string, Promise<unknown>>();
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: RecordingsOptions) {}

  get dir(): string {
    return this.options.dir;
  }

  /** Starts recording a replica (a standby: `replaying` the log it was opened with, first). */
  start(header: Omit<RecordingHeader, 'node'>, replaying: boolean): ReplicaRecording {
    mkdirSync(this.options.dir, { recursive: true, mode: 0o700 });
    const id = header.sessionId;
    if (!SESSION_ID.test(id)) throw new Error(`a session id that cannot name a file: ${JSON.stringify(id)}`);
    const common = { header: { ...header, node: this.options.node }, metaPath: this.metaPath(id), after: this.previous(id), warn: this.options.warn, ...(this.options.now ? { now: this.options.now } : {}) };
    const writer = header.kind === 'rfb' ? new RfbRecordingWriter({ ...common, path: this.filePath(id, 'rfb') }) : new RecordingWriter({ ...common, castPath: this.filePath(id, 'terminal') });
    // Until it has closed, a copy started again here (a new standby of the same session) waits to open the file.
    this.open.set(id, new Promise(() => {}));
    return new ReplicaRecording({
      writer,
      startedAt: header.startedAt,
      replaying,
      ...(this.options.now ? { now: this.options.now } : {}),
      ending: (closed) => {
        this.open.set(id, closed);
        void closed.then(() => this.open.get(id) === closed && this.open.delete(id));
      },
    });
  }

  /** Resolves when the last copy of `id` here has closed, or after a while (one whose replica never ended must not stop this one). */
  private previous(id: string): Promise<void> | undefined {
    const last = this.open.get(id);
    if (!last) return undefined;
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([last, new Promise((r) => (timer = setTimeout(r, PREVIOUS_CLOSE_MS)))]).then(() => clearTimeout(timer));
  }

  /** The copies on this node, newest first. */
  list(): RecordingCopy[] {
    let names: string[];
    try {
      names = readdirSync(this.options.dir);
    } catch {
      return [];
    }
    const copies: RecordingCopy[] = [];
    for (const name of names) {
      if (!name.endsWith('.json')) continue;
      const copy = this.read(name.slice(0, -'.json'.length));
      if (copy) copies.push(copy);
    }
    return copies.sort((a, b) => b.startedAt - a.startedAt);
  }

  /** One session's copy here and its file (asciicast, or an RFB recording), or null. */
  file(sessionId: string): { copy: RecordingCopy; path: string; size: number } | null {
    if (!SESSION_ID.test(sessionId)) return null;
    const copy = this.read(sessionId);
    if (!copy) return null;
    try {
      const path = this.filePath(sessionId, copy.kind);
      return { copy, path, size: statSync(path).size };
    } catch {
      return null;
    }
  }

  /**
   * Deletes ended recordings older than the retention time, and ones whose node died
   * before they ended (no end time) once their file is as old. Returns how many went.
   */
  sweep(): number {
    const cutoff = (this.options.now ?? Date.now)() - this.options.retentionDays * 24 * 3600 * 1000;
    let removed = 0;
    for (const copy of this.list()) {
      if (this.open.has(copy.sessionId)) continue;
      const endedAt = copy.endedAt ?? this.modifiedAt(this.filePath(copy.sessionId, copy.kind)) ?? copy.startedAt;
      if (endedAt >= cutoff) continue;
      rmSync(this.filePath(copy.sessionId, copy.kind), { force: true });
      rmSync(this.metaPath(copy.sessionId), { force: true });
      removed++;
    }
    return removed;
  }

  /** Sweeps now and every hour (until stop). */
  startSweeping(): void {
    const sweep = () => {
      try {
        this.sweep();
      } catch (error) {
        this.options.warn('the recordings sweep failed', { dir: this.options.dir, error: String(error) });
      }
    };
    sweep();
    this.sweepTimer = setInterval(sweep, SWEEP_MS);
    this.sweepTimer.unref();
  }

  /** Stops sweeping, and resolves once every copy that has ended is closed (at most `ms`). */
  async stop(ms = 2000): Promise<void> {
    clearInterval(this.sweepTimer);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(this.open.values()), new Promise((r) => (timer = setTimeout(r, ms)))]);
    clearTimeout(timer);
  }

  private read(sessionId: string): RecordingCopy | null {
    try {
      const parsed = RecordingCopySchema.safeParse(JSON.parse(readFileSync(this.metaPath(sessionId), 'utf8')));
      if (!parsed.success || parsed.data.sessionId !== sessionId) return null;
      // A copy still written (or whose node died while it was) says how far it got: its file's size and last change.
      const copy = parsed.data;
      if (copy.endedAt === null) {
        const path = this.filePath(sessionId, copy.kind);
        copy.bytes = this.size(path) ?? copy.bytes;
        const until = this.open.has(sessionId) ? (this.options.now ?? Date.now)() : (this.modifiedAt(path) ?? copy.startedAt);
        copy.seconds = Math.max(copy.seconds, Math.round(until - copy.startedAt) / 1000);
      }
      return copy;
    } catch {
      return null;
    }
  }

  private modifiedAt(path: string): number | null {
    try {
      return statSync(path).mtimeMs;
    } catch {
      return null;
    }
  }

  private size(path: string): number | null {
    try {
      return statSync(path).size;
    } catch {
      return null;
    }
  }

  /** A terminal's asciicast is ID.cast; a graphical session's RFB recording ID.rfbrec. */
  private filePath(id: string, kind: RecordingCopy['kind']): string {
    return join(this.options.dir, kind === 'rfb' ? `${id}.rfbrec` : `${id}.cast`);
  }

  private metaPath(id: string): string {
    return join(this.options.dir, `${id}.json`);
  }
}
