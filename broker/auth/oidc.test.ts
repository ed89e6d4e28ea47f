// Who a provider's claims make a person, by the config's policy. The flow itself is
// tested end to end against a real provider (test/e2e-oidc.test.ts).
import { describe, expect, it } from 'vitest';
import { Catalog } from '../catalog.js';
import { NodeConfig, OidcConfig } from '../config/schema.js';
import { personFor } from './oidc.js';

const hash = 'scrypt$16384$8$1$c2FsdA==$aGFzaA==';
const catalog = new Catalog(
  NodeConfig.parse({
    users: [{ name: 'ann', passwordHash: hash, groups: ['staff'] }],
    apps: [{ id: 'shell', name: 'Shell', command: '/bin/bash' }],
    entitlements: [{ groups: ['staff', 'engineering'], apps: ['shell'] }],
    oidc: { issuer: 'https://sso.example.com', clientId: 'holdfast', allowUnlisted: true, groupsClaim: 'groups' },
  }),
);
const settings = (extra: Record<string, unknown> = {}) => OidcConfig.parse({ issuer: 'https://sso.example.com', clientId: 'holdfast', displayName: 'Example SSO', ...extra });

describe('mapping a provider’s person to a Holdfast person', () => {
  it('a name under users: signs in as that user (case aside); the provider’s groups do not change theirs', () => {
    expect(personFor({ sub: '1', preferred_username: 'Ann', groups: ['admins'] }, settings({ groupsClaim: 'groups' }), catalog)).toEqual({ ok: true, grant: { user: 'ann' }, idpName: 'ann' });
    expect(personFor({ sub: '1', email: 'ann' }, settings({ usernameClaim: 'email' }), catalog)).toMatchObject({ ok: true, grant: { user: 'ann' } });
  });

  it('anyone else is refused in the same words as a listed user who may not use it, unless allowUnlisted', () => {
    const stranger = personFor({ sub: '2', preferred_username: 'zoe' }, settings(), catalog);
    const listed = personFor({ sub: '1', preferred_username: 'ann' }, settings({ allowListed: false, allowUnlisted: true, groupsClaim: 'groups' }), catalog);
    expect(stranger).toMatchObject({ ok: false, message: 'Example SSO signed you in as “zoe”, but that account may not use Holdfast here. Ask your administrator for access.' });
    expect(listed).toMatchObject({ ok: false, message: 'Example SSO signed you in as “ann”, but that account may not use Holdfast here. Ask your administrator for access.' });
    expect(personFor({ sub: '3' }, settings(), catalog)).toMatchObject({ ok: false, message: expect.stringContaining('did not say who you are (no "preferred_username"') });
  });

  it('with allowUnlisted, others come with the groups of groupsClaim that mean something here (Keycloak paths and unusable names dropped)', () => {
    const unlisted = settings({ allowUnlisted: true, groupsClaim: 'groups' });
    const directory = Array.from({ length: 500 }, (_, i) => `dl-all-staff-${i}`);
    expect(personFor({ sub: '2', preferred_username: 'zoe', name: 'Zoe Q', groups: ['/staff', 'Engineering', 'no spaces', 7, 'admins', ...directory] }, unlisted, catalog)).toEqual({
      ok: true,
      grant: { user: 'zoe', federated: { displayName: 'Zoe Q', groups: ['staff', 'engineering', 'admins'] } },
      idpName: 'zoe',
    });
    expect(personFor({ sub: '2', preferred_username: 'zoe.q@example.com' }, unlisted, catalog)).toMatchObject({ ok: false, detail: expect.stringContaining('not usable') });
  });
});
