// The primary's side of one session's replica set: sends every log entry to each
// standby, tracks what each holds, and says through which index every voting standby
// holds the log — the commit point of the output rule. A learner (a standby still
// catching up) gets every entry but does not hold commits back until it joins. It
// never calls back into the log: whoever reports an ack commits what it returns.
// A standby placed after the session started fast-forwards its app's timers: it is
// also sent the primary's process clocks as they change (CLOCKS).
import { encodeAppend, encodeClocks, encodeCommit, markOf, type LogEntry } from './peer-protocol.js';

/** What the replicator reads of the session whose log it replicates (it only reads). */
export interface ReplicatedLog {
  readonly id: string;
  readonly epoch: number;
  readonly log: { readonly length: number; readonly appliedIndex: number; entriesAfter(index: number): LogEntry[] };
  /** Its app's process clocks now (pid → µs), null when it has none (not lockstep, or gone). */
  processClocks(): Map<number, number> | null;
}

export interface Member {
  name: string;
  voting: boolean;
  /** Highest index this standby has acknowledged holding. */
  acked: number;
  /** Links to it that closed with no progress since: a standby that keeps failing is dropped. */
  failures: number;
  /** It fast-forwards its app's timers: the process clocks sent to it (pid → µs). */
  clocksSent: Map<number, number> | null;
}

/**
 * How long the primary gathers COMMITs before sending them. Each COMMIT wakes the
 * standby to write what it carries to its app, and under a stream of input (a paste,
 * a held key, the bench typing as fast as echoes come back) those wake-ups compete for
 * the host's cores with the keystrokes still in flight: gathered for 3 ms, the 2-replica
 * echo was 1.13× what it is gathered for 20 (docs/performance.md, Cluster). A standby
 * is then up to 20 ms behind in applying — never in holding, which it acknowledges at
 * once — and a promotion applies that much more before it serves the resume.
 */
const COMMIT_DELAY_MS = 20;
/**
 * How often the primary reads its app's process clocks while a standby fast-forwards
 * (only what changed is sent): the standby's timers catch up to them at once, then keep
 * within about this much of the primary's. A read is a few kilobytes of /dev/shm.
 */
const CLOCKS_EVERY_MS = 25;

export class Replicator {
  readonly members = new Map<string, Member>();
  private uncommunicated: LogEntry[] = [];
  private commitTimer: NodeJS.Timeout | undefined;
  private clocksTimer: NodeJS.Timeout | undefined;
  /** When the standbys were last sent anything (screen checks wait for a quiet spell). */
  lastEntryAt = 0;

  constructor(
    private readonly session: ReplicatedLog,
    private readonly send: (to: string, frame: Uint8Array) => void,
  ) {}

  /** Sends the entry to every standby; true when a voting one must hold it before it commits. */
  append(entry: LogEntry): boolean {
    if (this.members.size === 0) return false;
    // Where the app's timers were just before this entry: a fast-forwarding standby's
    // may get there before it applies the entry (and not past it), as the primary's did.
    if (this.clocksTimer) this.sendClocks();
    const frame = encodeAppend(this.session.id, this.session.epoch, [entry]);
    let wait = false;
    for (const member of this.members.values()) {
      this.transmit(member.name, frame);
      if (member.voting) wait = true;
    }
    return wait;
  }

  /**
   * Tells every standby what the primary applied, and after how much output: they apply
   * it in step. Gathered for COMMIT_DELAY_MS, so a standby's work (waking, writing to
   * its app, the app's answer) stays off the keystroke's path on a busy host.
   */
  applied(entries: LogEntry[]): void {
    if (this.members.size === 0 || entries.length === 0) return;
    this.uncommunicated.push(...entries);
    this.commitTimer ??= setTimeout(() => {
      this.commitTimer = undefined;
      const pending = this.uncommunicated.splice(0);
      for (let i = 0; i < pending.length; i += 1000) {
        const batch = pending.slice(i, i + 1000);
        const frame = encodeCommit(this.session.id, this.session.epoch, batch[0]!.index, batch.map(markOf));
        for (const member of this.members.values()) this.transmit(member.name, frame);
      }
    }, COMMIT_DELAY_MS);
  }

  /** A standby; `fastForward`: it was placed after the session started, and is sent the primary's process clocks. */
  add(name: string, voting: boolean, acked = 0, fastForward = false): void {
    this.members.set(name, { name, voting, acked, failures: 0, clocksSent: fastForward ? new Map() : null });
    if (fastForward) {
      this.clocksTimer ??= setInterval(() => this.sendClocks(), CLOCKS_EVERY_MS);
      this.clocksTimer.unref();
    }
  }

  /** Sends each fast-forwarding standby the process clocks that changed since it was last sent them. */
  private sendClocks(): void {
    const followers = [...this.members.values()].filter((m) => m.clocksSent !== null);
    const clocks = followers.length > 0 ? this.session.processClocks() : null;
    if (clocks === null) return this.stop();
    const index = this.session.log.appliedIndex;
    for (const member of followers) {
      const sent = member.clocksSent!;
      const changed = [...clocks].filter(([pid, clock]) => clock > (sent.get(pid) ?? 0));
      if (changed.length === 0) continue;
      for (const [pid, clock] of changed) sent.set(pid, clock);
      for (let i = 0; i < changed.length; i += 4096) this.send(member.name, encodeClocks(this.session.id, this.session.epoch, index, changed.slice(i, i + 4096)));
    }
  }

  /** No more clocks are sent (the session ended, or no standby fast-forwards). */
  stop(): void {
    clearInterval(this.clocksTimer);
    this.clocksTimer = undefined;
  }

  /** Re-sends what `name` has not acknowledged (after its link was re-opened). */
  resend(name: string): void {
    const member = this.members.get(name);
    if (!member) return;
    const entries = this.session.log.entriesAfter(member.acked);
    for (let i = 0; i < entries.length; i += 256) this.transmit(name, encodeAppend(this.session.id, this.session.epoch, entries.slice(i, i + 256)));
  }

  private transmit(to: string, frame: Uint8Array): void {
    this.lastEntryAt = performance.now();
    this.send(to, frame);
  }

  /** `name` holds the log through `index`; returns the commit point now (0: nothing new to commit). */
  acked(name: string, index: number): number {
    const member = this.members.get(name);
    if (!member || index <= member.acked) return 0;
    member.acked = index;
    member.failures = 0;
    return member.voting ? this.commitIndex() : 0;
  }

  /** A learner caught up and joined; returns the commit point now. */
  setVoting(name: string): number {
    const member = this.members.get(name);
    if (member) member.voting = true;
    return this.commitIndex();
  }

  /** `name` left the replica set; returns the commit point now (it no longer holds anything back). */
  remove(name: string): number {
    return this.members.delete(name) ? this.commitIndex() : 0;
  }

  voters(): string[] {
    return [...this.members.values()].filter((m) => m.voting).map((m) => m.name);
  }

  /** The lowest index every voting standby holds: entries through it are committed. */
  commitIndex(): number {
    let index = this.session.log.length;
    for (const member of this.members.values()) if (member.voting) index = Math.min(index, member.acked);
    return index;
  }
}
