// Builds everything into dist/ with esbuild: the broker CLI (Node, ESM), the web
// client (browser bundle + index.html), and the Electron main and preload (CJS).
// Type checking is separate (`npm run typecheck`): esbuild only strips types.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';

const watch = process.argv.includes('--watch');
const common = { bundle: true, sourcemap: true, logLevel: 'warning', legalComments: 'none' };

// Build beside dist/ and swap it in at the end, so a running node never serves a
// half-written client.
const out = `dist.tmp-${process.pid}`;
rmSync(out, { recursive: true, force: true });
mkdirSync(`${out}/renderer`, { recursive: true });

await Promise.all([
  build({
    ...common,
    entryPoints: { cli: 'broker/cli/entry.ts' },
    outdir: `${out}/broker`,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    packages: 'external',
  }),
  build({
    ...common,
    entryPoints: { app: 'renderer/src/main.tsx' },
    outdir: `${out}/renderer`,
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
    outdir: `${out}/main`,
    outExtension: { '.js': '.cjs' },
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    external: ['electron'],
  }),
]);
cpSync('renderer/index.html', `${out}/renderer/index.html`);
// The screen worker is plain JavaScript, loaded beside the CLI bundle.
cpSync('broker/host/screen-worker.mjs', `${out}/broker/screen-worker.mjs`);
// The C parts are built from source here, so a fresh machine needs only a C compiler
// (scripts/bootstrap.sh installs gcc). A part that does not compile fails the build.
function compileC(what, args) {
  const result = spawnSync('cc', ['-O2', '-Wall', '-Werror', ...args], { stdio: 'inherit' });
  if (result.status === 0) return;
  rmSync(out, { recursive: true, force: true });
  console.error(`build: ${what} did not compile (cc ${result.error ? `could not run: ${result.error.message}` : `exited ${result.status}`}); install a C compiler (bash scripts/bootstrap.sh) and build again.`);
  process.exit(1);
}
// The lockstep shim, preloaded into lockstep sandboxes: one library from every part
// (holdfast-lockstep.c and shim-*.c).
const shimSources = readdirSync('broker/host/lockstep').filter((name) => name.endsWith('.c')).sort().map((name) => `broker/host/lockstep/${name}`);
compileC('the lockstep shim', ['-shared', '-fPIC', '-o', `${out}/broker/holdfast-lockstep.so`, ...shimSources, '-ldl']);
// The termios watcher, one per terminal session: how its app's keystrokes come back
// (broker/host/termios-watch.ts). In its own directory, apart from the shim's parts.
compileC('the termios watcher', ['-o', `${out}/broker/holdfast-termios-watch`, 'broker/host/termios-watch/holdfast-termios-watch.c']);
cpSync('broker/host/screen-digest.mjs', `${out}/broker/screen-digest.mjs`);
rmSync('dist.old', { recursive: true, force: true });
try {
  renameSync('dist', 'dist.old');
} catch {
  /* first build */
}
renameSync(out, 'dist');
rmSync('dist.old', { recursive: true, force: true });
if (!watch) console.log('built dist/ (broker, renderer, main)');
