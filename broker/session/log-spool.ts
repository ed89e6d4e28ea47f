// Where a replicated session's log keeps the bytes of its uploads once every replica
// holds and has written them: a file on the node's disk instead of the node's memory.
// The log is kept whole for the session's life (a replacement standby replays it from
// the start), and an upload's chunks are most of its bytes: kept in memory, a few
// uploads held gigabytes, every fork of the node (a sandbox command) copied the page
// tables of all of it, and the garbage collector ran ever more often for it. The file
// is unlinked as soon as it is made: it is gone when the session closes it or the node
// dies, and nothing else can open it. It never takes the node's reserve
// (node.diskReserveMiB, kept for its own state, logs and audit): short of room, the
// log keeps the bytes in memory, as it did before there was a spool.
import { randomUUID } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readSync, statfsSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { LogEntry } from '../cluster/peer-protocol.js';

/** Where a chunk's bytes are in the spool. */
export interface SpoolRef {
  readonly offset: number;
  readonly length: number;
}

/** What the log needs of a spool (LogSpool; a test's stand-in). */
export interface ChunkStore {
  put(data: Uint8Array): SpoolRef | null;
  get(ref: SpoolRef): Uint8Array;
  close(): void;
}

/** Where a spool goes, and the free space it leaves alone. */
export interface LogSpoolOptions {
  /** The node's state directory's spool folder (made on first use, 0700). */
  dir: string;
  /** Free bytes on its file system the spool never takes. */
  reserveBytes: number;
}

/** Bytes written between two looks at the file system's free space, at most. */
const ROOM_CHECK_BYTES = 16 * 1024 * 1024;

export class LogSpool implements ChunkStore {
  private fd: number | null = null;
  private size = 0;
  private closed = false;
  /** Bytes it may still write before it looks at the free space again. */
  private room = 0;

  constructor(private readonly options: LogSpoolOptions) {}

  /** Keeps `data`; null when it cannot (no room above the reserve, a full disk, a closed spool): the log then keeps the bytes itself. */
  put(data: Uint8Array): SpoolRef | null {
    if (this.closed) return null;
    try {
      this.fd ??= this.open();
      if (this.room < data.length) this.room = Math.min(ROOM_CHECK_BYTES, this.free() - this.options.reserveBytes);
      if (this.room < data.length) return null;
      // Written where the file ends; a failed write leaves `size` as it was, and the next overwrites it.
      for (let done = 0; done < data.length; ) done += writeSync(this.fd, data, done, data.length - done, this.size + done);
    } catch {
      return null;
    }
    const ref = { offset: this.size, length: data.length };
    this.size += data.length;
    this.room -= data.length;
    return ref;
  }

  /** The bytes at `ref` (read back for a standby that replays the log). */
  get(ref: SpoolRef): Uint8Array {
    if (this.fd === null) throw new Error('the log spool holds nothing (closed, or never written)');
    const bytes = Buffer.allocUnsafe(ref.length);
    for (let got = 0; got < ref.length; ) {
      const n = readSync(this.fd, bytes, got, ref.length - got, ref.offset + got);
      if (n === 0) throw new Error(`the log spool ends before byte ${ref.offset + ref.length}`);
      got += n;
    }
    return bytes;
  }

  /** Bytes held. */
  get bytes(): number {
    return this.size;
  }

  close(): void {
    this.closed = true;
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private free(): number {
    const fs = statfsSync(this.options.dir);
    return fs.bavail * fs.bsize;
  }

  private open(): number {
    mkdirSync(this.options.dir, { recursive: true, mode: 0o700 });
    const path = join(this.options.dir, `log-${randomUUID()}`);
    const fd = openSync(path, 'wx+', 0o600);
    unlinkSync(path);
    return fd;
  }
}

/** A kept log's upload chunks whose bytes are in the spool (their entries' data is null meanwhile). */
export class SpooledChunks {
  private readonly refs = new Map<number, SpoolRef>();

  constructor(private readonly store: ChunkStore) {}

  /** A settled entry (every voting standby holds it, and it is written here): a chunk's bytes leave memory, unless the store cannot take them. */
  settled(entry: LogEntry): void {
    if (entry.file?.op !== 'chunk' || !entry.data) return;
    const ref = this.store.put(entry.data);
    if (!ref) return;
    this.refs.set(entry.index, ref);
    entry.data = null;
  }

  /** `entries` as they were logged, spooled bytes read back (copies: the log's own stay as they are). */
  readBack(entries: LogEntry[]): LogEntry[] {
    return entries.map((entry) => {
      const ref = this.refs.get(entry.index);
      return ref ? { ...entry, data: this.store.get(ref) } : entry;
    });
  }

  close(): void {
    this.store.close();
  }
}
