// CPU profiles of the nodes of a cluster the harness starts (support/cluster-harness.ts
// spawns them itself, without the bench's BENCH_NODE_FLAGS): when those flags hold
// --cpu-prof, the nodes started meanwhile get NODE_OPTIONS=--import of a small hook
// (--cpu-prof itself is not allowed there) that profiles through node:inspector and
// writes <config name>-<pid>.cpuprofile into --cpu-prof-dir (default bench-results/prof)
// when the process exits — so the nodes must be stopped with SIGTERM, not kill -9.
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { nodeFlags } from './node.js';

const HOOK = `import { Session } from 'node:inspector';
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
const session = new Session();
session.connect();
session.post('Profiler.enable');
session.post('Profiler.start');
const config = process.argv.find((a) => /\\.(ya?ml|json)$/.test(a));
let written = false;
process.on('exit', () => {
  if (written) return;
  written = true;
  // A session on the main thread answers at once: the profile is written before the process ends.
  session.post('Profiler.stop', (error, result) => {
    const dir = process.env.BENCH_PROF_DIR;
    mkdirSync(dir, { recursive: true });
    const name = (config ? basename(config).replace(/\\.[a-z]+$/, '') : 'node') + '-' + process.pid;
    writeFileSync(dir + '/' + name + '.cpuprofile', JSON.stringify(result ? result.profile : { error: String(error) }));
  });
});
`;

export interface ClusterProfiling {
  /** Where the profiles go. */
  dir: string;
  /** Nodes started from now on are not profiled. */
  restore(): void;
}

/** With --cpu-prof in BENCH_NODE_FLAGS: node processes started until restore() write CPU profiles; else null. */
export function profileNodesStarted(root: string, tmpDir: string): ClusterProfiling | null {
  const flags = nodeFlags('BENCH_NODE_FLAGS');
  if (!flags.includes('--cpu-prof')) return null;
  const dir = resolve(root, flags.find((f) => f.startsWith('--cpu-prof-dir='))?.slice('--cpu-prof-dir='.length) ?? join('bench-results', 'prof'));
  const hook = join(tmpDir, 'cpu-prof-hook.mjs');
  writeFileSync(hook, HOOK);
  const before = { options: process.env.NODE_OPTIONS, dir: process.env.BENCH_PROF_DIR };
  process.env.NODE_OPTIONS = `${before.options ?? ''} --import=${pathToFileURL(hook).href}`.trim();
  process.env.BENCH_PROF_DIR = dir;
  const put = (key: string, value: string | undefined) => (value === undefined ? delete process.env[key] : (process.env[key] = value));
  return {
    dir,
    restore() {
      put('NODE_OPTIONS', before.options);
      put('BENCH_PROF_DIR', before.dir);
    },
  };
}
