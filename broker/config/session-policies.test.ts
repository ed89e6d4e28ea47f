// sessionPolicies: in the node config: defaults, and every mistake named where it is written.
import { describe, expect, it } from 'vitest';
import { parseConfig } from './load.js';
import { CONFIG_BASE, configProblems } from '../../support/config-text.js';

const base = CONFIG_BASE;
const problems = configProblems;

describe('sessionPolicies: in the node config', () => {
  it('holds a disconnected session for 8 hours by default, and fills a policy’s defaults', () => {
    const config = parseConfig(`${base}sessionPolicies:\n  - idleMinutes: 30\n`, 'n.yaml');
    expect(config.node.sessionHoldSeconds).toBe(28_800);
    expect(config.sessionPolicies).toEqual([{ apps: [], users: [], groups: [], idleMinutes: 30, warnMinutes: 5 }]);
    expect(parseConfig(base, 'n.yaml').sessionPolicies).toEqual([]);
  });

  it('names apps, users and groups that point at nothing, unknown keys and bad values', () => {
    const message = problems(`${base}sessionPolicies:\n  - apps: [shel]\n    users: [bob]\n    groups: [nobody]\n`);
    expect(message).toContain('n.yaml:10: sessionPolicies.0.apps.0: app "shel" is not in the catalog (apps:)');
    expect(message).toContain('n.yaml:11: sessionPolicies.0.users.0: user "bob" is not defined under users:');
    expect(message).toContain('n.yaml:12: sessionPolicies.0.groups.0: no user is in group "nobody"');
    const values = problems(`${base}sessionPolicies:\n  - idleMinutes: -1\n    idleSeconds: 5\n`);
    expect(values).toContain('n.yaml:10: sessionPolicies.0.idleMinutes');
    expect(values).toContain('unknown key "idleSeconds"');
  });
});
