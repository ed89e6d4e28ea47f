// The link meter: capacity from acks inside busy periods, nothing from idle gaps.
import { describe, expect, it } from 'vitest';
import { LinkMeter } from './link-meter.js';

describe('LinkMeter', () => {
  it('measures the rate acks arrive at while output is outstanding', () => {
    const meter = new LinkMeter();
    // 1 Mbit/s: 125 bytes a ms; the app keeps 50 kB outstanding, the client acks every 50 ms.
    let sent = 0;
    let acked = 0;
    for (let t = 0; t <= 2000; t += 50) {
      sent = acked + 50_000;
      meter.sentThrough(sent);
      if (t > 0) {
        acked += 125 * 50;
        meter.ackedThrough(acked, t);
      }
    }
    expect(meter.capacity(2000)! / 1e6).toBeCloseTo(1, 1);
  });

  it('learns nothing from an app that leaves the link idle, and forgets after a while', () => {
    const meter = new LinkMeter();
    // A small update every 200 ms, each acknowledged whole before the next: no busy period spans two acks.
    for (let t = 0, offset = 0; t < 2000; t += 200) {
      offset += 2000;
      meter.sentThrough(offset);
      meter.ackedThrough(offset, t + 20);
    }
    expect(meter.capacity(2000)).toBeNull();
    const busy = new LinkMeter();
    busy.sentThrough(1_000_000);
    busy.ackedThrough(10_000, 0);
    busy.ackedThrough(110_000, 200);
    expect(busy.capacity(200)).toBe(4_000_000);
    expect(busy.capacity(6000)).toBeNull();
  });
});
