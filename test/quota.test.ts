// Disk and inode quotas (issue 21, item 2): `dd` in a session's home grew the host's
// root file system by 2 GiB, and 200 000 empty files took 3 s. A home must stop at its
// profile's maxHomeMiB and maxHomeFiles with "No space left on device", `df ~` must show
// the quota, a full home must not stop anyone else, a launch that would eat into the
// node's disk reserve is refused with a message that says so — and a home kept on
// shared storage for `failover: restart` keeps its quota on the node it restarts on.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HoldfastClient, SessionStream } from '../shared/core/index.js';
import { Screen, client, launch, sh, startNode, type TestNode } from '../support/harness.js';
import { sessionOf, waitForStatus } from '../support/cluster-harness.js';
import { clusterPerFile } from './cluster-per-file.js';
import type { TestCluster } from '../support/cluster-harness.js';

const MiB = 1024 * 1024;
/** Small, so the attack stays quick: 32 MiB and 1024 files. */
const QUOTA = { maxHomeMiB: 32, maxHomeFiles: 1024 };
const BASH = { command: '/bin/bash', args: ['--norc', '--noprofile', '-i'], env: { PS1: '$ ' } };

/** Free bytes of the file system holding `dir`, as an unprivileged writer sees them. */
const freeBytes = (dir: string) => {
  const fs = statfsSync(dir);
  return fs.bavail * fs.bsize;
};
/**
 * Bytes of the host's disk that `dir` takes (du: allocated blocks; there are no mounts
 * under it on the host). What a node's sessions take of the disk is all under its
 * stateDir; unlike the disk's free space, this is not moved by other tests running.
 */
const diskUsed = (dir: string) => Number(spawnSync('du', ['-s', '--block-size=1', dir], { encoding: 'utf8' }).stdout.split('\t')[0]);

interface Shell {
  stream: SessionStream;
  run: (command: string, timeoutMs?: number) => Promise<{ output: string; status: number }>;
}

async function shell(who: HoldfastClient, appId: string): Promise<Shell> {
  const stream = await launch(who, appId, 160, 40);
  const screen = new Screen(stream);
  await screen.waitFor('$ ', 15_000);
  return { stream, run: (command, timeoutMs) => sh(stream, screen, command, timeoutMs) };
}

describe('a session’s home has a quota', () => {
  let t: TestNode;
  let ann: HoldfastClient;
  let bob: HoldfastClient;

  beforeAll(async () => {
    // A home as large as the disk's free space (at most 1 TiB, the largest a profile may ask): never above the reserve.
    const huge = Math.min(1_048_576, Math.floor(freeBytes(tmpdir()) / MiB));
    t = await startNode({
      sandboxProfiles: { small: QUOTA, huge: { maxHomeMiB: huge } },
      apps: [
        { id: 'small', name: 'Small', ...BASH, sandbox: 'small' },
        { id: 'huge', name: 'Huge', ...BASH, sandbox: 'huge' },
      ],
      entitlements: [{ users: ['ann', 'bob'], apps: ['small', 'huge'] }],
    });
    ann = client(t.url);
    await ann.signIn('ann', 'ann-pw');
    bob = client(t.url);
    await bob.signIn('bob', 'bob-pw');
  }, 30_000);
  afterAll(async () => {
    ann?.signOut();
    bob?.signOut();
    await t?.stop();
  });

  it('says what bounds the homes on this node', () => {
    expect(t.node.ctx.sessions.sandbox.info.homes).toMatch(/^a volume per session/);
  });

  it('stops a write past maxHomeMiB with "No space left on device", and the host loses no more than the quota', async () => {
    const before = diskUsed(t.stateDir);
    const a = await shell(ann, 'small');
    // Three times the quota, as the attack wrote 2 GiB.
    const dd = await a.run('dd if=/dev/zero of=~/big bs=1M count=96; sync', 60_000);
    expect(dd.output).toContain('No space left on device');
    const written = Number((await a.run('stat -c %s ~/big')).output.trim());
    expect(written).toBeGreaterThan(20 * MiB);
    expect(written).toBeLessThanOrEqual(32 * MiB);
    // The quota was taken from the host when the session started; the attack took nothing more.
    expect(diskUsed(t.stateDir) - before).toBeLessThan(32 * MiB + 4 * MiB);
    a.stream.close();
  }, 90_000);

  it('stops creating files past maxHomeFiles', async () => {
    const a = await shell(ann, 'small');
    const made = await a.run('i=0; while [ $i -lt 3000 ] && : > f$i 2>/dev/null; do i=$((i+1)); done; echo made=$i; : > one-more', 60_000);
    const count = Number(/made=(\d+)/.exec(made.output)?.[1]);
    expect(count).toBeGreaterThan(900);
    expect(count).toBeLessThan(1024);
    expect(made.output).toContain('No space left on device');
    a.stream.close();
  }, 90_000);

  it('shows the quota, not the host’s disk, to df in the home', async () => {
    const a = await shell(ann, 'small');
    const df = await a.run('df -B1M --output=size,itotal ~ | tail -1');
    const [size, inodes] = df.output.trim().split(/\s+/).map(Number);
    expect(size).toBeGreaterThanOrEqual(24);
    expect(size).toBeLessThanOrEqual(32);
    expect(inodes).toBeGreaterThanOrEqual(1024);
    expect(inodes).toBeLessThan(1100);
    a.stream.close();
  });

  it('stops only the full session: another, of another person, still writes', async () => {
    const a = await shell(ann, 'small');
    // Bounded (twice the quota), so a node without quotas fails this test without filling its host.
    expect((await a.run('head -c 64M /dev/zero > ~/fill', 60_000)).output).toContain('No space left on device');
    const b = await shell(bob, 'small');
    const wrote = await b.run('head -c 1048576 /dev/urandom > ~/mine && wc -c < ~/mine');
    expect(wrote).toEqual({ output: expect.stringContaining('1048576'), status: 0 });
    // The full one still runs, and frees space by deleting.
    expect((await a.run('rm ~/fill && echo x > ~/small && cat ~/small')).output).toContain('x');
    a.stream.close();
    b.stream.close();
  }, 90_000);

  it('refuses a launch whose home would eat into the node’s disk reserve, and says why', async () => {
    const stream = ann.launch('huge', 80, 24);
    const started = await stream.ready().then(
      () => true,
      () => false,
    );
    if (started) stream.close();
    expect(started).toBe(false);
    const refused = await stream.finished();
    expect(refused.status).toBe('failed');
    expect(refused.reason).toMatch(/^This node's disk is too full to give Huge its [\d.]+ GiB home folder: [\d.]+ [GM]iB is free, and 2 GiB of it is kept for the node's own state, logs and audit\. Try again later/);
  });

  it('leaves nothing behind when a session ends: its image goes, and its space returns', async () => {
    const images = join(t.stateDir, 'home-images');
    const before = new Set(existsSync(images) ? readdirSync(images) : []);
    const a = await shell(ann, 'small');
    const image = (existsSync(images) ? readdirSync(images) : []).find((name) => !before.has(name));
    expect(image).toMatch(/\.img$/);
    a.stream.close();
    await a.stream.finished();
    for (let i = 0; i < 50 && existsSync(join(images, image!)); i++) await new Promise((r) => setTimeout(r, 100));
    expect(existsSync(join(images, image!))).toBe(false);
    // Nothing was mounted on the host, and the loop device went with the sandbox's mount namespace.
    const loops = () => spawnSync('losetup', ['-a'], { encoding: 'utf8' }).stdout;
    for (let i = 0; i < 50 && loops().includes(image!); i++) await new Promise((r) => setTimeout(r, 100));
    expect(loops()).not.toContain(image!);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(t.stateDir);
  });
});

describe('a home kept on shared storage (failover: restart)', () => {
  let c: TestCluster;
  clusterPerFile({ nodes: 2, tag: 'quota' }, (started) => (c = started));

  it('keeps its quota, and its files, on the node it restarts on', async () => {
    // Every node's default profile gets the small quota (restart: the config is read at start).
    for (const node of [...c.nodes]) {
      c.editConfig(node.name, (config) => (config.sandboxProfiles = { default: QUOTA }));
      await c.restart(node.name);
    }
    const ann = client(c.nodes[0]!.url);
    await ann.signIn('ann', 'ann-pw');
    const stream = await launch(ann, 'restartable', 160, 40);
    const screen = new Screen(stream);
    await screen.waitFor('$ ', 30_000);
    const run = (command: string) => sh(stream, screen, command, 60_000);
    const id = stream.sessionId!;
    expect((await run('echo kept > ~/note; head -c 64M /dev/zero > ~/fill')).output).toContain('No space left on device');
    const record = sessionOf(await waitForStatus(c, (s) => sessionOf(s, id) !== undefined), id)!;
    c.signal(record.primary, 'SIGKILL');
    await screen.waitFor(/Restartable was restarted on node-\d because its server stopped/, 30_000);
    // Its files are there, still full: the quota came with them.
    expect((await run('cat ~/note; head -c 1M /dev/zero > ~/more')).output).toMatch(/kept[\s\S]*No space left on device/);
    expect((await run('df -B1M --output=size ~ | tail -1')).output.trim()).toMatch(/^(2[4-9]|3[0-2])$/);
    expect((await run('rm ~/fill; echo more >> ~/note; cat ~/note')).output).toMatch(/kept\s+more/);
    stream.close();
    ann.signOut();
  }, 120_000);
});
