// Each session's home folder is a file system of its own, so no session can fill the
// host's disk (a `dd` in a home grew the host's root file system by 2 GiB; 200 000
// empty files took 3 s). The home is an ext4 image the size of the profile's
// maxHomeMiB with maxHomeFiles inodes, loop-mounted: writes past it fail with "No space
// left on device", and `df ~` in the sandbox shows the quota, not the host's disk.
//
// Why an image: the host's root is ext4 without the project-quota feature (a mounted
// root cannot be given it), and user quotas would mean remounting the host's root with
// quota options. A size-limited tmpfs would hold the files in memory — pinned, with no
// swap: ten full homes are ten GiB of the host's RAM, and a session whose home fills its
// memory cgroup has its processes OOM-killed rather than its writes refused — and it
// cannot outlive a node for `failover: restart`. An image is space on disk, allocated
// whole up front (fallocate): what a session may write is taken from the host's free
// space when it starts, never later, and a start that would leave the node less than
// its reserve (node.diskReserveMiB) for its own state, logs and audit is refused.
//
// One image per session, not per person: lockstep replicas must meet "disk full" at the
// same write, which holds only when nothing else shares their volume.
//
// Where: a private home's image is stateDir/home-images/ID.img (removed at exit; those
// a previous run left are removed at start); a kept home's (failover: restart) is
// home.img in its directory on cluster.sharedDir, mounted only by the node that runs
// the session — ext4's multi-mount protection (mmp) refuses a second mount while
// another host still has it.
//
// How: the sandbox's launcher makes and mounts the image as root, before it becomes the
// session's user, in the mount namespace of its own it runs in (terminals.ts). So the
// node's event loop never waits for mkfs or mount, nothing is mounted on the host, and
// the kernel unmounts the volume with the namespace's last process — after a node
// killed with -9 too: nothing is left mounted, and a kept image is left clean.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { SandboxProfile } from '../config/schema.js';
import { NodeFullError } from '../node-full.js';
import { OWN_MOUNT_NAMESPACE } from './terminals.js';

const MiB = 1024 * 1024;
/** A launcher allocates its image within a second or so; a promise older than this was never taken up (the launch failed). */
const PROMISE_MS = 60_000;

/** A launch refused because its home would eat into the node's disk reserve: a limit, not a failure. */
export class HomeDiskFullError extends NodeFullError {}

/** The exit code of a launcher whose home could not be made ready (111–113 are the launcher's own). */
export const HOME_FAILED = 114;

/**
 * `sh -c HOME_MOUNT NAME IMAGE DIR BYTES FILES FEATURES OWNER COMMAND…`, as root in the
 * launcher's own mount namespace: makes the image if it is not there yet (allocated
 * whole, then formatted, under a temporary name: a launcher killed half-way leaves no
 * half-made image to mount), mounts it on DIR, gives it to OWNER, then execs COMMAND.
 * mkfs must not discard: on a file, that would punch the allocation out again. Where
 * the file system cannot allocate ahead (an NFS without ALLOCATE) the image is sparse:
 * its size still bounds the home, only its space is not set aside.
 */
export const HOME_MOUNT = [
  'image=$1 dir=$2 bytes=$3 files=$4 features=$5 owner=$6; shift 6',
  // mkfs.ext4 is in sbin, which the launcher's PATH (and so the sandbox's tools') leaves out.
  'path=$PATH; PATH=/usr/sbin:/sbin:/usr/bin:/bin',
  `fail() { echo "holdfast: the home folder could not be made ready: $*" >&2; exit ${HOME_FAILED}; }`,
  'if [ ! -e "$image" ]; then',
  '  new="$image.new"; rm -f "$new"',
  '  out=$(fallocate -l "$bytes" "$new" 2>&1) || case $out in *"not supported"*) truncate -s "$bytes" "$new" || fail "$out";; *) rm -f "$new"; fail "$out";; esac',
  '  out=$(mkfs.ext4 -q -F -b 4096 -N "$files" -m 0 -L holdfast-home $features "$new" 2>&1 </dev/null) || { rm -f "$new"; fail "$out"; }',
  '  mv "$new" "$image" || fail "cannot rename $new"',
  'fi',
  'out=$(mount -o loop,nosuid,nodev,noinit_itable "$image" "$dir" 2>&1) || fail "$out"',
  'rmdir "$dir/lost+found" 2>/dev/null',
  '[ "$(stat -c %u "$dir")" = "$owner" ] || chown -R "$owner:$owner" "$dir" || fail "cannot give it to its user"',
  'chmod 0700 "$dir"',
  'PATH=$path exec "$@"',
].join('\n');

/**
 * mkfs options. A private home needs no journal (after a crash it is removed anyway,
 * and `df` then shows the whole quota). A kept one has a journal, and multi-mount
 * protection updated every second: a clean image mounts at once; one another host
 * still has mounted is refused after ~11 s; one whose host died mounts after that wait.
 * The inode tables are not zeroed: an allocated file reads as zeros already.
 */
export const PRIVATE_FEATURES = '-O ^has_journal -E nodiscard,lazy_itable_init=1';
export const KEPT_FEATURES = '-O mmp -E nodiscard,lazy_itable_init=1,mmp_update_interval=1';

/** One session's home, as AppProcess uses it. */
export interface SessionHome {
  /** The host path bwrap binds at /home/user: its volume's mount point, or the plain directory. */
  readonly path: string;
  /** True: a volume of its own, made and mounted by the launcher. */
  readonly volume: boolean;
  /** What the launcher runs first, in its own mount namespace, before its own command; [] without a volume. */
  launcher(owner: number): string[];
  /** The path the node reads the home's files by, given a process in the launcher's mount namespace. */
  readPath(pid: number): string;
  /** At exit: a private volume's image goes (its space returns when the kernel lets go of it). */
  remove(): void;
}

export interface HomeVolumesOptions {
  stateDir: string;
  /** Free space (MiB) a new home may never take from the file system its image goes on. */
  reserveMiB: number;
  /** Tests: why volumes cannot be used (null: they can); default: tried once on this machine. */
  problem?: string | null;
}

export class HomeVolumes {
  /** Null where each home gets a volume; else why not (homes are then plain directories). */
  readonly problem: string | null;
  /** For people: `holdfast status` and the start log. */
  readonly summary: string;
  private readonly images: string;
  private readonly reserveBytes: number;
  /** Images promised to launches: until the launcher has allocated one, the free space a launch sees still counts it. */
  private readonly promised = new Map<string, { bytes: number; dev: number; at: number }>();

  constructor(options: HomeVolumesOptions) {
    this.problem = options.problem === undefined ? homeVolumeProblem() : options.problem;
    this.images = join(options.stateDir, 'home-images');
    this.reserveBytes = options.reserveMiB * MiB;
    this.summary =
      this.problem === null
        ? `a volume per session (ext4 image of maxHomeMiB, maxHomeFiles); ${formatSize(this.reserveBytes)} of the disk kept for the node`
        : `no quota: homes are plain directories on the host's disk (${this.problem})`;
  }

  /**
   * The home of the sandbox whose directory is `dir`; `kept`: a directory on shared
   * storage that outlives the session (failover: restart). Throws HomeDiskFullError when
   * a new image would leave its file system less free space than the node's reserve.
   */
  open(spec: { id: string; dir: string; kept?: string | undefined; profile: SandboxProfile; appName: string }): SessionHome {
    if (this.problem !== null) {
      const path = spec.kept ?? join(spec.dir, 'home');
      mkdirSync(path, { recursive: true, mode: 0o700 });
      return { path, volume: false, launcher: () => [], readPath: () => path, remove: () => {} };
    }
    if (!spec.kept) mkdirSync(this.images, { recursive: true, mode: 0o700 });
    const image = spec.kept ? join(spec.kept, 'home.img') : join(this.images, `${spec.id}.img`);
    const bytes = spec.profile.maxHomeMiB * MiB;
    if (!existsSync(image)) this.reserve(image, bytes, spec.appName);
    const path = join(spec.dir, 'home');
    mkdirSync(path, { mode: 0o700 });
    const features = spec.kept ? KEPT_FEATURES : PRIVATE_FEATURES;
    return {
      path,
      volume: true,
      launcher: (owner) => ['/bin/sh', '-c', HOME_MOUNT, 'holdfast-home', image, path, String(bytes), String(spec.profile.maxHomeFiles), features, String(owner)],
      readPath: (pid) => `/proc/${pid}/root${path}`,
      remove: () => {
        this.promised.delete(image);
        // (and a half-made one, when the sandbox was killed while its launcher made it)
        if (!spec.kept) for (const file of [image, `${image}.new`]) rmSync(file, { force: true });
      },
    };
  }

  /**
   * At start, before any session: the images a previous run left (it was killed, or its
   * host lost power). Their sandboxes died with it, and their mounts with them.
   */
  removeStale(): number {
    const stale = safeReaddir(this.images);
    for (const name of stale) rmSync(join(this.images, name), { force: true });
    return stale.length;
  }

  /**
   * Takes `bytes` for a new image from its file system's free space, or refuses: what
   * stays free must cover the node's reserve and every image promised but not yet
   * allocated. Check and promise are one synchronous step: two launches cannot both
   * take the last of it.
   */
  private reserve(image: string, bytes: number, appName: string): void {
    const dir = dirname(image);
    const dev = statSync(dir).dev;
    const fs = statfsSync(dir);
    const free = fs.bavail * fs.bsize;
    let owed = 0;
    for (const [other, p] of this.promised) {
      if (existsSync(other) || existsSync(`${other}.new`)) continue; // allocated: free space counts it
      if (Date.now() - p.at > PROMISE_MS) this.promised.delete(other);
      else if (p.dev === dev) owed += p.bytes;
    }
    if (free - owed - bytes < this.reserveBytes) {
      throw new HomeDiskFullError(
        `This node's disk is too full to give ${appName} its ${formatSize(bytes)} home folder: ${formatSize(Math.max(0, free - owed))} is free, and ${formatSize(this.reserveBytes)} of it is kept for the node's own state, logs and audit. Try again later, or ask your administrator to free space on the node.`,
      );
    }
    this.promised.set(image, { bytes, dev, at: Date.now() });
  }
}

/** "1 GiB", "1.5 GiB", "32 MiB". */
export function formatSize(bytes: number): string {
  if (bytes >= 1024 * MiB) return `${Math.round((bytes / (1024 * MiB)) * 10) / 10} GiB`;
  return `${Math.round(bytes / MiB)} MiB`;
}

let probed: string | null | undefined;

/**
 * Can this node give each home a volume? It needs root (to mount, in a mount namespace
 * of its own), mkfs.ext4 (e2fsprogs) and loop devices. Tried for real, once per
 * process: a small image made and mounted in a throwaway namespace. Null when it can,
 * else why not.
 */
export function homeVolumeProblem(): string | null {
  probed ??= probe();
  return probed;
}

function probe(): string | null {
  if (process.getuid?.() !== 0) return 'the node does not run as root';
  if (!existsSync('/dev/loop-control')) return 'no loop devices (/dev/loop-control)';
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-home-probe-'));
  try {
    mkdirSync(join(dir, 'home'));
    const args = [join(dir, 'probe.img'), join(dir, 'home'), String(16 * MiB), '256', PRIVATE_FEATURES, '0'];
    const run = spawnSync(OWN_MOUNT_NAMESPACE[0]!, [...OWN_MOUNT_NAMESPACE.slice(1), '/bin/sh', '-c', HOME_MOUNT, 'holdfast-home', ...args, 'true'], {
      encoding: 'utf8',
      timeout: 20_000,
      env: { PATH: '/usr/local/bin:/usr/bin:/bin' }, // as the launcher's
    });
    if (run.status === 0) return null;
    const why = (run.stderr || run.error?.message || `exit ${run.status}`).trim().split('\n').pop();
    return `cannot make and mount a home volume here (${why}); scripts/bootstrap.sh installs e2fsprogs`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
