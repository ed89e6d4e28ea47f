#!/usr/bin/env node
// `npm run bench`: bundles the bench (bench/main.ts, the runner: its opening comment
// says what is measured and lists the flags and environment) and runs it.
//
//   node scripts/bench.mjs [--use-dist] [--quick] [--wait-quiet=S] [--only=LIST]
//
// The bundle is written into bench-results/.build-PID/broker/, where the runner then
// copies the build under test: the parts that start a node in this process (resume)
// find its screen worker beside them. Parts load only when asked for (code splitting).
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const buildDir = join(ROOT, 'bench-results', `.build-${process.pid}`);

let bench;
try {
  const { build } = await import('esbuild');
  const outdir = join(buildDir, 'broker');
  await build({
    entryPoints: { 'bench-main': join(ROOT, 'bench', 'main.ts') },
    bundle: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    outdir,
    outExtension: { '.js': '.mjs' },
    chunkNames: 'bench-[name]-[hash]',
    logLevel: 'warning',
  });
  ({ bench } = await import(pathToFileURL(join(outdir, 'bench-main.mjs')).href));
} catch (error) {
  process.stderr.write(`bench: ${error instanceof Error ? error.stack : String(error)}\n`);
  rmSync(buildDir, { recursive: true, force: true });
  process.exit(1);
}
await bench(ROOT, buildDir);
