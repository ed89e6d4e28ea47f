// How fast a client's link carries a session's output, measured from what the node
// already sees: the output offsets it sends and the client's acknowledgements of them.
// While output is outstanding without a break (a busy period: something sent is always
// unacknowledged), the acks arrive as fast as the link delivers — that is a sample of
// its capacity. When everything is acknowledged the app, not the link, is what is slow,
// and nothing is learnt of the link's limit (BBR's "application limited") — though what
// was delivered still proves the link carries at least that much. Clients acknowledge
// at least every 50 ms (docs/protocol.md), so a busy period of a few acks is enough.

/** A sample covers at least this much time: a few of the client's acks. */
const MIN_SAMPLE_MS = 150;
/** Samples older than this are forgotten: the link may have changed. */
const KEEP_MS = 5000;
/** What was delivered is counted over windows of this length. */
const DELIVERY_WINDOW_MS = 1000;

export class LinkMeter {
  private sent = 0;
  private acked = 0;
  /** The busy period's first ack in it: when, and through which offset. */
  private busyFrom: { at: number; offset: number } | null = null;
  private readonly samples: Array<{ at: number; bitsPerSecond: number }> = [];
  /** What was delivered per window, busy or not: the link carries at least that. */
  private readonly deliveries: Array<{ at: number; bitsPerSecond: number }> = [];
  private windowFrom: { at: number; offset: number } | null = null;

  /** Output through `offset` has been sent. */
  sentThrough(offset: number): void {
    this.sent = Math.max(this.sent, offset);
  }

  /** The client acknowledged output through `offset` at `now` (ms). */
  ackedThrough(offset: number, now: number): void {
    if (offset <= this.acked) return;
    this.acked = offset;
    if (this.windowFrom === null) this.windowFrom = { at: now, offset };
    else if (now - this.windowFrom.at >= DELIVERY_WINDOW_MS) {
      this.deliveries.push({ at: now, bitsPerSecond: ((offset - this.windowFrom.offset) * 8 * 1000) / (now - this.windowFrom.at) });
      this.windowFrom = { at: now, offset };
    }
    if (this.busyFrom === null) {
      // The first ack of a busy period: the clock starts here (the round trip before it is not the link's rate).
      if (this.sent > offset) this.busyFrom = { at: now, offset };
      return;
    }
    const elapsed = now - this.busyFrom.at;
    if (elapsed >= MIN_SAMPLE_MS) {
      this.samples.push({ at: now, bitsPerSecond: ((offset - this.busyFrom.offset) * 8 * 1000) / elapsed });
      this.busyFrom = { at: now, offset };
    }
    // All of it acknowledged: the period is over (what comes next starts a new one).
    if (offset >= this.sent) this.busyFrom = null;
  }

  /** The link's capacity as last seen (bits/s): the best sample of the last few seconds; null when none (the app did not fill it). */
  capacity(now: number): number | null {
    return best(this.samples, now);
  }

  /** The most the link delivered in a window of the last few seconds (bits/s), filled or not: a floor under its capacity; null when nothing. */
  delivered(now: number): number | null {
    return best(this.deliveries, now);
  }
}

function best(samples: Array<{ at: number; bitsPerSecond: number }>, now: number): number | null {
  while (samples.length > 0 && now - samples[0]!.at > KEEP_MS) samples.shift();
  if (samples.length === 0) return null;
  return Math.max(...samples.map((s) => s.bitsPerSecond));
}
