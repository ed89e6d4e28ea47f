import { describe, expect, it } from 'vitest';
import { NodeConfig } from '../config/schema.js';
import { limitsFor, recordingFor, warnSecondsFor } from './session-policy.js';

const hash = 'scrypt$16384$8$1$c2FsdA==$aGFzaA==';
function config(sessionPolicies: unknown[], node: Record<string, unknown> = {}) {
  return NodeConfig.parse({
    node,
    users: [
      { name: 'ann', passwordHash: hash, groups: ['staff'] },
      { name: 'cy', passwordHash: hash, groups: ['contractors', 'staff'] },
    ],
    apps: [
      { id: 'python', name: 'Python', command: '/usr/bin/python3' },
      { id: 'cad', name: 'CAD', command: '/usr/bin/cad' },
    ],
    sessionPolicies,
  });
}
const ann = { name: 'ann', groups: ['staff'] };
const cy = { name: 'cy', groups: ['contractors', 'staff'] };

describe('session policies', () => {
  it('keeps a session with no policy for the node’s hold time — 8 hours by default — with no idle or length limit', () => {
    expect(limitsFor(config([]), 'python', ann)).toEqual({ holdSeconds: 8 * 3600, idleSeconds: null, maxSeconds: null, warnSeconds: 300 });
    expect(limitsFor(config([], { sessionHoldSeconds: 60 }), 'python', ann).holdSeconds).toBe(60);
  });

  it('lets the first matching policy decide, whole: a field it leaves out takes the default, not a later policy’s', () => {
    const policies = [
      { groups: ['contractors'], maxMinutes: 600, disconnectedMinutes: 60 },
      { apps: ['cad'], idleMinutes: 30, warnMinutes: 10 },
      { disconnectedMinutes: 1440, idleMinutes: 120 },
    ];
    // cy is a contractor: the first policy, and no idle limit although later ones have one.
    expect(limitsFor(config(policies), 'cad', cy)).toEqual({ holdSeconds: 3600, idleSeconds: null, maxSeconds: 36_000, warnSeconds: 300 });
    // ann's CAD: the second; its hold is the node's, not the third policy's day.
    expect(limitsFor(config(policies), 'cad', ann)).toEqual({ holdSeconds: 8 * 3600, idleSeconds: 1800, maxSeconds: null, warnSeconds: 600 });
    // ann's Python: the catch-all.
    expect(limitsFor(config(policies), 'python', ann)).toEqual({ holdSeconds: 86_400, idleSeconds: 7200, maxSeconds: null, warnSeconds: 300 });
  });

  it('matches people by name or by any of their groups, and apps by id', () => {
    const policies = [{ users: ['ann'], apps: ['python'], idleMinutes: 1 }];
    expect(limitsFor(config(policies), 'python', ann).idleSeconds).toBe(60);
    expect(limitsFor(config(policies), 'cad', ann).idleSeconds).toBeNull();
    expect(limitsFor(config(policies), 'python', cy).idleSeconds).toBeNull();
    // Groups a person's identity provider gave them count like configured ones.
    expect(limitsFor(config([{ groups: ['staff'], idleMinutes: 2 }]), 'python', { name: 'dee', groups: ['staff'] }).idleSeconds).toBe(120);
  });

  it('takes fractions of a minute, and 0 as no limit', () => {
    expect(limitsFor(config([{ idleMinutes: 0.1, warnMinutes: 0.05, maxMinutes: 0 }]), 'python', ann)).toEqual({ holdSeconds: 8 * 3600, idleSeconds: 6, maxSeconds: null, warnSeconds: 3 });
    expect(limitsFor(config([{ disconnectedMinutes: 0 }]), 'python', ann).holdSeconds).toBe(0);
  });

  it('records a session when its first matching policy says so; none, or one that leaves it out: not recorded', () => {
    const policies = [{ groups: ['contractors'], recording: 'on' }, { apps: ['cad'], idleMinutes: 30 }, { recording: 'on' }];
    expect(recordingFor(config([]), 'python', ann)).toBe(false);
    expect(recordingFor(config(policies), 'cad', cy)).toBe(true);
    // ann's CAD: the second policy decides, and it says nothing of recording (the third's "on" does not count).
    expect(recordingFor(config(policies), 'cad', ann)).toBe(false);
    expect(recordingFor(config(policies), 'python', ann)).toBe(true);
    expect(() => config([{ recording: 'yes' }])).toThrow();
  });

  it('warns at most half the limit ahead, so a short limit is not warned from its start', () => {
    expect(warnSecondsFor({ warnSeconds: 300 }, 1800)).toBe(300);
    expect(warnSecondsFor({ warnSeconds: 300 }, 240)).toBe(120);
  });
});
