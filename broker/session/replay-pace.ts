// How a standby spaces the entries it replays (input-log.ts): an entry that carries
// `after` waits until this replica's app has produced as much output since the previous
// entry as the primary's had, at most a while — and one that carries `modes`, until its
// app has set its terminal's mode as many more times; a lockstep entry may wait until it falls
// due as the primary spaced it; a GUI app's entries are spaced as the primary applied
// them. It keeps what that needs of the entries applied so far.
import type { LogEntry } from '../cluster/peer-protocol.js';

/**
 * A standby applies an entry once its app has written as much output since the
 * previous entry as the primary's had (from `LogEntry.after`), or after this long at
 * most (an app whose output is not deterministic never gets there).
 */
const REPLAY_MAX_WAIT_MS = 1500;
/**
 * With timed entries (lockstep time) a standby replaying faster than the primary ran
 * waits longer when the output is not there yet: until the entry falls due as the
 * primary spaced it (from the first entry this replica applied), at most this long.
 * The output an entry waits for may come from the app's own timers (a background job
 * that sleeps, then prints), which run at the host's pace however fast the log replays.
 */
const REPLAY_TIMED_MAX_WAIT_MS = 10_000;
/**
 * A graphical app's standby has no output to pace its replay by (its output is its
 * viewer's stream), so with timed entries it replays as the primary spaced them, each
 * pause cut to at most this: an app reads its events at the same points of its own
 * timers on every replica, and a replacement standby catches up in about the time the
 * person spent acting, not the session's length.
 */
const GUI_REPLAY_MAX_GAP_MS = 1000;

export class ReplayPace {
  /** The first timed entry this replica applied: its time (µs) and when (performance.now()). */
  private paceAnchor: { time: number; at: number } | undefined;
  /** The last timed entry this replica applied: its time (µs) and when (performance.now()). */
  private lastTimed: { time: number; at: number } | undefined;
  /** For the last entry applied: the output count the primary had then (its `after`), and this replica's. */
  private lastPrimaryOutput: number | undefined;
  private lastOwnOutput = 0;
  /** The same for the terminal's mode changes (`LogEntry.modes`). */
  private lastPrimaryModes: number | undefined;
  private lastOwnModes = 0;

  /** `entry` was applied here when this replica's app had written `ownOutput` bytes and set its terminal's mode `ownModes` times. */
  applied(entry: LogEntry, ownOutput: number, ownModes: number | undefined): void {
    this.lastPrimaryOutput = entry.after;
    this.lastOwnOutput = ownOutput;
    this.lastPrimaryModes = ownModes === undefined ? undefined : entry.modes;
    this.lastOwnModes = ownModes ?? 0;
    if (entry.time === undefined) return;
    this.paceAnchor ??= { time: entry.time, at: performance.now() };
    this.lastTimed = { time: entry.time, at: performance.now() };
  }

  /** How long `entry` may wait, from `since`, for its output (REPLAY_MAX_WAIT_MS, or until due as the primary spaced it). */
  patience(entry: LogEntry, since: number): number {
    if (entry.time === undefined || this.paceAnchor === undefined) return REPLAY_MAX_WAIT_MS;
    const due = this.paceAnchor.at + (entry.time - this.paceAnchor.time) / 1000;
    return Math.min(Math.max(due - since, REPLAY_MAX_WAIT_MS), REPLAY_TIMED_MAX_WAIT_MS);
  }

  /** When a GUI standby may apply `entry`: as long after the previous timed entry as the primary applied it, at most GUI_REPLAY_MAX_GAP_MS. */
  guiDue(entry: LogEntry): number {
    if (entry.time === undefined || this.lastTimed === undefined) return 0;
    return this.lastTimed.at + Math.min(Math.max(0, entry.time - this.lastTimed.time) / 1000, GUI_REPLAY_MAX_GAP_MS);
  }

  /** The output count this replica's app should have reached before `entry` is applied (undefined: no wait). */
  outputDue(entry: LogEntry): number | undefined {
    if (entry.after === undefined) return undefined;
    if (this.lastPrimaryOutput === undefined) return entry.after;
    return this.lastOwnOutput + Math.max(0, entry.after - this.lastPrimaryOutput);
  }

  /** The mode changes this replica's app should have made before `entry` is applied (undefined: no wait). */
  modesDue(entry: LogEntry): number | undefined {
    if (entry.modes === undefined) return undefined;
    if (this.lastPrimaryModes === undefined) return entry.modes;
    return this.lastOwnModes + Math.max(0, entry.modes - this.lastPrimaryModes);
  }
}
