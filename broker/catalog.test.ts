import { describe, expect, it } from 'vitest';
import { Catalog } from './catalog.js';
import { NodeConfig } from './config/schema.js';

const hash = 'scrypt$16384$8$1$c2FsdA==$aGFzaA==';
const config = NodeConfig.parse({
  users: [
    { name: 'ann', passwordHash: hash, groups: ['staff'] },
    { name: 'bob', passwordHash: hash },
  ],
  apps: [
    { id: 'shell', name: 'Shell', command: '/bin/bash' },
    { id: 'python', name: 'Python', command: '/usr/bin/python3' },
    { id: 'secret', name: 'Secret', command: '/bin/true' },
  ],
  entitlements: [
    { groups: ['staff'], apps: ['shell'] },
    { users: ['ann', 'bob'], apps: ['python'] },
  ],
});

describe('catalog entitlements', () => {
  it('grants the union of user and group entitlements, in catalog order', () => {
    const catalog = new Catalog(config);
    expect(catalog.appsFor('ann').map((a) => a.id)).toEqual(['shell', 'python']);
    expect(catalog.appsFor('bob').map((a) => a.id)).toEqual(['python']);
    expect(catalog.appsFor('nobody')).toEqual([]);
  });
});
