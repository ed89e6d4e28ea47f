// How fast a client's link carries a session's output, measured from what the node
// already sees: the output offsets it sends, and when the client acknowledges them.
// Two figures. What was delivered (acked bytes per second, counted over 1 s windows)
// proves the link carries at least that much. And when acks come late — later than the
// quickest ack of the last seconds by more than QUEUED_MS — output is queueing on the
// way: the link is full, and what it delivered in that window is its capacity. (Late,
// not merely outstanding: clients acknowledge after rendering, every 50 ms or so
// (docs/protocol.md), so some output is always unacknowledged on a busy stream however
// fast the link.)

/** Samples older than this are forgotten: the link may have changed. */
const KEEP_MS = 5000;
/** What was delivered is counted over windows of this length. */
const DELIVERY_WINDOW_MS = 1000;
/** An ack this much later than the quickest recent one means output queued on the way. */
const QUEUED_MS = 80;
/** The quickest ack is looked for over this long. */
const BASE_DELAY_MS = 10_000;

type Sample = { at: number; value: number };

export class LinkMeter {
  private sent = 0;
  private acked = 0;
  /** Output sent and not yet acknowledged: where each send ended, and when. */
  private readonly sends: Array<{ end: number; at: number }> = [];
  private readonly delays: Sample[] = [];
  private readonly deliveries: Sample[] = [];
  private readonly capacities: Sample[] = [];
  private windowFrom: { at: number; offset: number } | null = null;
  /** The longest ack delay in the current window. */
  private windowDelay = 0;

  /** Output through `offset` has been sent, at `now` (ms). */
  sentThrough(offset: number, now: number): void {
    if (offset <= this.sent) return;
    this.sent = offset;
    this.sends.push({ end: offset, at: now });
  }

  /** The client acknowledged output through `offset` at `now` (ms). */
  ackedThrough(offset: number, now: number): void {
    if (offset <= this.acked) return;
    this.acked = offset;
    let sentAt: number | null = null;
    while (this.sends.length > 0 && this.sends[0]!.end <= offset) sentAt = this.sends.shift()!.at;
    if (sentAt !== null) {
      const delay = now - sentAt;
      this.delays.push({ at: now, value: delay });
      this.windowDelay = Math.max(this.windowDelay, delay);
    }
    if (this.windowFrom === null) {
      this.windowFrom = { at: now, offset };
      return;
    }
    const elapsed = now - this.windowFrom.at;
    if (elapsed < DELIVERY_WINDOW_MS) return;
    const rate = ((offset - this.windowFrom.offset) * 8 * 1000) / elapsed;
    this.deliveries.push({ at: now, value: rate });
    if (this.windowDelay > this.baseDelay(now) + QUEUED_MS) this.capacities.push({ at: now, value: rate });
    this.windowFrom = { at: now, offset };
    this.windowDelay = 0;
  }

  /** The link's capacity as last seen full (bits/s): null when it was not full in the last few seconds. */
  capacity(now: number): number | null {
    return best(this.capacities, now, KEEP_MS);
  }

  /** The most the link delivered in a window of the last few seconds (bits/s), full or not: a floor under its capacity; null when nothing. */
  delivered(now: number): number | null {
    return best(this.deliveries, now, KEEP_MS);
  }

  /** The quickest ack of the last seconds: the round trip and the client's own pace, with nothing queued. */
  private baseDelay(now: number): number {
    while (this.delays.length > 0 && now - this.delays[0]!.at > BASE_DELAY_MS) this.delays.shift();
    return this.delays.length === 0 ? 0 : Math.min(...this.delays.map((d) => d.value));
  }
}

function best(samples: Sample[], now: number, keepMs: number): number | null {
  while (samples.length > 0 && now - samples[0]!.at > keepMs) samples.shift();
  if (samples.length === 0) return null;
  return Math.max(...samples.map((s) => s.value));
}
