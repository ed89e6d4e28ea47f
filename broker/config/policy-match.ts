// Which people and apps a policy covers (sessionPolicies, transferPolicies): the same
// rule for every list of policies, where the first that matches decides.

/** A rule naming apps, people and groups; each list empty: everyone (or every app). */
export interface PolicyScope {
  apps: readonly string[];
  users: readonly string[];
  groups: readonly string[];
}

/** The person a session runs for, as policies match them. */
export interface PolicyPerson {
  name: string;
  groups: readonly string[];
}

export function matches(policy: PolicyScope, appId: string, person: PolicyPerson): boolean {
  if (policy.apps.length > 0 && !policy.apps.includes(appId)) return false;
  if (policy.users.length === 0 && policy.groups.length === 0) return true;
  return policy.users.includes(person.name) || policy.groups.some((group) => person.groups.includes(group));
}
