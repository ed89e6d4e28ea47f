// Lint: typescript-eslint's recommended rules, plus the layering the architecture
// depends on, enforced per folder (CONVENTIONS 1):
//   shared/   imports neither main/, renderer/ nor broker/, nor Node or Electron
//   renderer/ imports only shared/ (no Node, no Electron, no broker)
//   main/     never imports renderer/ or broker/ (the broker never ships in the app)
//   broker/   never imports main/ or renderer/
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
    files: ['shared/**/*.ts'],
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
