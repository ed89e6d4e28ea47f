// Sound and microphone policies: sound on and the microphone off unless a policy says
// otherwise, the first matching policy deciding as a whole.
import { describe, expect, it } from 'vitest';
import { SessionPolicy } from './schema.js';
import { soundPolicyFor } from './sound-policy.js';

const config = (policies: unknown[]) => ({ sessionPolicies: policies.map((p) => SessionPolicy.parse(p)) });
const ann = { name: 'ann', groups: ['staff'] };

describe('soundPolicyFor', () => {
  it('plays sound and keeps the microphone off when no policy says otherwise', () => {
    expect(soundPolicyFor(config([]), 'music', ann)).toEqual({ sound: true, microphone: false });
    expect(soundPolicyFor(config([{ idleMinutes: 5 }]), 'music', ann)).toEqual({ sound: true, microphone: false });
  });

  it('takes the first policy that matches the app and the person, as a whole', () => {
    const policies = config([{ apps: ['calls'], groups: ['staff'], microphone: 'on' }, { apps: ['calls'], sound: 'off' }, { microphone: 'on' }]);
    expect(soundPolicyFor(policies, 'calls', ann)).toEqual({ sound: true, microphone: true });
    // bob is not staff: the second policy decides, and it says nothing of the microphone (the third's "on" does not count).
    expect(soundPolicyFor(policies, 'calls', { name: 'bob', groups: [] })).toEqual({ sound: false, microphone: false });
    expect(soundPolicyFor(policies, 'music', ann)).toEqual({ sound: true, microphone: true });
  });

  it('refuses values other than on and off', () => {
    expect(() => config([{ microphone: true }])).toThrow();
    expect(() => config([{ sound: 'loud' }])).toThrow();
  });
});
