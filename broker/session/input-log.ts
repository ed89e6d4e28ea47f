// One replica's input log: every input and resize, in order, numbered from 1. On a
// primary an entry goes submit → (replication) → apply → settle; on a standby
// append → commit → apply. Invariants: entries are applied once each, in index order;
// a client's input is acknowledged (inputSeq) only once settled — applied here and,
// with standbys, held by every voting one (the output rule) — so after a failover the
// client resends exactly what the new primary may never have had.
import type { ApplyMark, FileOp, LogEntry } from '../cluster/peer-protocol.js';
import type { LogTarget, ReplicationSink } from './log-target.js';
import { ClockRecord } from './clock-record.js';
import type { SpooledChunks } from './log-spool.js';
import { ReplayPace } from './replay-pace.js';

export interface InputLogOptions {
  role: 'primary' | 'standby';
  target: LogTarget;
  /** Standbys of a primary (null: a session that is never replicated). */
  replication: ReplicationSink | null;
  /** Output the app has produced so far: what a standby paces its replay by. */
  outputBytes: () => number;
  /** False while this node must not act as a primary (its control-plane lease is not valid). */
  mayAct: () => boolean;
  /**
   * Keep applied entries' bytes (a replica set needs the whole log to start new
   * standbys). A session that will never have a standby drops them once applied.
   */
  keepLog: boolean;
  /** Where a kept log's upload chunks go once settled, read back for a replay (log-spool.ts; closed with the log). Null: kept in memory. */
  spool?: SpooledChunks | null;
  /** Input numbering continues after this (a restarted app: the client's earlier inputs went to the old one). */
  inputBase: number;
  /** Lockstep: a primary stamps each entry with its wall-clock time, which every replica's app reads as now. */
  stampTime: boolean;
  /** Entries carrying input were applied on a primary. */
  onApplied: () => void;
  /** Entries through `settledIndex` settled; before them, `previous` was. `typed`: one carried input. */
  onSettled: (previous: number, typed: boolean) => void;
  /** Each entry as this replica applies it (every replica, in the same order): the session's recording. */
  onEntryApplied?: (entry: LogEntry) => void;
}

/** How often input waiting for the app to start (LogTarget.ready) checks again. */
const STARTUP_POLL_MS = 30;
/** How often a standby's entry waiting for its app to set its terminal's mode (LogTarget.modes) looks again. */
const MODES_POLL_MS = 2;
/**
 * How long a fast-forwarding standby's entry waits (its output there) for its app's
 * processes to reach the primary's clocks: fast-forwarded, they take milliseconds; one
 * not there by then is another process or went another way (clock-targets.ts).
 */
const CLOCKS_MAX_WAIT_MS = 1000;
/** How often deferred work is retried while this node may not act (no valid lease). */
const FENCED_RETRY_MS = 50;

export class InputLog {
  /** The whole log (inputs and resizes), index 1 first. */
  readonly entries: LogEntry[] = [];
  role: 'primary' | 'standby';
  /** Entries up to here have been written to this replica's app. */
  appliedIndex = 0;
  /**
   * Entries up to here are applied and committed (every voting standby holds them):
   * only their input is acknowledged to the client, and only output read after them
   * may be shown. A primary applies ahead of this (see pump); a standby never does.
   */
  settledIndex = 0;
  /** Highest client input applied and committed (settled): what the client is told (inputAck). */
  inputSeq: number;
  /** Highest client input accepted into the log (for order and duplicate checks). */
  private acceptedSeq: number;
  /** Per tab typing through a share link: the highest input the log took from it (LogEntry.by). */
  private readonly tabSeqs = new Map<string, number>();
  /** When the last client input was accepted (performance.now(); -Infinity: never): bulk work yields to typing (session-uploads.ts). */
  lastInputAt = -Infinity;
  private commitIndex = 0;
  private pumpTimer: NodeJS.Timeout | undefined;
  /** Since when the next entry has waited for its app's output to catch up. */
  private waitingSince: number | undefined;
  /** The output count that entry waits for: output reaching it applies the entry at once. */
  private waitingFor: number | undefined;
  private readonly applyWaiters: Array<{ index: number; resolve: () => void }> = [];
  private readonly settleWaiters: Array<{ index: number; resolve: () => void }> = [];
  private started = false;
  private closed = false;
  /** A file operation being done: nothing after it is applied until it is (LogTarget.file). */
  private barrier: Promise<void> | undefined;
  /** The last time stamped (µs): entries' times strictly increase. */
  private lastTime = 0;
  /** How a standby spaces what it replays (replay-pace.ts). */
  private readonly pace = new ReplayPace();
  /** The process clocks recorded on entries so far (LogEntry.clocks holds what changed). */
  private readonly clockRecord = new ClockRecord();

  constructor(private readonly options: InputLogOptions) {
    this.role = options.role;
    this.acceptedSeq = this.inputSeq = options.inputBase;
  }

  get length(): number {
    return this.entries.length;
  }

  /** Client input is in the log whose effect is not yet shown (not settled). */
  get inputUnsettled(): boolean {
    return this.acceptedSeq > this.inputSeq;
  }

  /** Takes client input `seq` exactly once; returns an error text for out-of-order input. */
  input(seq: number, data: Uint8Array): string | null {
    if (seq <= this.acceptedSeq) return null; // a duplicate, resent after a reconnect: already taken
    if (seq !== this.acceptedSeq + 1) return `input ${seq} arrived before input ${this.acceptedSeq + 1}`;
    const problem = this.options.target.checkInput(data);
    if (problem) return `input ${seq}: ${problem}`;
    this.acceptedSeq = seq;
    this.lastInputAt = performance.now();
    // Copied: the caller's buffer is the socket's, and the log keeps entries.
    this.submit({ index: this.entries.length + 1, seq, data: Buffer.from(data), cols: 0, rows: 0 });
    return null;
  }

  /**
   * Takes input `seq` that `user` typed from `tab` (someone watching through a share
   * link that lets them type) exactly once, tagged with who typed it; `index`: its
   * entry's, or 0 for a duplicate (a resend after a reconnect: already taken).
   */
  inputBy(user: string, tab: string, seq: number, data: Uint8Array): { problem: string } | { index: number } {
    const accepted = this.tabSeqs.get(tab) ?? 0;
    if (seq <= accepted) return { index: 0 };
    if (seq !== accepted + 1) return { problem: `input ${seq} arrived before input ${accepted + 1}` };
    if (Buffer.byteLength(user) > 255 || Buffer.byteLength(tab) > 255) return { problem: 'the name or tab is too long to log' };
    const problem = this.options.target.checkInput(data);
    if (problem) return { problem: `input ${seq}: ${problem}` };
    this.tabSeqs.set(tab, seq);
    this.lastInputAt = performance.now();
    return { index: this.submit({ index: this.entries.length + 1, seq: 0, data: Buffer.from(data), cols: 0, rows: 0, by: { user, tab, seq } }) };
  }

  /** The highest input `tab` sent through a share link that the log took (0: none). */
  tabSeq(tab: string): number {
    return this.tabSeqs.get(tab) ?? 0;
  }

  /** Logs a resize, like input; returns the entry's index. */
  resize(cols: number, rows: number): number {
    return this.submit({ index: this.entries.length + 1, seq: 0, data: null, cols, rows });
  }

  /**
   * Logs one Opus packet of the person's microphone, like input, so every replica's app
   * hears the same (no input number: live sound lost in a failover is not sent again).
   */
  microphone(packet: Uint8Array): number {
    return this.submit({ index: this.entries.length + 1, seq: 0, data: Buffer.from(packet), cols: 0, rows: 0, microphone: true });
  }

  /** Logs a file operation (a primary's upload), like input; returns the entry's index. `begin`'s upload is its own index. */
  file(op: FileOp, data: Uint8Array | null = null): number {
    const index = this.entries.length + 1;
    const file = op.op === 'begin' ? { ...op, upload: index } : op;
    return this.submit({ index, seq: 0, data, cols: 0, rows: 0, file });
  }

  /**
   * Appends a primary's entry to the log, sends it to the standbys and applies it at
   * once; what the app answers is shown once the standbys hold the entry (settle).
   */
  private submit(entry: LogEntry): number {
    if (this.options.stampTime) entry.time = this.lastTime = Math.max(this.lastTime + 1, Math.round((performance.timeOrigin + performance.now()) * 1000));
    this.entries.push(entry);
    const wait = this.options.replication?.append(entry) ?? false;
    if (!wait) this.commitThrough(entry.index);
    else this.pump();
    return entry.index;
  }

  /**
   * Entries up to `index` are committed: on a primary, every voting standby holds
   * them; on a standby, the primary applied them (COMMIT), or they come from a replay.
   * A standby applies them now; a primary has, and may now show what they caused.
   */
  commitThrough(index: number): void {
    if (index > this.commitIndex) this.commitIndex = Math.min(index, this.entries.length);
    this.pump();
    this.settle();
  }

  /**
   * The output rule, in VMware FT's form: a primary applies an entry before its
   * standbys hold it — the app's answer and the round trip to the standbys overlap —
   * and holds back the output read after it until they do. Until then the client is
   * not told the input was applied, so after a failover it sends it again, and the
   * new primary (which never had it) applies it once. Entries settled here are
   * reported to the standbys (COMMIT), which apply them in step.
   */
  private settle(): void {
    const through = Math.min(this.appliedIndex, this.commitIndex);
    if (through <= this.settledIndex) return;
    const previous = this.settledIndex;
    const settled = this.entries.slice(previous, through);
    this.settledIndex = through;
    let typed = false;
    for (const entry of settled) {
      if (entry.seq > this.inputSeq) this.inputSeq = entry.seq;
      if (entry.data && !entry.file && !entry.microphone) typed = true;
      this.options.spool?.settled(entry);
      // Live sound is not kept: a replica that starts later replays it as nothing (peer-protocol.ts LogEntry.microphone).
      if (entry.microphone) entry.data = NO_SOUND;
    }
    while (this.settleWaiters.length > 0 && this.settleWaiters[0]!.index <= this.settledIndex) this.settleWaiters.shift()!.resolve();
    if (this.role !== 'primary') return;
    this.options.replication?.applied(settled);
    this.options.onSettled(previous, typed);
  }

  /**
   * Applies committed entries in order. An entry that carries `after` (the output its
   * app had produced when the primary applied it) waits until this replica's app has
   * produced as much since the previous entry as the primary's had, at most
   * a while (replay-pace.ts): so the app's answers fall between the same keystrokes on every
   * replica, and screens stay equal. Counting from the previous entry, not from the
   * start, a few bytes this replica's app once wrote less (a preview it erased, say)
   * cost one wait, not one on every entry after. A primary's own new entries carry no
   * `after` and go at once.
   */
  private pump(): void {
    // A primary applies what it has logged (settle holds the output back); a standby, what is committed.
    const limit = this.role === 'primary' ? this.entries.length : this.commitIndex;
    if (this.pumpTimer !== undefined || this.barrier !== undefined || this.appliedIndex >= limit || this.closed) return;
    const retry = (ms: number) => {
      this.pumpTimer = setTimeout(() => {
        this.pumpTimer = undefined;
        this.pump();
      }, ms);
    };
    const target = this.options.target;
    if (!this.started) {
      if (!target.ready()) return retry(STARTUP_POLL_MS);
      this.started = true;
    }
    // Fenced: this node's lease is not known to be valid. A primary applies nothing until it is.
    if (this.role === 'primary' && !this.options.mayAct()) return retry(FENCED_RETRY_MS);
    let typed = false;
    while (this.appliedIndex < limit) {
      const entry = this.entries[this.appliedIndex]!;
      if (this.role === 'standby' && target.kind === 'rfb') {
        const wait = this.pace.guiDue(entry) - performance.now();
        if (wait > 0) {
          retry(wait);
          break;
        }
      }
      // A GUI app's output is its viewer's stream, which says nothing of the app's progress.
      const due = this.pace.outputDue(entry);
      const modesDue = this.pace.modesDue(entry);
      const outputShort = due !== undefined && target.kind === 'terminal' && this.options.outputBytes() < due;
      const modesShort = modesDue !== undefined && target.kind === 'terminal' && (target.modes() ?? modesDue) < modesDue;
      const clocksBehind = this.role === 'standby' && target.clocksBehind(this.appliedIndex);
      if (outputShort || modesShort || clocksBehind) {
        this.waitingSince ??= performance.now();
        const waited = performance.now() - this.waitingSince;
        const patience = this.pace.patience(entry, this.waitingSince);
        const clocksOnly = clocksBehind && !outputShort && !modesShort;
        if (clocksOnly && waited >= CLOCKS_MAX_WAIT_MS) target.forgetClocks();
        else if (waited < patience) {
          // Output wakes the pump when it comes (outputProduced); a mode change or the app's clocks are looked for.
          const looks = modesShort || clocksBehind;
          this.waitingFor = outputShort ? due : undefined;
          retry(looks ? Math.min(MODES_POLL_MS, patience - waited) : patience - waited);
          break;
        }
      }
      this.waitingSince = this.waitingFor = undefined;
      const pending = this.apply(entry);
      if (entry.data && !entry.file && !entry.microphone) typed = true;
      if (!this.options.keepLog) entry.data = entry.data ? APPLIED : null;
      if (pending) {
        this.barrier = pending.then(() => this.passBarrier(entry.index));
        break;
      }
    }
    if (typed && this.role === 'primary') this.options.onApplied();
    this.settle();
  }

  /** A file operation's work is done: it counts as applied now, and the log goes on. */
  private passBarrier(index: number): void {
    this.barrier = undefined;
    if (this.closed) return;
    this.appliedIndex = index;
    this.releaseApplied();
    this.pump();
    // pump settles only when it had something to apply: the entry that was held may be the last.
    this.settle();
  }

  private releaseApplied(): void {
    while (this.applyWaiters.length > 0 && this.applyWaiters[0]!.index <= this.appliedIndex) this.applyWaiters.shift()!.resolve();
  }

  /** Applies `entry`; a promise when it is a file operation still being done (it is applied once that settles). */
  private apply(entry: LogEntry): Promise<void> | null {
    this.appliedIndex = entry.index;
    // From here on the entry records this replica's own count: what its standbys, if it
    // is promoted, pace by.
    const own = this.options.outputBytes();
    const ownModes = this.options.target.modes();
    this.pace.applied(entry, own, ownModes);
    entry.after = own;
    if (ownModes === undefined) delete entry.modes;
    else entry.modes = ownModes;
    // A lockstep entry notes where the app's timers had got to before it (clock-record.ts).
    const clocks = this.options.keepLog && entry.time !== undefined ? this.clockRecord.changed(this.options.target.processClocks()) : undefined;
    if (clocks) entry.clocks = clocks;
    else delete entry.clocks;
    if (entry.time !== undefined) {
      this.options.target.setClock(entry.time, entry.file || entry.microphone ? 0 : (entry.data?.length ?? 0));
    }
    if (entry.file) {
      const pending = this.options.target.file(entry.file, entry.data, entry.time);
      if (pending) {
        // Not applied until it is done: settle, acks and waiters see it then.
        this.appliedIndex = entry.index - 1;
        return pending.catch(() => {});
      }
    } else if (entry.microphone) {
      if (entry.data && entry.data.length > 0) this.options.target.microphone(entry.data);
    } else if (entry.data) this.options.target.write(entry.data);
    else this.options.target.resize(entry.cols, entry.rows);
    this.options.onEntryApplied?.(entry);
    this.releaseApplied();
    return null;
  }

  /** The app produced output (`total` bytes so far): an entry waiting for that much is applied now. */
  outputProduced(total: number): void {
    if (this.waitingFor === undefined || total < this.waitingFor) return;
    this.waitingFor = undefined;
    clearTimeout(this.pumpTimer);
    this.pumpTimer = undefined;
    this.pump();
  }

  /** Resolves once the entry at `index` is applied and committed here (or the log closed). */
  whenSettled(index: number): Promise<void> {
    if (index <= this.settledIndex || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.settleWaiters.push({ index, resolve });
      this.settleWaiters.sort((a, b) => a.index - b.index);
    });
  }

  /** Resolves once the entry at `index` has been applied here (or the log closed). */
  whenApplied(index: number): Promise<void> {
    if (index <= this.appliedIndex || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.applyWaiters.push({ index, resolve });
      this.applyWaiters.sort((a, b) => a.index - b.index);
    });
  }

  /**
   * A standby holds entries from its primary, in order; returns the index it holds
   * (what it acknowledges). They are applied once the primary reports it applied them
   * (`committed`, with the output each followed), or at once when `committed` is true
   * (a replay of the log, which carries those figures already).
   */
  appendFromPrimary(entries: LogEntry[], committed = false): number {
    for (const entry of entries) {
      if (entry.index !== this.entries.length + 1) continue; // a resend of what is held already
      this.entries.push({ ...entry, data: entry.data ? Buffer.from(entry.data) : null });
      if (entry.seq > this.acceptedSeq) this.acceptedSeq = entry.seq;
      // Promoted, this replica stamps on from here: never before its primary's last stamp.
      if (entry.time !== undefined && entry.time > this.lastTime) this.lastTime = entry.time;
    }
    if (committed) this.commitThrough(this.entries.length);
    return this.entries.length;
  }

  /** The primary applied entries `first`… where `marks` say its app was: apply them here, in step. */
  primaryApplied(first: number, marks: readonly ApplyMark[]): void {
    marks.forEach((mark, i) => {
      const entry = this.entries[first - 1 + i];
      if (!entry || entry.index <= this.appliedIndex) return;
      entry.after = mark.after;
      if (mark.modes === undefined) delete entry.modes;
      else entry.modes = mark.modes;
    });
    this.commitThrough(first + marks.length - 1);
  }

  /** Entries after `index`, for a standby catching up (spooled bytes read back). */
  entriesAfter(index: number): LogEntry[] {
    const entries = this.entries.slice(index);
    return this.options.spool ? this.options.spool.readBack(entries) : entries;
  }

  /** This standby's log becomes the primary's: everything it holds is committed. */
  promote(): void {
    this.role = 'primary';
    this.acceptedSeq = this.entries.reduce((max, e) => Math.max(max, e.seq), 0);
    for (const entry of this.entries) if (entry.by && entry.by.seq > (this.tabSeqs.get(entry.by.tab) ?? 0)) this.tabSeqs.set(entry.by.tab, entry.by.seq);
    this.commitThrough(this.entries.length);
  }

  /** The replica ended: nothing more is applied, and every waiter is released. */
  close(): void {
    this.closed = true;
    clearTimeout(this.pumpTimer);
    for (const waiter of this.applyWaiters.splice(0)) waiter.resolve();
    for (const waiter of this.settleWaiters.splice(0)) waiter.resolve();
    this.options.spool?.close();
  }
}

/** What an applied input's bytes become in a log nobody will replay. */
const APPLIED = new Uint8Array(0);
/** What a settled microphone packet's bytes become: nothing to replay. */
const NO_SOUND = new Uint8Array(0);
