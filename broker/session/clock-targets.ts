// A standby that fast-forwards its app's timers (host/lockstep-clock.ts) takes the
// primary's process clocks (CLOCKS frames) only once it has applied the entry they were
// read at: its timers may then catch up to them, never past a keystroke the primary
// applied before them. Frames for an entry not applied yet are merged, one wait per
// entry however many arrive (they come every 25 ms while a long log replays).

/** What the targets need of the replica: when it has applied an entry, and where its process clocks go. */
export interface ClockTargetsDeps {
  whenApplied(index: number): Promise<void>;
  raise(clocks: Iterable<readonly [number, number]>): void;
}

export class ClockTargets {
  private readonly pending = new Map<number, Map<number, number>>();

  constructor(private readonly deps: ClockTargetsDeps) {}

  /** The primary's clocks (pid → µs) when it had applied entry `index`. */
  add(index: number, clocks: ReadonlyArray<readonly [number, number]>): void {
    const waiting = this.pending.get(index);
    if (waiting) {
      for (const [pid, clock] of clocks) waiting.set(pid, Math.max(clock, waiting.get(pid) ?? 0));
      return;
    }
    const merged = new Map(clocks);
    this.pending.set(index, merged);
    void this.deps.whenApplied(index).then(() => {
      this.pending.delete(index);
      this.deps.raise(merged);
    });
  }
}
