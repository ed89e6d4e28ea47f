// Builds everything into dist/ with esbuild: the broker CLI (Node, ESM), the web
// client (browser bundle + index.html), and the Electron main and preload (CJS).
// Type checking is separate (`npm run typecheck`): esbuild only strips types.
import { build } from 'esbuild';
import { cpSync, mkdirSync, rmSync } from 'node:fs';

const watch = process.argv.includes('--watch');
const common = { bundle: true, sourcemap: true, logLevel: 'warning', legalComments: 'none' };

rmSync('dist', { recursive: true, force: true });
mkdirSync('dist/renderer', { recursive: true });

await Promise.all([
  build({
    ...common,
    entryPoints: { cli: 'broker/cli/entry.ts' },
    outdir: 'dist/broker',
    platform: 'node',
    target: 'node20',
    format: 'esm',
    packages: 'external',
  }),
  build({
    ...common,
    entryPoints: { app: 'renderer/src/main.tsx' },
    outdir: 'dist/renderer',
    platform: 'browser',
    target: ['chrome120'],
    format: 'esm',
    jsx: 'automatic',
    minify: true,
    loader: { '.woff2': 'file', '.svg': 'dataurl' },
  }),
  build({
    ...common,
    entryPoints: { main: 'main/main.ts', preload: 'main/preload.ts' },
    outdir: 'dist/main',
    outExtension: { '.js': '.cjs' },
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    external: ['electron'],
  }),
]);
cpSync('renderer/index.html', 'dist/renderer/index.html');
if (!watch) console.log('built dist/ (broker, renderer, main)');
