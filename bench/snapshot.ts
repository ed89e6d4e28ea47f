// Which code is measured: the build the bench runs (built from the source unless
// --use-dist, then copied aside so a concurrent `npm run build` cannot swap it under a
// running bench), and the commit and modified files it came from.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { USE_DIST, paths } from './settings.js';

/** Which code was measured: the commit, and how many files differ from it. */
export function gitState(): { commit: string | null; modifiedFiles: number | null } {
  const git = (...args: string[]) => spawnSync('git', args, { cwd: paths.root, encoding: 'utf8', timeout: 10_000 });
  const head = git('rev-parse', '--short', 'HEAD');
  const status = git('status', '--porcelain', '--untracked-files=no');
  return { commit: head.status === 0 ? head.stdout.trim() : null, modifiedFiles: status.status === 0 ? status.stdout.split('\n').filter(Boolean).length : null };
}

/** Builds with the project's script (unless --use-dist), then takes a private copy of dist/broker. */
export function snapshotBuild(outdir: string): string {
  if (!USE_DIST) {
    process.stderr.write('bench: node scripts/build.mjs …\n');
    const b = spawnSync(process.execPath, [join(paths.root, 'scripts', 'build.mjs')], { cwd: paths.root, stdio: ['ignore', 'ignore', 'inherit'], timeout: 180_000 });
    if (b.status !== 0) throw new Error('scripts/build.mjs failed (run it to see why, or pass --use-dist)');
  }
  const source = join(paths.root, 'dist', 'broker');
  if (!existsSync(join(source, 'cli.js'))) throw new Error('dist/broker/cli.js is missing; run node scripts/build.mjs');
  cpSync(source, join(outdir, 'broker'), { recursive: true });
  return join(outdir, 'broker', 'cli.js');
}
