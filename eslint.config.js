// Lint: typescript-eslint's recommended rules, plus the import layering, enforced
// per folder. The layers, bottom up: shared/ is the wire protocol and the session
// core, and runs everywhere (the renderer, Electron's main process, the CLI), so it
// depends on nothing of the others nor on any runtime's APIs; renderer/ (the UI) and
// main/ (Electron, OS integration) sit on shared/ and not on each other; broker/ (the
// node and the CLI) sits on shared/ and never ships inside the desktop app.
//   shared/   imports neither main/, renderer/ nor broker/, nor Node or Electron
//   renderer/ imports only shared/ (no Node, no Electron, no broker)
//   main/     never imports renderer/ or broker/ (the broker never ships in the app)
//   broker/   never imports main/ or renderer/
// Import cycles are dependency-cruiser's to find (.dependency-cruiser.cjs). Why the
// layers are drawn where they are: docs/architecture.md.
import tseslint from 'typescript-eslint';

const nodeBuiltins = ['node:*', 'fs', 'path', 'os', 'child_process', 'net', 'http', 'https', 'crypto', 'stream', 'util'];
const notApp = ['**/main/**', '**/renderer/**', 'electron', 'react'];
const restrict = (groups, message) => ({
  'no-restricted-imports': ['error', { patterns: [{ group: groups, message }] }],
});

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.tsbuild/**', 'test-artifacts/**', 'bench-results/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Any plain-JS module of the shared core (.js, .mjs) is held to the same rule.
    files: ['shared/**/*.ts', 'shared/**/*.js', 'shared/**/*.mjs'],
    ignores: ['shared/**/*.test.ts'],
    rules: restrict(
      ['**/main/**', '**/renderer/**', '**/broker/**', 'electron', 'ws', 'react', ...nodeBuiltins],
      'shared/ runs in the renderer, main and the CLI alike: no main/, renderer/, broker/, Node or Electron imports.',
    ),
  },
  {
    files: ['renderer/**/*.ts', 'renderer/**/*.tsx'],
    ignores: ['renderer/**/*.test.ts'],
    rules: restrict(
      ['**/main/**', '**/broker/**', 'electron', 'ws', ...nodeBuiltins],
      'renderer/ talks to the session core in shared/ only: no main/, broker/, Node or Electron imports.',
    ),
  },
  {
    files: ['main/**/*.ts'],
    ignores: ['main/**/*.test.ts'],
    rules: restrict(['**/renderer/**', '**/broker/**'], 'main/ is OS integration only; the broker never ships inside the desktop app.'),
  },
  {
    files: ['main/preload.ts'],
    rules: restrict(
      ['**/renderer/**', '**/broker/**', ...nodeBuiltins],
      'The preload imports only shared/ and Electron renderer modules.',
    ),
  },
  {
    files: ['broker/**/*.ts', 'broker/**/*.mjs'],
    ignores: ['broker/**/*.test.ts'],
    rules: restrict(notApp, 'broker/ is the middle layer: no main/ or renderer/ imports.'),
  },
  // Inside broker/, each room may reach only the rooms below it (docs/architecture.md):
  //   gateway/ → (SessionService, declared in gateway/) registry/ → session/, cluster/ → host/
  // with auth/, control-plane/, config/, tls/ underneath; node.ts assembles them. A later block replaces the
  // broker-wide one for its files, so each repeats the no-app rule.
  ...brokerRooms([
    ['host', ['gateway', 'registry', 'session', 'cluster', 'auth', 'control-plane', 'catalog'], 'host/ runs sandboxes and displays: it knows nothing of sessions, replicas, clients or sign-in.'],
    ['session', ['gateway', 'registry', 'auth', 'control-plane', 'cluster', '!../cluster/peer-protocol.js', '!../cluster/replicator.js'], 'session/ is one replica of one session: it hands its log to the replicator and knows nothing of the registry, the cluster or clients.'],
    ['cluster', ['gateway', 'registry', 'session', 'auth'], 'cluster/ depends on the small interfaces it declares (cluster/replica.ts), not on the registry, sessions, clients or sign-in.'],
    ['control-plane', ['gateway', 'registry', 'session', 'cluster', 'auth', 'host'], 'control-plane/ is storage: it knows nothing of what is stored.'],
    ['registry', ['gateway'], 'registry/ serves the gateway, never the other way round.'],
    ['auth', ['gateway', 'registry', 'session', 'cluster', 'host'], 'auth/ is sign-in and tokens: it knows nothing of sessions, replicas or clients.'],
    [
      'gateway',
      ['registry', 'cluster', '!../cluster/records.js', 'session', '!../session/peer.js', '!../session/end-reason.js', 'host', '!../host/sandbox-host.js', 'node.js'],
      'gateway/ reaches sessions and the cluster only through the interfaces it declares (gateway/context.ts); of the layers below it may import only their data shapes (cluster/records.ts, session/peer.ts, session/end-reason.ts, host/sandbox-host.ts types).',
    ],
  ]),
);

/** One lint block per room of broker/: what it must not import (paths relative to broker/). */
function brokerRooms(rooms) {
  return rooms.map(([room, forbidden, message]) => ({
    files: [`broker/${room}/**/*.ts`, `broker/${room}/**/*.mjs`],
    ignores: [`broker/${room}/**/*.test.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: notApp, message: 'broker/ is the middle layer: no main/ or renderer/ imports.' },
            // `!path` (gitignore style) allows one module of a forbidden room.
            { group: forbidden.flatMap((name) => (name.startsWith('!') ? [name] : [`../${name}/**`, `../${name}.js`])), message },
          ],
        },
      ],
    },
  }));
}
