// The link meter with a simulated link: a full one (acks later and later as output
// queues) gives its capacity; a fast one, acked every 50 ms by a client that renders
// first, gives only a floor — never taken for full.
import { describe, expect, it } from 'vitest';
import { LinkMeter } from './link-meter.js';

/** `seconds` of a stream offering `offeredBps` into a link of `linkBps` with a 60 ms round trip; the client acks every 50 ms. */
function stream(meter: LinkMeter, offeredBps: number, linkBps: number, seconds: number) {
  let sent = 0;
  let delivered = 0;
  const arrivals: Array<{ end: number; at: number }> = [];
  let linkFreeAt = 0;
  for (let t = 0; t <= seconds * 1000; t += 10) {
    // Every 10 ms the app offers its bytes; the link carries them in order at its rate.
    const bytes = (offeredBps / 8) * 0.01;
    sent += bytes;
    meter.sentThrough(sent, t);
    linkFreeAt = Math.max(linkFreeAt, t) + ((bytes * 8) / linkBps) * 1000;
    arrivals.push({ end: sent, at: linkFreeAt + 30 });
    if (t % 50 === 0) {
      while (arrivals.length > 0 && arrivals[0]!.at <= t) delivered = arrivals.shift()!.end;
      if (delivered > 0) meter.ackedThrough(delivered, t + 30);
    }
  }
  return seconds * 1000;
}

describe('LinkMeter', () => {
  it('finds the capacity of a full link', () => {
    const meter = new LinkMeter();
    const now = stream(meter, 8e6, 2e6, 4);
    expect(meter.capacity(now)! / 1e6).toBeCloseTo(2, 0);
    expect(meter.delivered(now)! / 1e6).toBeCloseTo(2, 0);
  });

  it('takes a fast link that the app does not fill for a floor only', () => {
    const meter = new LinkMeter();
    const now = stream(meter, 30e6, 1e9, 4);
    expect(meter.capacity(now)).toBeNull();
    expect(meter.delivered(now)! / 1e6).toBeCloseTo(30, -1);
  });

  it('forgets after a while', () => {
    const meter = new LinkMeter();
    const now = stream(meter, 8e6, 2e6, 3);
    expect(meter.capacity(now + 6000)).toBeNull();
    expect(meter.delivered(now + 6000)).toBeNull();
  });
});
