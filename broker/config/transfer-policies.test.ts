// transferPolicies: in the node config: defaults, mistakes named where they are
// written, and the first matching policy deciding as a whole.
import { describe, expect, it } from 'vitest';
import { parseConfig } from './load.js';
import { CONFIG_BASE, configProblems } from '../../support/config-text.js';
import { DEFAULT_TRANSFER_RULES, transferRulesFor } from './transfer-policy.js';

const base = CONFIG_BASE;
const problems = configProblems;

describe('transferPolicies: in the node config', () => {
  it('lets everyone download, upload and print files of up to 2 GiB by default, and fills a policy’s defaults', () => {
    expect(parseConfig(base, 'n.yaml').transferPolicies).toEqual([]);
    expect(DEFAULT_TRANSFER_RULES).toEqual({ download: true, upload: true, print: true, maxFileMiB: 2048 });
    const config = parseConfig(`${base}transferPolicies:\n  - apps: [shell]\n    download: false\n`, 'n.yaml');
    expect(config.transferPolicies).toEqual([{ apps: ['shell'], users: [], groups: [], download: false, upload: true, print: true, maxFileMiB: 2048 }]);
  });

  it('names apps, users and groups that point at nothing, unknown keys and bad values', () => {
    const message = problems(`${base}transferPolicies:\n  - apps: [shel]\n    users: [bob]\n    groups: [nobody]\n`);
    expect(message).toContain('n.yaml:10: transferPolicies.0.apps.0: app "shel" is not in the catalog (apps:)');
    expect(message).toContain('n.yaml:11: transferPolicies.0.users.0: user "bob" is not defined under users:');
    expect(message).toContain('n.yaml:12: transferPolicies.0.groups.0: no user is in group "nobody"');
    const values = problems(`${base}transferPolicies:\n  - maxFileMiB: 0\n    upload: maybe\n    printing: false\n`);
    expect(values).toContain('n.yaml:10: transferPolicies.0.maxFileMiB');
    expect(values).toContain('n.yaml:11: transferPolicies.0.upload');
    expect(values).toContain('unknown key "printing"');
  });

  it('takes the first policy that matches, as a whole', () => {
    const policies = parseConfig(
      `${base}transferPolicies:\n  - groups: [staff]\n    maxFileMiB: 10\n  - apps: [shell]\n    download: false\n    upload: false\n    print: false\n    maxFileMiB: 5\n`,
      'n.yaml',
    ).transferPolicies;
    // ann (staff) gets the first: downloads on (its default), 10 MiB — not the second's "off".
    expect(transferRulesFor(policies, 'shell', { name: 'ann', groups: ['staff'] })).toEqual({ download: true, upload: true, print: true, maxFileMiB: 10 });
    expect(transferRulesFor(policies, 'shell', { name: 'bob', groups: [] })).toEqual({ download: false, upload: false, print: false, maxFileMiB: 5 });
    expect(transferRulesFor(policies, 'python', { name: 'bob', groups: [] })).toEqual(DEFAULT_TRANSFER_RULES);
  });
});
