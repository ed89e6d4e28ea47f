// The oidc: section and what it changes elsewhere: every mistake is named where it is
// written (parseConfig adds the file and line), and nothing half-valid gets through.
import { describe, expect, it } from 'vitest';
import { parseConfig } from './load.js';
import { CONFIG_BASE, configProblems } from '../../support/config-text.js';

const base = CONFIG_BASE;
const problems = configProblems;

describe('oidc: in the node config', () => {
  it('fills the defaults: scopes, claims, who may sign in', () => {
    const config = parseConfig(`${base}oidc:\n  issuer: https://sso.example.com/realms/staff\n  clientId: holdfast\n`, 'n.yaml');
    expect(config.oidc).toEqual({
      issuer: 'https://sso.example.com/realms/staff',
      clientId: 'holdfast',
      clientAuth: 'client_secret_basic',
      displayName: 'your organisation',
      scopes: 'openid profile email',
      usernameClaim: 'preferred_username',
      allowListed: true,
      allowUnlisted: false,
    });
  });

  it('needs an https issuer (http only on loopback) and names each field it refuses', () => {
    const message = problems(`${base}oidc:\n  issuer: http://sso.example.com\n  clientId: holdfast\n  scopes: profile email\n  redirectUrl: https://holdfast.example.com/callback\n  colour: blue\n`);
    expect(message).toContain('n.yaml:10: oidc.issuer: must be https:// (http:// only on 127.0.0.1 or localhost)');
    expect(message).toContain('n.yaml:12: oidc.scopes: must include openid');
    expect(message).toContain('n.yaml:13: oidc.redirectUrl: must end in /auth/oidc/callback');
    expect(message).toContain('oidc: unknown key "colour"');
    expect(problems(`${base}oidc:\n  issuer: not a url\n  clientId: holdfast\n`)).toContain('oidc.issuer: a URL such as https://');
    expect(problems(`${base}oidc:\n  issuer: http://127.0.0.1:9000\n  clientId: holdfast\n`)).toBe('');
    expect(problems(`${base}oidc:\n  issuer: https://sso.example.com\n`)).toMatch(/oidc\.clientId: /);
  });

  it('refuses contradictions: two secrets, nobody allowed, unlisted people without groups', () => {
    const oidc = `${base}oidc:\n  issuer: https://sso.example.com\n  clientId: holdfast\n`;
    expect(problems(`${oidc}  clientSecret: s3cret\n  clientSecretFile: /etc/holdfast/oidc-secret\n`)).toContain('oidc.clientSecretFile: give clientSecret or clientSecretFile, not both');
    expect(problems(`${oidc}  allowListed: false\n`)).toContain('oidc.allowListed: with allowListed and allowUnlisted both false nobody could sign in');
    expect(problems(`${oidc}  allowUnlisted: true\n`)).toContain('oidc.groupsClaim: allowUnlisted needs groupsClaim');
    expect(problems(`${oidc}  clientSecretFile: oidc-secret\n`)).toContain('oidc.clientSecretFile: an absolute path');
  });

  it('lets a user go without a password only when the identity provider can sign them in', () => {
    const noHash = `users:\n  - name: ann\n    groups: [staff]\napps: []\n`;
    expect(problems(noHash)).toContain('n.yaml:2: users.0.passwordHash: user "ann" has no passwordHash and could never sign in (no oidc: is configured)');
    expect(problems(`${noHash}oidc:\n  issuer: https://sso.example.com\n  clientId: holdfast\n  allowListed: false\n  allowUnlisted: true\n  groupsClaim: groups\n`)).toContain(
      'users.0.passwordHash: user "ann" has no passwordHash and could never sign in (oidc.allowListed is false)',
    );
    expect(parseConfig(`${noHash}oidc:\n  issuer: https://sso.example.com\n  clientId: holdfast\n`, 'n.yaml').users[0]!.passwordHash).toBeUndefined();
  });

  it('with allowUnlisted, entitlements may name groups and people only the identity provider knows', () => {
    const entitlements = `entitlements:\n  - groups: [engineering]\n    users: [zoe]\n    apps: [shell]\n`;
    expect(problems(base + entitlements)).toContain('no user is in group "engineering"');
    expect(problems(base + entitlements)).toContain('user "zoe" is not defined under users:');
    expect(problems(`${base}${entitlements}oidc:\n  issuer: https://sso.example.com\n  clientId: holdfast\n  allowUnlisted: true\n  groupsClaim: groups\n`)).toBe('');
  });
});
