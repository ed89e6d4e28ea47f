import { describe, expect, it } from 'vitest';
import { AnonymousGate } from './anonymous-gate.js';

describe('anonymous gate', () => {
  it('caps connections waiting to sign in per address, and their rate, address by address', () => {
    let now = 0;
    const gate = new AnonymousGate(() => ({ anonymousPerAddress: 3, anonymousConnectionsPerSecond: 2 }), () => now);
    expect(gate.admit('10.0.0.1', 3)).toMatch(/3 connections from your address are waiting to sign in/);
    // A burst of twice the rate, then one a second per half second's tokens.
    for (let i = 0; i < 4; i++) expect(gate.admit('10.0.0.1', 0)).toBeNull();
    expect(gate.admit('10.0.0.1', 0)).toMatch(/more than 2 new connections a second/);
    expect(gate.admit('10.0.0.2', 0)).toBeNull();
    now += 500;
    expect(gate.admit('10.0.0.1', 0)).toBeNull();
  });
});
