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
    files: ['broker/**/*.ts'],
    ignores: ['broker/**/*.test.ts'],
    rules: restrict(['**/main/**', '**/renderer/**', 'electron', 'react'], 'broker/ is the middle layer: no main/ or renderer/ imports.'),
  },
);
