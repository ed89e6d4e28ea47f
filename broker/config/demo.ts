// The built-in demo: two users and three apps from Debian packages, so `npm start`
// shows a real catalog with no config file. Passwords are hashed at start.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashPassword } from '../auth/password.js';
import { NodeConfig } from './schema.js';

export const DEMO_USERS = { demo: 'demo', guest: 'guest' } as const;

export async function demoConfig(overrides: { host?: string; port?: number; stateDir?: string } = {}): Promise<NodeConfig> {
  const cheap = { N: 2 ** 14, r: 8, p: 1 };
  return NodeConfig.parse({
    node: {
      name: 'demo',
      listen: { host: overrides.host ?? '127.0.0.1', port: overrides.port ?? 8080 },
      stateDir: overrides.stateDir ?? join(tmpdir(), `holdfast-demo-${process.pid}`),
    },
    users: [
      { name: 'demo', displayName: 'Demo User', passwordHash: await hashPassword(DEMO_USERS.demo, cheap), groups: ['staff'] },
      { name: 'guest', displayName: 'Guest', passwordHash: await hashPassword(DEMO_USERS.guest, cheap), groups: ['guests'] },
    ],
    apps: [
      { id: 'shell', name: 'Shell', description: 'A bash shell in a private home', icon: 'terminal', command: '/bin/bash', args: ['-l'] },
      { id: 'python', name: 'Python', description: 'The Python 3 interactive interpreter', icon: 'python', command: '/usr/bin/python3', args: ['-q'] },
      { id: 'htop', name: 'htop', description: 'Processes in your sandbox, full screen', icon: 'monitor', command: '/usr/bin/htop' },
    ],
    entitlements: [
      { groups: ['staff'], apps: ['shell', 'python', 'htop'] },
      { groups: ['guests'], apps: ['python'] },
    ],
  });
}
