// The detached allowance is a token bucket: a burst, refilled at a rate, never above
// the burst however long the app stays quiet.
import { describe, expect, it } from 'vitest';
import { DetachedAllowance } from './detached-allowance.js';

describe('DetachedAllowance', () => {
  it('allows a burst, then the rate, and never saves up more than the burst', () => {
    let now = 0;
    const allowance = new DetachedAllowance(1000, 100, () => now);
    allowance.spend(1200);
    expect(allowance.available).toBe(-200);
    expect(allowance.msUntil(50)).toBe(2500);
    now = 2500;
    expect(allowance.available).toBe(50);
    expect(allowance.msUntil(50)).toBe(0);
    now = 60_000;
    expect(allowance.available).toBe(1000);
    expect(allowance.msUntil(5000)).toBe(0);
  });
});
