// Reading a session's home from the host, as tests and the benchmarks check what an app
// saved. A home is a volume mounted in its sandbox launcher's own mount namespace
// (broker/host/home-volume.ts), not on the host: while the sandbox runs, the host reads
// it through a process of that namespace (/proc/PID/root); once the sandbox is gone (a
// node killed with -9), from its image, without mounting it (debugfs). Where homes are
// plain directories (a node that is not root), the directory itself.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** The contents of `name` in the home of sandbox `id` under a node's state directory; null when it has no such file. */
export function readHomeFile(stateDir: string, id: string, name: string): Buffer | null {
  const running = readRunningHomeFile(stateDir, id, name);
  if (running !== null) return running;
  const image = join(stateDir, 'home-images', `${id}.img`);
  if (!existsSync(image)) return null;
  // Its sandbox just died: the kernel unmounts the volume (and writes it out) as its namespace goes.
  for (let i = 0; i < 40 && spawnSync('losetup', ['-j', image], { encoding: 'utf8' }).stdout.trim() !== ''; i++) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
  const read = spawnSync('debugfs', ['-R', `cat "/${name}"`, image], { env: { PATH: '/usr/sbin:/sbin:/usr/bin:/bin' } });
  return read.status === 0 && !read.stderr.toString().includes('not found') ? read.stdout : null;
}

/**
 * As readHomeFile, from a running sandbox only: it never waits. (readHomeFile waits up to
 * 2 s for a stopped sandbox's volume — a test whose node runs in its own process would
 * stall that node's event loop, and its clients would take it for a dropped network.)
 */
export function readRunningHomeFile(stateDir: string, id: string, name: string): Buffer | null {
  const path = join(stateDir, 'sandboxes', id, 'home', name);
  for (const candidate of [path, ...launchers().map((pid) => `/proc/${pid}/root${path}`)]) {
    try {
      return readFileSync(candidate);
    } catch {
      /* not there: another namespace, or gone */
    }
  }
  return null;
}

/** Processes that run a sandbox (bwrap and the apps in it name its wrapper, holdfast-init). */
function launchers(): string[] {
  return readdirSync('/proc').filter((pid) => {
    if (!/^\d+$/.test(pid)) return false;
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('holdfast-init');
    } catch {
      return false;
    }
  });
}
