// Import cycles fail CI (`npm run lint` and `npm test` run this after eslint). dependency-cruiser,
// unlike eslint-plugin-import(-x)'s no-cycle, counts type-only imports
// (tsPreCompilationDeps): a cycle of types is still two modules that cannot be read,
// changed or tested apart. Layering inside the folders is eslint's job (eslint.config.js).
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-import-cycle',
      severity: 'error',
      comment: 'Modules in a cycle cannot be understood apart: depend on a small interface the lower module declares instead (docs/architecture.md).',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|\\.tsbuild|test-artifacts|bench-results)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.test.json' },
  },
};
