// The lockstep shim as a replica's processes meet it: real programs (python, bash,
// coreutils, node) under the built shim, each in a fresh pid namespace with address
// randomisation off, as a lockstep sandbox runs them. Two runs with the same key and
// clock must print the same; a later clock or another key must not.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import pty from 'node-pty';
import { LockstepClock, lockstepLibrary } from './lockstep-clock.js';

const library = lockstepLibrary();
const dir = mkdtempSync(join(tmpdir(), 'holdfast-lockstep-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SCRIPT = [
  'python3 -c "import random, time, os; print(time.time(), random.random(), os.urandom(4).hex(), list({\'apple\', \'banana\', \'cherry\', \'damson\'}))"',
  'echo $RANDOM $RANDOM',
  'date +%s.%N',
  'mktemp -u',
  // A directory's name comes from the monotonic clock and the process's CPU time (gnulib's tempname).
  'd=$(mktemp -d); echo $d; rmdir $d',
  'python3 -c "import time; print(time.monotonic(), time.process_time())"',
  // A background loop that sleeps between readings of the clock.
  '(for i in 1 2 3; do date +%s.%N; sleep 0.2; done) & wait',
  'node -e "console.log(Math.random(), Date.now())"',
  // The random devices, read with read(2) (head, python) and through stdio (perl's open is fopen-like; sqlite's random()).
  'head -c 8 /dev/urandom | od -An -tx1',
  'python3 -c "print(open(\'/dev/random\', \'rb\').read(8).hex())"',
  'sqlite3 :memory: "select random(), hex(randomblob(8))"',
  'perl -e \'open(my $f, "<", "/dev/urandom"); read($f, my $b, 8); print unpack("H*", $b), "\\n"\'',
  // Perl's hash order (its hash seed, read from /dev/urandom through the fortified open) and rand().
  'perl -e \'my %h = map { $_ => 1 } qw(a b c d e f g); print join(",", keys %h), " ", rand(), "\\n"\'',
].join('; ');

/**
 * What SCRIPT prints run as a lockstep sandbox runs it: own pid namespace, no ASLR, the
 * shim preloaded — just after an entry stamped `time` was applied (as the host does).
 */
function run(clock: LockstepClock | null, time = 0): string {
  clock?.set(time);
  const env: NodeJS.ProcessEnv = { PATH: '/usr/local/bin:/usr/bin:/bin', LANG: 'C.UTF-8', TZ: 'UTC', HOME: dir, TMPDIR: dir };
  if (clock) Object.assign(env, shimEnv(clock));
  const result = spawnSync('unshare', ['--pid', '--fork', 'setarch', '-R', 'bash', '--norc', '--noprofile', '-c', SCRIPT], { env, encoding: 'utf8' });
  expect(result.stderr).toBe('');
  return result.stdout;
}

const shimEnv = (clock: LockstepClock) => ({ LD_PRELOAD: library!, HOLDFAST_LOCKSTEP_CLOCK: clock.path, HOLDFAST_LOCKSTEP_PROCS: clock.procsPath });

/** A replica's clock and process table, fresh (as each sandbox has its own). */
function replica(name: string, key: Uint8Array, start: number): LockstepClock {
  mkdirSync(join(dir, name));
  return new LockstepClock(join(dir, name), key, start);
}

describe.skipIf(!library)('the lockstep shim (skipped when not built: npm run build compiles it)', () => {
  const key = randomBytes(32);
  const start = Date.UTC(2026, 0, 2, 3, 4, 5) * 1000;

  it('gives every replica the same clock readings and random numbers, in python, bash, coreutils, node, sqlite and perl', () => {
    const a = replica('a', key, start);
    const b = replica('b', key, start);
    const first = run(a, start);
    expect(first).toBe(run(b, start));
    // The background loop's readings are 0.2 s apart, to the microsecond or so: what its sleeps waited.
    const loop = first.split('\n').filter((line) => /^\d{10}\.\d{9}$/.test(line)).slice(-3).map(Number);
    expect(loop[1]! - loop[0]!).toBeCloseTo(0.2, 3);
    expect(loop[2]! - loop[1]!).toBeCloseTo(0.2, 3);
    // The wall clock is the log's, not the host's: 2026-01-02 03:04:05 UTC, and a microsecond for each read since.
    expect(first).toMatch(/^1767323045\.000\d+ /);
    expect(first).toContain('\n1767323045.000');
    // Without the shim, two runs differ (the reason it exists).
    expect(run(null)).not.toBe(run(null));
    a.close();
    b.close();
  });

  it('moves the clock when an entry is applied, and another session’s key gives other numbers', () => {
    const before = run(replica('c', key, start), start);
    const after = run(replica('c2', key, start), start + 90_000_000);
    expect(after).toMatch(/^1767323135\.000\d+ /);
    // Python's random numbers come from the key alone, not the time…
    const python = (out: string) => out.split('\n')[0]!.split(' ').slice(1).join(' ');
    expect(python(after)).toBe(python(before));
    // …and another session's key gives others.
    const other = replica('d', randomBytes(32), start);
    expect(python(run(other, start))).not.toBe(python(before));
    other.close();
  });

  it('moves a process’s clock by exactly what it slept, and to the entry’s time when it reads input', async () => {
    const clock = replica('f', key, start);
    const script = 'import time\na = time.time(); time.sleep(0.3); b = time.time()\ninput()\nprint("T", a, b, time.time())';
    const term = pty.spawn('setarch', ['-R', 'python3', '-c', script], { env: { PATH: '/usr/bin:/bin', HOME: dir, ...shimEnv(clock) } });
    let out = '';
    term.onData((data) => (out += data));
    await new Promise((r) => setTimeout(r, 1000));
    // An entry applied a minute on: the host sets the clock, then writes the entry's bytes.
    clock.set(start + 60_000_000);
    term.write('\r');
    await new Promise<void>((resolve) => term.onExit(() => resolve()));
    const [a, b, c] = out.match(/T (\S+) (\S+) (\S+)/)!.slice(1).map(Number);
    expect(a! - start / 1e6).toBeLessThan(0.001); // it started at the last entry's time
    expect(b! - a!).toBeCloseTo(0.3, 4); // slept 0.3 s, read 0.3 s on: not the host's time
    expect(c! - (start + 60_000_000) / 1e6).toBeLessThan(0.001); // read the entry's input: the entry's time
    clock.close();
  });

  it('gives a read of the terminal the time of the entry its bytes came from, however late it reads them', async () => {
    const clock = replica('g', key, start);
    // Reads two keys, one byte at a time, in raw mode; prints the time after each.
    const script = 'import os, sys, time, tty\ntty.setraw(0)\nos.read(0, 1); a = time.time()\nos.read(0, 1); b = time.time()\nsys.stdout.write("T %f %f\\r\\n" % (a, b))';
    const term = pty.spawn('setarch', ['-R', 'python3', '-c', script], { env: { PATH: '/usr/bin:/bin', HOME: dir, ...shimEnv(clock) } });
    const stat = statSync((term as unknown as { _pty: string })._pty);
    clock.setTerminal(stat.dev, stat.rdev);
    let out = '';
    term.onData((data) => (out += data));
    await new Promise((r) => setTimeout(r, 1000));
    // 2,000 entries applied before the app reads any: each byte still takes its own entry's time.
    // tty.setraw set the terminal's mode once: what a standby's keystrokes are paced by (input-log.ts).
    expect(clock.readModes()).toBe(1);
    for (let i = 1; i <= 2000; i++) clock.set(start + i * 10_000_000, 1);
    term.write('x'.repeat(2000));
    await new Promise<void>((resolve) => term.onExit(() => resolve()));
    const [a, b] = out.match(/T (\S+) (\S+)/)!.slice(1).map(Number);
    expect(a! - (start + 10_000_000) / 1e6).toBeGreaterThanOrEqual(0);
    expect(a! - (start + 10_000_000) / 1e6).toBeLessThan(0.001);
    expect(b! - (start + 20_000_000) / 1e6).toBeGreaterThanOrEqual(0);
    expect(b! - (start + 20_000_000) / 1e6).toBeLessThan(0.001);
    clock.close();
  });

  it('fast-forwards a replica’s timed waits up to its primary’s process clock, waits for the primary past it, and runs in real time once promoted', async () => {
    // Sleeps and a select that times out: 3 s of the app's time. Python is pid 1 of its namespace.
    const script = 'import time, select\na = time.time()\nfor _ in range(8): time.sleep(0.25)\nb = time.time(); select.select([], [], [], 1.0); c = time.time()\nprint("T", a, b, c)';
    const timed = async (clock: LockstepClock, whileRunning?: () => void, afterMs = 500) => {
      clock.set(start);
      const began = performance.now();
      const child = spawn('unshare', ['--pid', '--fork', 'setarch', '-R', 'python3', '-c', script], { env: { PATH: '/usr/bin:/bin', HOME: dir, ...shimEnv(clock) } });
      let out = '';
      child.stdout.on('data', (data: Buffer) => (out += data.toString()));
      const raise = whileRunning ? setTimeout(whileRunning, afterMs) : undefined;
      await new Promise((resolve) => child.on('exit', resolve));
      clearTimeout(raise);
      const [a, b, c] = out.match(/T (\S+) (\S+) (\S+)/)!.slice(1).map(Number);
      // The app's own time is the same however fast it ran: 2 s of sleeps, then the select's 1 s.
      expect(b! - a!).toBeCloseTo(2, 4);
      expect(c! - b!).toBeCloseTo(1, 4);
      return (performance.now() - began) / 1000;
    };
    // The primary's python had reached 10 s on: every wait ends at once.
    const ahead = replica('ff-ahead', key, start);
    ahead.fastForward(true);
    ahead.raise([[1, start + 10_000_000]]);
    expect(await timed(ahead)).toBeLessThan(1.5);
    // It had reached 1 s on: four sleeps end at once, and the fifth waits for the
    // primary's process to get further (however long that takes: 1.2 s here).
    const held = replica('ff-held', key, start);
    held.fastForward(true);
    held.raise([[1, start + 1_000_000]]);
    const seconds = await timed(held, () => held.raise([[1, start + 10_000_000]]), 1200);
    expect(seconds).toBeGreaterThan(1.2);
    expect(seconds).toBeLessThan(2.5);
    // A target that rises while the app waits ends its wait soon after.
    const rising = replica('ff-rising', key, start);
    rising.fastForward(true);
    rising.raise([[1, start + 100_000]]);
    expect(await timed(rising, () => rising.raise([[1, start + 10_000_000]]))).toBeLessThan(1.6);
    // Promoted while it waits for the primary (fast-forward off): its waits run out in real time.
    const promoted = replica('ff-promoted', key, start);
    promoted.fastForward(true);
    promoted.raise([[1, start + 100_000]]);
    const after = await timed(promoted, () => promoted.fastForward(false));
    expect(after).toBeGreaterThan(2.9);
    expect(after).toBeLessThan(4.5);
    // Fast-forward off (a primary, or a standby promoted): real time, targets or not.
    const off = replica('ff-off', key, start);
    off.raise([[1, start + 10_000_000]]);
    expect(await timed(off)).toBeGreaterThan(2.9);
    for (const clock of [ahead, held, rising, promoted, off]) clock.close();
  }, 30_000);

  it('lets the app’s other threads finish what they had to do before a fast-forwarded wait ends: a file watcher’s events come before the timer, as on the primary', async () => {
    // GLib's way (mousepad): the main thread saves a file and blocks its file monitor for
    // a 500 ms timer; a worker thread reads the kernel's file events (inotify) and hands
    // them over. On the primary they come within a millisecond, inside the timer. A
    // replacement that fast-forwarded the timer at once took them as someone else's
    // change, asked "reload?", and the next Enter answered it: its standby diverged.
    const script = [
      'import ctypes, os, select, threading',
      'libc = ctypes.CDLL(None, use_errno=True)',
      'fd = libc.inotify_init1(0)',
      'libc.inotify_add_watch(fd, b".", 0x8)', // IN_CLOSE_WRITE
      'r, w = os.pipe()',
      'def watch():',
      '    select.select([fd], [], [])',
      '    os.read(fd, 4096)',
      '    os.write(w, b"x")',
      'threading.Thread(target=watch, daemon=True).start()',
      'open("saved.txt", "w").write("x")',
      'ready = select.select([r], [], [], 0.5)[0]',
      'print("E", bool(ready))',
    ].join('\n');
    const cwd = join(dir, 'watcher');
    mkdirSync(cwd);
    const results: string[] = [];
    for (let run = 0; run < 10; run++) {
      const clock = replica(`watcher-${run}`, key, start);
      clock.fastForward(true);
      clock.raise([[1, start + 10_000_000]]);
      clock.set(start);
      const result = spawnSync('unshare', ['--pid', '--fork', 'setarch', '-R', 'python3', '-c', script], { env: { PATH: '/usr/bin:/bin', HOME: cwd, ...shimEnv(clock) }, cwd, encoding: 'utf8' });
      clock.close();
      expect(result.stderr).toBe('');
      results.push(result.stdout.trim());
    }
    expect(results).toEqual(Array(10).fill('E True'));
  });

  it('stamps what the app changes with its logical time: files written, made, renamed and removed look the same on every replica', async () => {
    // What the app makes and changes in a directory, then what ls and stat show of it.
    const script = [
      'mkdir made',
      'echo one > made/one.txt',
      'sleep 0.3',
      'python3 -c "open(\'made/two.txt\', \'w\').write(\'two\')"',
      'printf x > made/three.txt',
      'touch -d @1000000000.5 made/old.txt',
      'ln -s two.txt made/link',
      'mv made/three.txt made/renamed.txt',
      'rm made/one.txt',
      'stat -c "%n %.9Y" made made/*',
    ].join('; ');
    const runIn = (clock: LockstepClock | null, name: string) => {
      const cwd = join(dir, `files-${name}`);
      mkdirSync(cwd);
      clock?.set(start);
      const env: NodeJS.ProcessEnv = { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8', TZ: 'UTC', HOME: cwd };
      if (clock) Object.assign(env, shimEnv(clock));
      const result = spawnSync('unshare', ['--pid', '--fork', 'setarch', '-R', 'bash', '--norc', '--noprofile', '-c', script], { env, cwd, encoding: 'utf8' });
      expect(result.stderr).toBe('');
      return result.stdout;
    };
    const a = replica('files-clock-a', key, start);
    const b = replica('files-clock-b', key, start);
    const first = runIn(a, 'a');
    await new Promise((r) => setTimeout(r, 1100)); // the host's clock moves on between the replicas
    expect(runIn(b, 'b')).toBe(first);
    const times = Object.fromEntries(first.trim().split('\n').map((line) => line.split(' ') as [string, string]));
    // The session's time, not the host's; a time the app set is kept (to the microsecond).
    expect(Number(times['made/two.txt']) - start / 1e6).toBeGreaterThanOrEqual(0.3);
    expect(Number(times['made/two.txt']) - start / 1e6).toBeLessThan(1);
    expect(times['made/old.txt']).toBe('1000000000.500000777');
    // The directory changed last (the rm): its time is the latest of all.
    expect(Number(times.made)).toBeGreaterThanOrEqual(Number(times['made/renamed.txt']));
    // Without the shim, the kernel's stamps differ between two runs (the reason it exists).
    expect(runIn(null, 'c')).not.toBe(runIn(null, 'd'));
    a.close();
    b.close();
  });

  it('gives a file the time the app read of it while writing it: GTK apps save with the etag read before the close, and compare it at the next save', () => {
    // GIO's save (mousepad, every GTK editor): write, statx the open file for its etag,
    // close; the next save refuses if the file's etag changed meanwhile. A stamp at the
    // close, after the read, made mousepad say "externally modified" at every second save.
    const script = [
      'python3 -c "import os; f = open(\'a.txt\', \'w\'); f.write(\'x\'); f.flush(); t = os.fstat(f.fileno()).st_mtime_ns; f.close(); print(\'fstat\', t == os.stat(\'a.txt\').st_mtime_ns)"',
      'echo one | gio save --print-etag b.txt',
      'echo two | gio save --print-etag b.txt',
      'gio info -a etag::value b.txt',
    ].join('; ');
    const cwd = join(dir, 'etags');
    mkdirSync(cwd);
    const clock = replica('etags-clock', key, start);
    clock.set(start);
    const env = { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8', TZ: 'UTC', HOME: cwd, GIO_USE_VFS: 'local', ...shimEnv(clock) };
    const result = spawnSync('unshare', ['--pid', '--fork', 'setarch', '-R', 'bash', '--norc', '--noprofile', '-c', script], { env, cwd, encoding: 'utf8' });
    clock.close();
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('fstat True');
    const etags = [...result.stdout.matchAll(/(?:Etag|etag::value): (\S+)/g)].map((m) => m[1]);
    expect(etags).toHaveLength(3);
    // What the second save read is what the file has now, and it is the session's time.
    expect(etags[2]).toBe(etags[1]);
    expect(Number(etags[2]!.split(':')[0])).toBe(Math.floor(start / 1e6));
  });

  it('keeps an interval timer on the logical clock: ticks at exact logical times, and before each key exactly the ticks due by its entry’s time', async () => {
    // nInvaders' way: setitimer(ITIMER_REAL) and a SIGALRM handler that does the work,
    // while the main loop blocks reading keys, each stamped with the time it is written
    // (as InputLog does). What every replica then sees alike: the ticks' logical times,
    // and how many fell before each key. (A standby that runs its ticks in real time
    // behind its primary can still put one on the other side of a key: docs/cluster.md.)
    const script = [
      'import os, signal, sys, time, tty',
      'tty.setraw(0)',
      'ticks = []',
      'signal.signal(signal.SIGALRM, lambda s, f: ticks.append(time.time()))',
      'signal.setitimer(signal.ITIMER_REAL, 0.05, 0.05)',
      'armed = time.time()',
      'seen = []',
      'for _ in range(2):',
      '    os.read(0, 1)',
      '    seen.append(len(ticks))',
      'sys.stdout.write("T %.6f %d %d %s\\r\\n" % (armed, seen[0], seen[1], " ".join("%.6f" % (t - armed) for t in ticks[:seen[1]])))',
    ].join('\n');
    const zero = Date.now() * 1000;
    const clock = replica('timer-a', key, zero);
    const term = pty.spawn('setarch', ['-R', 'python3', '-c', script], { env: { PATH: '/usr/bin:/bin', HOME: dir, ...shimEnv(clock) } });
    const stat = statSync((term as unknown as { _pty: string })._pty);
    clock.setTerminal(stat.dev, stat.rdev);
    let out = '';
    term.onData((data) => (out += data));
    const stamps: number[] = [];
    for (const at of [425, 825]) {
      await new Promise((r) => setTimeout(r, zero / 1000 + at - Date.now()));
      stamps.push(Date.now() * 1000);
      clock.set(stamps.at(-1)!, 1);
      term.write('k');
    }
    await new Promise<void>((resolve) => term.onExit(() => resolve()));
    clock.close();
    const [armed, first, second, ...times] = out.match(/T [^\r]+/)![0].split(' ').slice(1).map(Number);
    // Every tick at its logical time, exactly 50 ms apart (the kernel's come when they come).
    expect(times).toEqual(times.map((_, i) => Number((0.05 * (i + 1)).toFixed(6))));
    // Before each key, exactly the ticks due by its stamp (armed is read a microsecond after the timer was set).
    const due = (stamp: number) => Math.floor((stamp - (armed! * 1e6 - 1)) / 50_000);
    expect([first, second]).toEqual(stamps.map(due));
  });

  it('never moves the clock backwards', () => {
    const clock = replica('e', key, start);
    clock.set(start + 5_000_000);
    expect(run(clock, start + 1_000_000)).toMatch(/^1767323050\.000\d+ /);
    clock.close();
  });
});
