// The lockstep shim as a replica's processes meet it: real programs (python, bash,
// coreutils, node) under the built shim, each in a fresh pid namespace with address
// randomisation off, as a lockstep sandbox runs them. Two runs with the same key and
// clock must print the same; a later clock or another key must not.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LockstepClock, lockstepLibrary } from './lockstep-clock.js';

const library = lockstepLibrary();
const dir = mkdtempSync(join(tmpdir(), 'holdfast-lockstep-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SCRIPT = [
  'python3 -c "import random, time, os; print(time.time(), random.random(), os.urandom(4).hex(), list({\'apple\', \'banana\', \'cherry\', \'damson\'}))"',
  'echo $RANDOM $RANDOM',
  'date +%s.%N',
  'mktemp -u',
  'node -e "console.log(Math.random(), Date.now())"',
].join('; ');

/**
 * What SCRIPT prints run as a lockstep sandbox runs it: own pid namespace, no ASLR, the
 * shim preloaded — just after an entry stamped `time` was applied (as the host does).
 */
function run(clock: LockstepClock | null, time = 0): string {
  clock?.set(time);
  const env: NodeJS.ProcessEnv = { PATH: '/usr/local/bin:/usr/bin:/bin', LANG: 'C.UTF-8', TZ: 'UTC', HOME: dir };
  if (clock) Object.assign(env, { LD_PRELOAD: library!, HOLDFAST_LOCKSTEP_CLOCK: clock.path });
  const result = spawnSync('unshare', ['--pid', '--fork', 'setarch', '-R', 'bash', '--norc', '--noprofile', '-c', SCRIPT], { env, encoding: 'utf8' });
  expect(result.stderr).toBe('');
  return result.stdout;
}

describe.skipIf(!library)('the lockstep shim (skipped when not built: npm run build compiles it)', () => {
  const key = randomBytes(32);
  const start = Date.UTC(2026, 0, 2, 3, 4, 5) * 1000;

  it('gives every replica the same clock readings and random numbers, in python, bash, coreutils and node', () => {
    const a = new LockstepClock(join(dir, 'a'), key, start);
    const b = new LockstepClock(join(dir, 'b'), key, start);
    const first = run(a, start);
    expect(first).toBe(run(b, start));
    // The wall clock is the log's, not the host's: 2026-01-02 03:04:05 UTC, give or take a few reads.
    expect(first).toMatch(/^1767323045\.0000\d+ /);
    expect(first).toContain('\n1767323045.0000');
    // Without the shim, two runs differ (the reason it exists).
    expect(run(null)).not.toBe(run(null));
    a.close();
    b.close();
  });

  it('moves the clock when an entry is applied, and another session’s key gives other numbers', () => {
    const clock = new LockstepClock(join(dir, 'c'), key, start);
    const before = run(clock, start);
    const after = run(clock, start + 90_000_000);
    expect(after).toMatch(/^1767323135\.0000\d+ /);
    // Python's random numbers come from the key alone, not the time…
    const python = (out: string) => out.split('\n')[0]!.split(' ').slice(1).join(' ');
    expect(python(after)).toBe(python(before));
    // …and another session's key gives others.
    const other = new LockstepClock(join(dir, 'd'), randomBytes(32), start);
    expect(python(run(other, start))).not.toBe(python(before));
    clock.close();
    other.close();
  });

  it('lets time pass for reads long after the last entry, so an app’s own timers fire', () => {
    const clock = new LockstepClock(join(dir, 'f'), key, start);
    clock.set(start + 1_000_000);
    const script = 'python3 -c "import time; a = time.time(); time.sleep(2.3); print(a, time.time())"';
    const result = spawnSync('setarch', ['-R', 'bash', '--norc', '--noprofile', '-c', script], {
      env: { PATH: '/usr/bin:/bin', HOME: dir, LD_PRELOAD: library!, HOLDFAST_LOCKSTEP_CLOCK: clock.path },
      encoding: 'utf8',
    });
    const [first, later] = result.stdout.trim().split(' ').map(Number);
    expect(first! - (start + 1_000_000) / 1e6).toBeLessThan(0.001); // an answer to the entry: its time
    expect(later! - first!).toBeGreaterThan(2.2); // two seconds on: the time that passed since
    clock.close();
  });

  it('never moves the clock backwards', () => {
    const clock = new LockstepClock(join(dir, 'e'), key, start);
    clock.set(start + 5_000_000);
    expect(run(clock, start + 1_000_000)).toMatch(/^1767323050\.0000\d+ /);
    clock.close();
  });
});
