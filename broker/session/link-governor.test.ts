// The link governor's choices, with a simulated clock and link: down at once when the
// link is full, up slowly, lossless on a fast link, nothing learnt from an idle one.
import { describe, expect, it } from 'vitest';
import { LinkGovernor } from './link-governor.js';

/** A governor on a simulated link: the app offers bytes every 10 ms, the link carries them in order, the client acks every 50 ms. */
function governed() {
  let now = 0;
  const tiers: string[] = [];
  const governor = new LinkGovernor({ apply: (_q, tier) => tiers.push(tier), now: () => now, setInterval: () => ({ unref() {} }) as unknown as NodeJS.Timeout, clearInterval: () => {} });
  let sent = 0;
  let delivered = 0;
  let linkFreeAt = 0;
  const arrivals: Array<{ end: number; at: number }> = [];
  /** One second at `linkBps`, the app offering `offeredBps`; then the governor looks. */
  const second = (linkBps: number, offeredBps = 50e6) => {
    for (let i = 0; i < 100; i++) {
      now += 10;
      const bytes = (offeredBps / 8) * 0.01;
      sent += bytes;
      governor.sentThrough(sent);
      linkFreeAt = Math.max(linkFreeAt, now) + ((bytes * 8) / linkBps) * 1000;
      arrivals.push({ end: sent, at: linkFreeAt + 15 });
      if (now % 50 === 0) {
        while (arrivals.length > 0 && arrivals[0]!.at <= now) delivered = arrivals.shift()!.end;
        if (delivered > 0) governor.ackedThrough(delivered);
      }
    }
    governor.govern();
  };
  return { governor, tiers, second };
}

describe('LinkGovernor', () => {
  it('starts where noVNC would and steps down at once on a full slow link', () => {
    const { governor, tiers, second } = governed();
    governor.start();
    expect(tiers).toEqual(['fast']);
    second(2e6, 8e6); // mobile, the app offering more than it carries
    second(2e6, 8e6);
    expect(governor.current.name).toBe('low');
  });

  it('tries one tier better after a few seconds without a full link, not for 15 s after a step down', () => {
    const { governor, tiers, second } = governed();
    governor.start();
    for (let i = 0; i < 2; i++) second(2e6, 2.4e6);
    expect(tiers).toEqual(['fast', 'low']);
    // The link gets fast at once (a LAN): nothing queues, but the step down was just now: it waits.
    for (let i = 0; i < 12; i++) second(1e9, 8e6);
    expect(tiers).toEqual(['fast', 'low']);
    // Then one tier better every 3 s.
    for (let i = 0; i < 12; i++) second(1e9, 8e6);
    expect(tiers).toEqual(['fast', 'low', 'medium', 'high', 'fast']);
  });

  it('stays down on a link that stays full', () => {
    const { governor, tiers, second } = governed();
    governor.start();
    for (let i = 0; i < 30; i++) second(2e6, 2.4e6);
    expect(tiers).toEqual(['fast', 'low']);
  });

  it('never steps down for an app that leaves the link idle', () => {
    const { governor, tiers, second } = governed();
    governor.start();
    for (let i = 0; i < 10; i++) second(2e6, 1e5);
    for (let i = 0; i < 5; i++) governor.govern();
    expect(tiers).toEqual(['fast']);
  });
});
