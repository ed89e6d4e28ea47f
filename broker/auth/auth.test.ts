import { describe, expect, it } from 'vitest';
import { decoyFor, hashCost, hashPassword, verifyPassword } from './password.js';
import { SignInLimiter } from './rate-limit.js';
import { TokenService } from './tokens.js';

const cheap = { N: 1024, r: 8, p: 1 };

describe('passwords', () => {
  it('verifies the right password and refuses others and malformed hashes', async () => {
    const hash = await hashPassword('correct horse', cheap);
    expect(hash).toMatch(/^scrypt\$1024\$8\$1\$/);
    expect(await verifyPassword('correct horse', hash)).toBe(true);
    expect(await verifyPassword('correct hors', hash)).toBe(false);
    expect(await verifyPassword('x', 'scrypt$nonsense')).toBe(false);
  });
});

describe('sign-in limiter', () => {
  it('lets a few failures through, then doubles the wait, and forgets on success', () => {
    let now = 0;
    const limiter = new SignInLimiter({ freeFailures: 2, baseDelayMs: 1000 }, () => now);
    const keys = ['user:ann', 'addr:1.2.3.4'];
    limiter.recordFailure(keys);
    limiter.recordFailure(keys);
    expect(limiter.retryAfter(keys)).toBe(0);
    limiter.recordFailure(keys);
    expect(limiter.retryAfter(keys)).toBe(1000);
    limiter.recordFailure(keys);
    expect(limiter.retryAfter(keys)).toBe(2000);
    expect(limiter.retryAfter(['user:bob', 'addr:5.6.7.8'])).toBe(0);
    now += 2000;
    expect(limiter.retryAfter(keys)).toBe(0);
    limiter.recordSuccess(keys);
    limiter.recordFailure(keys);
    expect(limiter.retryAfter(keys)).toBe(0);
  });

  it('forgets failures once none came for forgetAfterMs: a count does not grow over days', () => {
    let now = 0;
    const limiter = new SignInLimiter({ freeFailures: 2, baseDelayMs: 1000, forgetAfterMs: 60_000 }, () => now);
    const keys = ['ann'];
    for (let i = 0; i < 3; i++) limiter.recordFailure(keys);
    expect(limiter.retryAfter(keys)).toBe(1000);
    now += 61_000;
    // One more failure, an hour-long quiet later, counts as the first again: free.
    limiter.recordFailure(keys);
    expect(limiter.retryAfter(keys)).toBe(0);
  });
});

describe('sign-in lockout', () => {
  it('locks a key after lockoutAfter failures for lockoutMs, and says it is a lockout', () => {
    let now = 0;
    const limiter = new SignInLimiter({ freeFailures: 3, baseDelayMs: 1000, lockoutAfter: 5, lockoutMs: 15 * 60_000 }, () => now);
    const keys = ['ann|10.0.0.1'];
    for (let i = 0; i < 4; i++) limiter.recordFailure(keys);
    expect(limiter.refusal(keys)).toEqual({ waitMs: 1000, locked: false });
    now += 1000;
    expect(limiter.refusal(keys)).toBeNull();
    limiter.recordFailure(keys);
    expect(limiter.refusal(keys)).toEqual({ waitMs: 15 * 60_000, locked: true });
    expect(limiter.refusal(['ann|10.0.0.2'])).toBeNull();
    now += 15 * 60_000;
    expect(limiter.refusal(keys)).toBeNull();
  });
});

describe('sign-in counts from other nodes', () => {
  it('refuse a key as if the failures had happened here, only ever raising the count, and a success elsewhere clears it', () => {
    let now = 10_000;
    const here = new SignInLimiter({ freeFailures: 3, baseDelayMs: 1000, lockoutAfter: 5, lockoutMs: 15 * 60_000 }, () => now);
    const there = new SignInLimiter({ freeFailures: 3, baseDelayMs: 1000, lockoutAfter: 5, lockoutMs: 15 * 60_000 }, () => now);
    const shared: Array<[string, number]> = [];
    there.onFailure = (digest, failures) => shared.push([digest, failures]);
    const keys = ['ann|10.0.0.1'];
    for (let i = 0; i < 4; i++) there.recordFailure(keys);
    const [digest, failures] = shared.at(-1)!;
    expect(digest).not.toContain('ann'); // kept and shared as a digest only
    here.observe(digest, failures, now);
    expect(here.refusal(keys)).toEqual({ waitMs: 1000, locked: false });
    here.observe(digest, 2, now); // an older, smaller count changes nothing
    expect(here.refusal(keys)).toEqual({ waitMs: 1000, locked: false });
    now += 1000;
    here.recordFailure(keys); // the fifth, here: locked
    expect(here.refusal(keys)).toEqual({ waitMs: 15 * 60_000, locked: true });
    here.forget(digest);
    expect(here.refusal(keys)).toBeNull();
  });
});

describe('access tokens', () => {
  it('verifies its own tokens and refuses tampered, foreign and expired ones', async () => {
    const service = new TokenService(new Uint8Array(32).fill(1), 60);
    const { token, expiresAt } = await service.issue('ann');
    expect(expiresAt).toBeGreaterThan(Date.now());
    expect(await service.verify(token)).toMatchObject({ user: 'ann', jti: expect.any(String) });
    const [h, p, s] = token.split('.');
    expect(await service.verify(`${h}.${p}.${s!.slice(0, -2)}AA`)).toBeNull();
    expect(await new TokenService(new Uint8Array(32).fill(2), 60).verify(token)).toBeNull();
    const expired = await new TokenService(new Uint8Array(32).fill(1), -10).issue('ann');
    expect(await service.verify(expired.token)).toBeNull();
  });
});

describe('refresh tokens', () => {
  it('are a separate audience: neither kind of token passes as the other; expired ones are refused', async () => {
    const service = new TokenService(new Uint8Array(32).fill(1), 60, 3600);
    const refresh = await service.issueRefresh('ann');
    const access = await service.issue('ann');
    expect(await service.verifyRefresh(refresh.token)).toMatchObject({ user: 'ann', jti: expect.any(String) });
    expect(await service.verify(refresh.token)).toBeNull();
    expect(await service.verifyRefresh(access.token)).toBeNull();
    expect(refresh.expiresAt - Date.now()).toBeGreaterThan(3500_000);
    expect((await service.issueRefresh('ann')).token).not.toBe(refresh.token);
    const expired = await new TokenService(new Uint8Array(32).fill(1), 60, -10).issueRefresh('ann');
    expect(await service.verifyRefresh(expired.token)).toBeNull();
  });
});

describe('the decoy for unknown names', () => {
  it('costs what the configured hashes cost, for any mix of costs, and the same for a name every time', async () => {
    const cheap = await hashPassword('a', { N: 1024, r: 8, p: 1 });
    const dearer = await hashPassword('b', { N: 4096, r: 8, p: 1 });
    expect(hashCost(await decoyFor('nobody', [cheap]))).toBe('1024$8$1');
    const costs = new Set<string | null>();
    for (let i = 0; i < 20; i++) {
      const name = `nobody-${i}`;
      const cost = hashCost(await decoyFor(name, [cheap, dearer]));
      expect(hashCost(await decoyFor(name, [cheap, dearer]))).toBe(cost);
      costs.add(cost);
    }
    expect(costs).toEqual(new Set(['1024$8$1', '4096$8$1']));
    expect(hashCost('scrypt$x$8$1$salt$key')).toBeNull();
  });
});
