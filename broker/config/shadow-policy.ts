// Whether an administrator may view (shadow) a person's session, and how the person is
// asked (docs/operations.md#shadowing): the first session policy that matches the app
// and the person decides, read when the administrator asks — so a change to the config
// applies to running sessions at once, as a privacy rule should.
import type { NodeConfig } from './schema.js';
import { matches, type PolicyPerson } from './policy-match.js';

export type Shadowing = 'ask' | 'ask-allow-on-timeout' | 'allow' | 'never';

export function shadowingFor(config: Pick<NodeConfig, 'sessionPolicies'>, appId: string, person: PolicyPerson): Shadowing {
  return config.sessionPolicies.find((p) => matches(p, appId, person))?.shadowing ?? 'ask';
}
