// Home volumes: what a launch is given (a plain directory where volumes cannot be had,
// and why), the disk reserve a launch may not eat into — counting images promised to
// launches whose launcher has not allocated them yet — stale images at start, and, as
// root, the launcher's script itself: the image is allocated whole, mounted in the
// launcher's own namespace only, and a kept one keeps its files. The quota as a person
// meets it in a real sandbox is test/quota.test.ts.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SandboxProfile } from '../config/schema.js';
import { NodeFullError } from '../node-full.js';
import { HOME_MOUNT, HomeDiskFullError, HomeVolumes, KEPT_FEATURES, PRIVATE_FEATURES, formatSize, homeVolumeProblem } from './home-volume.js';
import { OWN_MOUNT_NAMESPACE } from './terminals.js';

const MiB = 1024 * 1024;
let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'home-volume-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const profile = (maxHomeMiB: number, maxHomeFiles = 256) => SandboxProfile.parse({ maxHomeMiB, maxHomeFiles });
const sandboxDir = (id: string) => {
  const dir = join(root, 'sandboxes', id);
  mkdirSync(dir, { recursive: true });
  return dir;
};
const freeMiB = () => {
  const fs = statfsSync(root);
  return Math.floor((fs.bavail * fs.bsize) / MiB);
};

describe('home volumes', () => {
  it('gives plain directories where volumes cannot be had, and says why', () => {
    const homes = new HomeVolumes({ stateDir: root, reserveMiB: 2048, problem: 'the node does not run as root' });
    expect(homes.summary).toBe("no quota: homes are plain directories on the host's disk (the node does not run as root)");
    const home = homes.open({ id: 'a', dir: sandboxDir('a'), profile: profile(32), appName: 'Shell' });
    expect(home).toMatchObject({ path: join(root, 'sandboxes', 'a', 'home'), volume: false });
    expect(statSync(home.path).isDirectory()).toBe(true);
    expect(home.launcher(0)).toEqual([]);
    const kept = join(root, 'shared', 'homes', 'k');
    expect(homes.open({ id: 'b', dir: sandboxDir('b'), kept, profile: profile(32), appName: 'Shell' }).path).toBe(kept);
  });

  it('gives a volume: a private image in stateDir, a kept one beside the kept home, mounted by the launcher', () => {
    const homes = new HomeVolumes({ stateDir: root, reserveMiB: 0, problem: null });
    expect(homes.summary).toBe('a volume per session (ext4 image of maxHomeMiB, maxHomeFiles); 0 MiB of the disk kept for the node');
    const home = homes.open({ id: 'a', dir: sandboxDir('a'), profile: profile(32, 1024), appName: 'Shell' });
    expect(home.volume).toBe(true);
    expect(home.launcher(2_000_000_001)).toEqual(['/bin/sh', '-c', HOME_MOUNT, 'holdfast-home', join(root, 'home-images', 'a.img'), home.path, String(32 * MiB), '1024', PRIVATE_FEATURES, '2000000001']);
    expect(home.readPath(42)).toBe(`/proc/42/root${join(root, 'sandboxes', 'a', 'home')}`);
    const kept = join(root, 'shared', 'homes', 'k');
    mkdirSync(kept, { recursive: true });
    const keptHome = homes.open({ id: 'b', dir: sandboxDir('b'), kept, profile: profile(32), appName: 'Shell' });
    expect(keptHome.path).toBe(join(root, 'sandboxes', 'b', 'home'));
    expect(keptHome.launcher(0).slice(4, 5)).toEqual([join(kept, 'home.img')]);
    expect(keptHome.launcher(0)).toContain(KEPT_FEATURES);
    // At exit a private image goes; a kept one stays for the next node.
    writeFileSync(join(root, 'home-images', 'a.img'), '');
    writeFileSync(join(kept, 'home.img'), '');
    home.remove();
    keptHome.remove();
    expect(existsSync(join(root, 'home-images', 'a.img'))).toBe(false);
    expect(existsSync(join(kept, 'home.img'))).toBe(true);
  });

  it('refuses a home that would eat into the reserve, counting homes promised but not yet allocated', () => {
    // Room for one 64 MiB home above the reserve, not two.
    const homes = new HomeVolumes({ stateDir: root, reserveMiB: freeMiB() - 96, problem: null });
    homes.open({ id: 'a', dir: sandboxDir('a'), profile: profile(64), appName: 'Shell' });
    const second = () => homes.open({ id: 'b', dir: sandboxDir('b'), profile: profile(64), appName: 'Editor' });
    expect(second).toThrow(HomeDiskFullError);
    expect(second).toThrow(NodeFullError); // the gateway answers limit_reached with its message
    expect(second).toThrow(/^This node's disk is too full to give Editor its 64 MiB home folder: .* is free, and .* of it is kept for the node's own state, logs and audit\. Try again later/);
    // Once the first image is allocated (as its launcher does), the free space counts it: still no room.
    expect(spawnSync('fallocate', ['-l', String(64 * MiB), join(root, 'home-images', 'a.img')]).status).toBe(0);
    expect(second).toThrow(HomeDiskFullError);
    // An existing (kept) image takes nothing new.
    const kept = join(root, 'shared', 'homes', 'k');
    mkdirSync(kept, { recursive: true });
    writeFileSync(join(kept, 'home.img'), '');
    expect(homes.open({ id: 'c', dir: sandboxDir('c'), kept, profile: profile(64), appName: 'Shell' }).volume).toBe(true);
  });

  it('forgets a promise no launcher took up (a launch that failed) after a minute', () => {
    const homes = new HomeVolumes({ stateDir: root, reserveMiB: freeMiB() - 96, problem: null });
    homes.open({ id: 'a', dir: sandboxDir('a'), profile: profile(64), appName: 'Shell' });
    const second = () => homes.open({ id: 'b', dir: sandboxDir('b'), profile: profile(64), appName: 'Shell' });
    expect(second).toThrow(HomeDiskFullError);
    const now = Date.now();
    vi.spyOn(Date, 'now').mockReturnValue(now + 61_000);
    try {
      expect(second().volume).toBe(true);
    } finally {
      vi.restoreAllMocks();
    }
  });

  it('removes at start the images a previous run left', () => {
    mkdirSync(join(root, 'home-images'));
    writeFileSync(join(root, 'home-images', 'old.img'), 'x');
    writeFileSync(join(root, 'home-images', 'half.img.new'), 'x');
    expect(new HomeVolumes({ stateDir: root, reserveMiB: 0, problem: null }).removeStale()).toBe(2);
    expect(readdirSync(join(root, 'home-images'))).toEqual([]);
  });

  it('takes its sizes from the sandbox profile: 1 GiB and 100 000 files unless it says, at most 256 files a MiB', () => {
    expect(SandboxProfile.parse({})).toMatchObject({ maxHomeMiB: 1024, maxHomeFiles: 100_000 });
    const tooMany = SandboxProfile.safeParse({ maxHomeMiB: 16, maxHomeFiles: 8192 });
    expect(tooMany.success).toBe(false);
    expect(tooMany.error?.issues[0]).toMatchObject({ path: ['maxHomeFiles'], message: expect.stringMatching(/^at most 256 per MiB of maxHomeMiB/) });
  });

  it('says sizes as people read them', () => {
    expect([formatSize(32 * MiB), formatSize(1024 * MiB), formatSize(1536 * MiB)]).toEqual(['32 MiB', '1 GiB', '1.5 GiB']);
  });
});

describe.runIf(process.getuid?.() === 0 && homeVolumeProblem() === null)('the launcher’s script (as root)', () => {
  /** Runs HOME_MOUNT in a namespace of its own, then `command` (sh) there; returns its output. */
  const mountAndRun = (image: string, dir: string, features: string, command: string) =>
    spawnSync(OWN_MOUNT_NAMESPACE[0]!, [...OWN_MOUNT_NAMESPACE.slice(1), '/bin/sh', '-c', HOME_MOUNT, 'holdfast-home', image, dir, String(16 * MiB), '256', features, '12345', '/bin/sh', '-c', command], {
      encoding: 'utf8',
      env: { PATH: '/usr/local/bin:/usr/bin:/bin' },
    });

  it('allocates the image whole, mounts it in its own namespace only, and gives it to its user', () => {
    const image = join(root, 'a.img');
    const dir = join(root, 'home');
    mkdirSync(dir);
    const run = mountAndRun(image, dir, PRIVATE_FEATURES, `df -B1M --output=size,itotal "${dir}" | tail -1; stat -c %u:%a "${dir}"; ls -A "${dir}" | wc -l`);
    expect(run.stderr).toBe('');
    const [df, owner, entries] = run.stdout.trim().split('\n');
    const [size, inodes] = df!.trim().split(/\s+/).map(Number);
    expect(size).toBeGreaterThanOrEqual(15);
    expect(size).toBeLessThanOrEqual(16);
    expect(inodes).toBe(256);
    expect(owner).toBe('12345:700');
    expect(entries).toBe('0'); // no lost+found in the person's home
    // Set aside on the host's disk, not sparse: mkfs did not discard it.
    expect(statSync(image).blocks * 512).toBeGreaterThanOrEqual(16 * MiB);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(dir);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('mounts a kept image again with its files', () => {
    const image = join(root, 'kept.img');
    const dir = join(root, 'home');
    mkdirSync(dir);
    expect(mountAndRun(image, dir, KEPT_FEATURES, `echo kept > "${dir}/note"`).status).toBe(0);
    const again = mountAndRun(image, dir, KEPT_FEATURES, `cat "${dir}/note"`);
    expect(again.stdout).toBe('kept\n');
  });

  it('fails with a message the person sees when the image cannot be made', () => {
    const run = mountAndRun(join(root, 'missing-dir', 'a.img'), join(root, 'home'), PRIVATE_FEATURES, 'true');
    expect(run.status).toBe(114);
    expect(run.stderr).toMatch(/^holdfast: the home folder could not be made ready: /);
  });
});
