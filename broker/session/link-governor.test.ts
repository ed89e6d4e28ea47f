// The link governor's choices, with a simulated clock and link: down at once, up slowly,
// lossless only on a fast link, nothing learnt from an idle one.
import { describe, expect, it } from 'vitest';
import { LinkGovernor } from './link-governor.js';

function governed() {
  let now = 0;
  const tiers: string[] = [];
  const governor = new LinkGovernor({ apply: (_q, tier) => tiers.push(tier), now: () => now, setInterval: () => ({ unref() {} }) as unknown as NodeJS.Timeout, clearInterval: () => {} });
  let sent = 0;
  let acked = 0;
  /** One second of a busy link at `bitsPerSecond`: acks every 50 ms, output always outstanding, then the governor looks. */
  const second = (bitsPerSecond: number) => {
    for (let i = 0; i < 20; i++) {
      now += 50;
      sent = acked + 1_000_000;
      governor.sentThrough(sent);
      acked += (bitsPerSecond / 8) * 0.05;
      governor.ackedThrough(acked);
    }
    governor.govern();
  };
  return { governor, tiers, second };
}

describe('LinkGovernor', () => {
  it('starts in the middle, steps down at once on a slow link, and up only after a few seconds of room', () => {
    const { governor, tiers, second } = governed();
    governor.start();
    expect(tiers).toEqual(['high']);
    second(2e6); // mobile
    expect(governor.current.name).toBe('low');
    second(100e6);
    second(100e6);
    expect(governor.current.name).toBe('low');
    // Samples are kept 5 s: the slow one must age out, then three evaluations with room each climb one tier.
    for (let i = 0; i < 12; i++) second(100e6);
    expect(tiers).toEqual(['high', 'low', 'medium', 'high', 'lossless']);
  });

  it('climbs on what a quiet app got through (the link carries at least that), and never drops for it', () => {
    let now = 0;
    const tiers: string[] = [];
    const governor = new LinkGovernor({ apply: (_q, tier) => tiers.push(tier), now: () => now, setInterval: () => ({ unref() {} }) as unknown as NodeJS.Timeout, clearInterval: () => {} });
    governor.start();
    // Updates of 400 kB every 50 ms, each acknowledged whole before the next is sent: 64 Mbit/s delivered, never a full link.
    let offset = 0;
    for (let i = 0; i < 200; i++) {
      now += 50;
      offset += 400_000;
      governor.sentThrough(offset);
      governor.ackedThrough(offset);
      if (i % 20 === 19) governor.govern();
    }
    expect(tiers).toEqual(['high', 'lossless']);
    // Then a trickle, still never filling the link: it stays lossless.
    for (let i = 0; i < 200; i++) {
      now += 50;
      offset += 100;
      governor.sentThrough(offset);
      governor.ackedThrough(offset);
      if (i % 20 === 19) governor.govern();
    }
    expect(tiers).toEqual(['high', 'lossless']);
  });

  it('keeps its tier when the app leaves the link idle (nothing measured)', () => {
    const { governor, tiers } = governed();
    governor.start();
    for (let i = 0; i < 5; i++) governor.govern();
    expect(tiers).toEqual(['high']);
  });
});
