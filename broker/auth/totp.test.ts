import { describe, expect, it } from 'vitest';
import { base32, codeAt, fromBase32, hashRecoveryCode, matchStep, newRecoveryCodes, stepAt } from './totp.js';

describe('TOTP', () => {
  it('matches the RFC 6238 test vectors (SHA-1, 8 digits truncated to the last 6)', () => {
    // RFC 6238 appendix B: secret "12345678901234567890", T = 59 s → 94287082; T = 1111111109 → 07081804.
    const secret = base32(Buffer.from('12345678901234567890'));
    expect(codeAt(secret, stepAt(59_000))).toBe('287082');
    expect(codeAt(secret, stepAt(1_111_111_109_000))).toBe('081804');
    expect(fromBase32(secret).toString()).toBe('12345678901234567890');
  });

  it('takes a code from the step before or after, once, and nothing else', () => {
    const secret = base32(Buffer.from('12345678901234567890'));
    const now = 1_111_111_109_000;
    const step = stepAt(now);
    expect(matchStep(secret, codeAt(secret, step - 1), now, 0)).toBe(step - 1);
    expect(matchStep(secret, codeAt(secret, step + 1), now, 0)).toBe(step + 1);
    expect(matchStep(secret, codeAt(secret, step - 2), now, 0)).toBeNull();
    expect(matchStep(secret, codeAt(secret, step), now, step)).toBeNull();
    expect(matchStep(secret, 'abcdef', now, 0)).toBeNull();
  });

  it('makes ten distinct recovery codes that hash the same however they are typed', () => {
    const codes = newRecoveryCodes();
    expect(new Set(codes).size).toBe(10);
    expect(codes[0]).toMatch(/^[a-z2-7]{5}-[a-z2-7]{5}$/);
    expect(hashRecoveryCode(codes[0]!.toUpperCase().replace('-', ' '))).toBe(hashRecoveryCode(codes[0]!));
  });
});
