// What an app may write while no client is attached: a burst, then a trickle (a token
// bucket). With nobody watching only the current screen matters — a resuming client is
// given a redraw, not the history — so output beyond this buys nothing, yet every byte
// read costs the broker (a PTY read per 4 KiB, the screen model's parse), not the
// session. Held back past it, the app blocks in write(2) like one whose client stopped
// reading, and its cost falls on nobody.

/** Output a detached app may write at once: a full-screen redraw of a large terminal with colours, and then some. */
export const DETACHED_BURST = 1024 * 1024;
/**
 * And then per second: enough for a detached job's progress and a TUI's refreshes
 * (htop redraws about 15 KB every 1.5 s) to keep the screen current; a flood's cost
 * falls to about nothing (the broker reads some 80 MB/s from one unheld shell).
 */
export const DETACHED_RATE = 64 * 1024;

export class DetachedAllowance {
  private bytes: number;
  private at: number;

  constructor(
    private readonly burst = DETACHED_BURST,
    private readonly rate = DETACHED_RATE,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.bytes = burst;
    this.at = now();
  }

  /** Bytes the app may write now (negative: it wrote more than it may, before it was held). */
  get available(): number {
    const now = this.now();
    this.bytes = Math.min(this.burst, this.bytes + ((now - this.at) * this.rate) / 1000);
    this.at = now;
    return this.bytes;
  }

  /** The app wrote `bytes`. */
  spend(bytes: number): void {
    this.bytes = this.available - bytes;
  }

  /** How long until `bytes` are available again (ms, 0 if they are now). */
  msUntil(bytes: number): number {
    return Math.max(0, ((Math.min(bytes, this.burst) - this.available) * 1000) / this.rate);
  }
}
