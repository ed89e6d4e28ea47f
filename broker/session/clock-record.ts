// What a replica notes on each lockstep entry it applies (LogEntry.clocks): the app's
// process clocks that moved on since the previous entry, read just before it is applied.
// A replacement standby replaying the log fast-forwards its app's timers to them, entry
// by entry (registry/replica-open.ts, clock-targets.ts). Only what changed is kept: a
// few pids per entry, however many processes the app has.

export class ClockRecord {
  /** Every process's clock as last recorded (pid → µs). */
  private readonly recorded = new Map<number, number>();

  /** The clocks in `now` that moved on since the last call, as [pid, µs]; undefined when none did (or there are none). */
  changed(now: ReadonlyMap<number, number> | null): Array<[number, number]> | undefined {
    if (now === null) return undefined;
    const changed: Array<[number, number]> = [];
    for (const [pid, clock] of now) {
      if (clock <= (this.recorded.get(pid) ?? -1)) continue;
      this.recorded.set(pid, clock);
      changed.push([pid, clock]);
    }
    return changed.length > 0 ? changed : undefined;
  }
}
