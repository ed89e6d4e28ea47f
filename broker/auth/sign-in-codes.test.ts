import { describe, expect, it } from 'vitest';
import { MemoryControlPlane } from '../control-plane/memory.js';
import { CODE_TTL_MS, SIGN_IN_CODES, SignInCodes } from './sign-in-codes.js';

const handoff = 'h'.repeat(32);

describe('one-time sign-in codes', () => {
  it('work once, for the client that started the sign-in, within a minute', async () => {
    const plane = new MemoryControlPlane();
    let now = 1_800_000_000_000;
    const codes = new SignInCodes(plane, () => now);
    const code = await codes.issue({ user: 'ann' }, handoff);
    expect(code).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // Only the code's hash is kept.
    expect((await plane.list(SIGN_IN_CODES)).map((kv) => kv.key + kv.value).join()).not.toContain(code);
    expect(await codes.redeem(code, handoff)).toEqual({ user: 'ann' });
    expect(await codes.redeem(code, handoff)).toBeNull();

    const federated = { displayName: 'Zoe', groups: ['staff'] };
    const late = await codes.issue({ user: 'zoe', federated }, handoff);
    now += CODE_TTL_MS;
    expect(await codes.redeem(late, handoff)).toBeNull();

    const stolen = await codes.issue({ user: 'zoe', federated }, handoff);
    expect(await codes.redeem(stolen, 'x'.repeat(32))).toBeNull();
    expect(await codes.redeem(stolen, handoff)).toBeNull();
    const good = await codes.issue({ user: 'zoe', federated }, handoff);
    expect(await codes.redeem(good, handoff)).toEqual({ user: 'zoe', federated });
    expect(await codes.redeem('never-issued', handoff)).toBeNull();
  });

  it('two redemptions at once: exactly one wins', async () => {
    const codes = new SignInCodes(new MemoryControlPlane());
    const code = await codes.issue({ user: 'ann' }, handoff);
    const results = await Promise.all([codes.redeem(code, handoff), codes.redeem(code, handoff), codes.redeem(code, handoff)]);
    expect(results.filter((r) => r !== null)).toEqual([{ user: 'ann' }]);
  });

  it('codes nobody redeemed are swept once expired', async () => {
    const plane = new MemoryControlPlane();
    let now = 1_800_000_000_000;
    const codes = new SignInCodes(plane, () => now);
    await codes.issue({ user: 'ann' }, handoff);
    await codes.issue({ user: 'bob' }, handoff);
    now += CODE_TTL_MS + 1;
    await codes.issue({ user: 'ann' }, handoff);
    expect(await plane.list(SIGN_IN_CODES)).toHaveLength(1);
  });
});
