import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CookieSealer, readCookie, setCookie } from './sealed-cookie.js';

const key = randomBytes(32);
const flow = { state: 'abc', nonce: 'def', verifier: 'ghi', client: 'web', handoff: 'jkl' };

describe('sealed cookies', () => {
  it('opens what it sealed, on any node with the same token key', () => {
    const sealed = new CookieSealer(key, 'oidc-flow').seal('holdfast-oidc-abc', flow, 60_000);
    expect(sealed).toMatch(/^v1\.[A-Za-z0-9_-]+$/);
    expect(sealed).not.toContain('ghi');
    expect(Buffer.from(sealed.slice(3), 'base64url').toString('latin1')).not.toContain('verifier');
    expect(new CookieSealer(Buffer.from(key), 'oidc-flow').open('holdfast-oidc-abc', sealed)).toEqual(flow);
  });

  it('refuses a cookie that expired, was altered, or was sealed for another name, purpose or key', () => {
    const sealer = new CookieSealer(key, 'oidc-flow');
    const now = 1_800_000_000_000;
    const sealed = sealer.seal('holdfast-oidc-abc', flow, 60_000, now);
    expect(sealer.open('holdfast-oidc-abc', sealed, now + 59_999)).toEqual(flow);
    expect(sealer.open('holdfast-oidc-abc', sealed, now + 60_000)).toBeNull();
    expect(sealer.open('holdfast-oidc-xyz', sealed, now)).toBeNull();
    expect(new CookieSealer(key, 'something-else').open('holdfast-oidc-abc', sealed, now)).toBeNull();
    expect(new CookieSealer(randomBytes(32), 'oidc-flow').open('holdfast-oidc-abc', sealed, now)).toBeNull();
    const bytes = Buffer.from(sealed.slice(3), 'base64url');
    for (const at of [0, 12, 20, bytes.length - 1]) {
      const flipped = Buffer.from(bytes);
      flipped[at]! ^= 1;
      expect(sealer.open('holdfast-oidc-abc', 'v1.' + flipped.toString('base64url'), now), `byte ${at}`).toBeNull();
    }
    for (const junk of ['', 'v1.', 'v2.' + sealed.slice(3), 'v1.AAAA', 'v1.' + 'A'.repeat(9000), sealed.slice(0, -4)]) {
      expect(sealer.open('holdfast-oidc-abc', junk, now)).toBeNull();
    }
  });

  it('is set HttpOnly and SameSite=Lax on its path, Secure over https, and read back from a Cookie header', () => {
    expect(setCookie('holdfast-oidc-abc', 'v1.xyz', { path: '/auth/oidc', maxAgeSeconds: 600, secure: false })).toBe('holdfast-oidc-abc=v1.xyz; Path=/auth/oidc; Max-Age=600; HttpOnly; SameSite=Lax');
    expect(setCookie('holdfast-oidc-abc', '', { path: '/auth/oidc', maxAgeSeconds: 0, secure: true })).toBe('holdfast-oidc-abc=; Path=/auth/oidc; Max-Age=0; HttpOnly; SameSite=Lax; Secure');
    expect(readCookie('a=1; holdfast-oidc-abc=v1.xyz; b=2', 'holdfast-oidc-abc')).toBe('v1.xyz');
    expect(readCookie('xholdfast-oidc-abc=1', 'holdfast-oidc-abc')).toBeNull();
    expect(readCookie(undefined, 'holdfast-oidc-abc')).toBeNull();
  });
});
