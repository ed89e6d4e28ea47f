// Where a replica's input log writes what it applies (input-log.ts): the replica's
// display (session-display.ts makes it) and, on a primary, its standbys (the replicator).
// Neither calls back into the log.
import type { FileOp, LogEntry } from '../cluster/peer-protocol.js';

/** Where a primary's entries go: to the standbys. It never calls back into the log. */
export interface ReplicationSink {
  /** Sends the entry to every standby; true when a voting standby must hold it before it settles. */
  append(entry: LogEntry): boolean;
  /** The primary applied and settled these entries (each with the output it followed): standbys follow. */
  applied(entries: LogEntry[]): void;
}

/** What the log writes entries to: the replica's display. */
export interface LogTarget {
  readonly kind: 'terminal' | 'rfb';
  /** Input may be applied: the app has started and settled. */
  ready(): boolean;
  /** Refuses bytes that cannot be one input entry here; null when they can. */
  checkInput(data: Uint8Array): string | null;
  /** Lockstep: the entry's time (µs) and how many bytes of input it carries, given just before it is applied. */
  setClock(timeUs: number, inputBytes: number): void;
  /** A lockstep terminal app: how many times it has set its terminal's mode so far; undefined where not counted. */
  modes(): number | undefined;
  /** A lockstep app's process clocks now (pid → µs), recorded on each entry for replacements; null where there are none. */
  processClocks(): Map<number, number> | null;
  /** A standby that fast-forwards: its app's processes have not reached the primary's clocks at the entries applied through `applied`. */
  clocksBehind(applied: number): boolean;
  /** Stop waiting for the processes behind now (they did not get there within CLOCKS_MAX_WAIT_MS). */
  forgetClocks(): void;
  write(data: Uint8Array): void;
  /** One Opus packet of the person's microphone, for the app to hear (host/microphone-feed.ts). */
  microphone(packet: Uint8Array): void;
  resize(cols: number, rows: number): void;
  /**
   * A file operation (an upload's chunk carries its bytes). A promise holds the log
   * back until it settles: entries after it are applied only once it is done (a file
   * that takes its place is there before the next keystroke reaches the app). `timeUs`:
   * a lockstep entry's time, which a file put in place is stamped with (every replica alike).
   */
  file(op: FileOp, data: Uint8Array | null, timeUs: number | undefined): Promise<void> | null;
}
