// A standby that fast-forwards its app's timers (host/lockstep-clock.ts) takes the
// primary's process clocks (CLOCKS frames) only once it has applied the entry they were
// read at: its timers may then catch up to them, never past a keystroke the primary
// applied before them. Frames for an entry not applied yet are merged, one wait per
// entry however many arrive (they come every 25 ms while a long log replays, and one
// per entry of the history a replacement replays). And the next entry waits until the
// app's processes got there (`behind`): on the primary, what its timers did before a
// keystroke was done before the keystroke reached it — a background job's end, a game's
// tick — and a replay that ran ahead of its timers put the key somewhere else.

/** What the targets need of the replica: when it has applied an entry, where its process clocks go, and where they are. */
export interface ClockTargetsDeps {
  whenApplied(index: number): Promise<void>;
  raise(clocks: Iterable<readonly [number, number]>): void;
  /** This replica's own process clocks now (pid → µs), and the session's start (µs); null when it has none. */
  own(): { clocks: Map<number, number>; startUs: number } | null;
}

/**
 * A process within this much of the primary's clock has got there: its timed waits that
 * ended on the primary have ended here (they move a clock by what they waited: a game's
 * tick, a sleep, a clock's second). Closer is not asked for: each clock read moves a clock
 * by a microsecond, and processes that read it as often as the host's timing makes them
 * (a launcher's wait loop) differ by a few.
 */
const REACHED_WITHIN_US = 1000;

export class ClockTargets {
  private readonly pending = new Map<number, Map<number, number>>();
  /** Targets raised that this replica's processes had not reached when last looked at (pid → µs). */
  private readonly unreached = new Map<number, number>();

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
      for (const [pid, clock] of merged) if (clock > (this.unreached.get(pid) ?? 0)) this.unreached.set(pid, clock);
      this.deps.raise(merged);
    });
  }

  /**
   * True while this replica's processes have not reached the clocks the primary's had at
   * the entries applied here (through `applied`): the entry after them waits. Clocks
   * for an applied entry not raised yet (they are, a microtask later) count as not reached;
   * so does a process not started here yet, unless the primary's never moved past the
   * session's start; one within REACHED_WITHIN_US of its clock is there.
   */
  behind(applied: number): boolean {
    for (const index of this.pending.keys()) if (index <= applied) return true;
    if (this.unreached.size === 0) return false;
    const own = this.deps.own();
    if (own === null) return false;
    for (const [pid, clock] of this.unreached) {
      const mine = own.clocks.get(pid);
      // No process of that pid here yet: one the app starts (a background job's command,
      // forked while the foreground waited for input) is waited for, so the next keystroke's
      // command does not take its pid. One that never moved past the session's start is
      // a launcher's (its wait loops fork as often as the host's timing makes them), which
      // this replica may never have.
      if (mine === undefined ? clock < own.startUs + REACHED_WITHIN_US : mine >= clock - REACHED_WITHIN_US) this.unreached.delete(pid);
    }
    return this.unreached.size > 0;
  }

  /**
   * Stops waiting for the processes not there yet (the log waited CLOCKS_MAX_WAIT_MS
   * for them): with their timers fast-forwarded they would have got there at once, so
   * they are another process here or one that went another way — the screen checks
   * judge that. Forgotten, they hold back no later entry; new targets may again.
   */
  forget(): void {
    this.unreached.clear();
  }
}
