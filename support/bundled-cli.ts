// This tree's `holdfast` CLI bundled into a directory of the test's own (under
// node_modules/.cache, so its packages resolve), for tests that run the CLI — as nodes
// of a cluster, or in a terminal — while the shared dist/ is left alone (another build
// may be using it, or be older than the code under test).
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));

export interface BundledCli {
  /** The entry to run with node: …/broker/cli.js. */
  cli: string;
  remove(): void;
}

export async function bundleCli(tag: string): Promise<BundledCli> {
  mkdirSync(join(root, 'node_modules/.cache'), { recursive: true });
  const dir = mkdtempSync(join(root, `node_modules/.cache/holdfast-${tag}-cli-`));
  // Sandboxes run as their own users and bind the lockstep shim from here.
  chmodSync(dir, 0o755);
  const out = join(dir, 'broker');
  await build({ entryPoints: { cli: join(root, 'broker/cli/entry.ts') }, outdir: out, bundle: true, platform: 'node', target: 'node20', format: 'esm', packages: 'external', logLevel: 'error' });
  for (const file of ['screen-worker.mjs', 'screen-digest.mjs']) cpSync(join(root, 'broker/host', file), join(out, file));
  // The lockstep shim and the termios watcher are C, unchanged here: the last build's serve.
  for (const file of ['holdfast-lockstep.so', 'holdfast-termios-watch']) if (existsSync(join(root, 'dist/broker', file))) cpSync(join(root, 'dist/broker', file), join(out, file));
  return { cli: join(out, 'cli.js'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}
