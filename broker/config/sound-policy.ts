// Whether a session's sound may reach the person, and whether the person may let the app
// hear their microphone (docs/operations.md#sound): the first session policy that
// matches the app and the person decides, read each time a client asks — a change to
// the config applies to running sessions at once, as a privacy rule should. Sound is on
// unless a policy turns it off; the microphone is off unless a policy turns it on.
import type { NodeConfig } from './schema.js';
import { matches, type PolicyPerson } from './policy-match.js';

export interface SoundPolicy {
  sound: boolean;
  microphone: boolean;
}

export function soundPolicyFor(config: Pick<NodeConfig, 'sessionPolicies'>, appId: string, person: PolicyPerson): SoundPolicy {
  const policy = config.sessionPolicies.find((p) => matches(p, appId, person));
  return { sound: policy?.sound !== 'off', microphone: policy?.microphone === 'on' };
}
