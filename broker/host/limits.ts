// Per-session resource limits: processes, memory and CPU, so a fork bomb or a memory
// hog stays inside its session. At node start this finds what the machine allows —
// cgroup v2 with the pids, memory and cpu controllers delegated to the node, else
// writable cgroup v1 hierarchies, else prlimit alone — and says which, honestly: with
// prlimit alone nothing bounds the number of processes of a sandbox whose host uid
// is root (RLIMIT_NPROC does not bind root) and memory is bounded per process only.
// Each session's cgroups sit under the node's own cgroup (so whatever bounds the node
// bounds them too), in a directory named for the node and its stateDir; they are
// removed when the session ends, and stale ones from a previous run at start.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { SandboxProfile } from '../config/schema.js';

export type LimitsMechanism = 'cgroup2' | 'cgroup1' | 'prlimit';
type Controller = 'pids' | 'memory' | 'cpu';
const CONTROLLERS: Controller[] = ['pids', 'memory', 'cpu'];

export interface LimitsEnvironment {
  /** Contents of /proc/self/mountinfo and /proc/self/cgroup (tests give a fake tree). */
  mountinfo: string;
  selfCgroup: string;
  isRoot: boolean;
}

/** One session's cgroups: the sandbox joins them by writing its pid to each procs file. */
export interface SessionLimits {
  readonly procsFiles: string[];
  /** Processes the kernel's OOM killer ended inside the session (its memory limit). */
  oomKills(): number;
  /** Times a fork was refused at the process limit. */
  forksRefused(): number;
  /** Kills what is left and removes the cgroups (retrying while the last processes exit). */
  remove(): void;
}

export class SandboxLimits {
  private constructor(
    readonly mechanism: LimitsMechanism,
    /** Controller → the node's directory in it (cgroup2: one directory for all three). */
    private readonly bases: Map<Controller, string>,
    /** For people: `holdfast status` and the start log. */
    readonly summary: string,
  ) {}

  static detect(tag: { name: string; stateDir: string }, env: LimitsEnvironment = hostEnvironment()): SandboxLimits {
    const dirName = `holdfast-${tag.name.replace(/[^A-Za-z0-9_.-]/g, '_')}-${createHash('sha256').update(tag.stateDir).digest('hex').slice(0, 8)}`;
    const mounts = parseMountinfo(env.mountinfo);
    const own = parseSelfCgroup(env.selfCgroup);
    const problems: string[] = [];
    const v2 = mounts.find((m) => m.fstype === 'cgroup2');
    if (v2 && own.has('')) {
      const found = tryCgroup2(join(v2.point, stripRoot(own.get('')!, v2.root)), dirName);
      if (typeof found !== 'string') return new SandboxLimits('cgroup2', found, 'cgroup v2: pids, memory, cpu');
      problems.push(found);
    }
    const bases = new Map<Controller, string>();
    for (const controller of CONTROLLERS) {
      const mount = mounts.find((m) => m.fstype === 'cgroup' && m.superOptions.includes(controller));
      const path = [...own.entries()].find(([names]) => names.split(',').includes(controller))?.[1];
      if (!mount || path === undefined) continue;
      const base = join(mount.point, stripRoot(path, mount.root), dirName);
      if (probe(base, (dir) => writeLimits(controller, 'cgroup1', dir, PROBE_PROFILE))) bases.set(controller, base);
    }
    if (bases.size > 0) {
      const missing = CONTROLLERS.filter((c) => !bases.has(c));
      const have = CONTROLLERS.filter((c) => bases.has(c)).join(', ');
      const note = missing.includes('pids') ? ' (no process limit: a fork bomb is not contained)' : missing.length > 0 ? ` (no ${missing.join(', ')} limit)` : '';
      return new SandboxLimits('cgroup1', bases, `cgroup v1: ${have}${note}`);
    }
    const why = problems.length > 0 ? `; ${problems.join('; ')}` : '';
    const summary = env.isRoot
      ? `prlimit only: memory per process (address space); no process limit for root, no CPU limit${why}`
      : `prlimit only: memory per process (address space); no process or CPU limit${why}`;
    return new SandboxLimits('prlimit', new Map(), summary);
  }

  /** The node's own cgroup directories (one per v1 hierarchy, one for v2). */
  get directories(): string[] {
    return [...new Set(this.bases.values())];
  }

  /** Controllers in effect (none with prlimit only). */
  get controllers(): Controller[] {
    return CONTROLLERS.filter((c) => this.bases.has(c));
  }

  /** Creates a session's cgroups with its profile's limits; null with prlimit only. */
  create(id: string, profile: SandboxProfile): SessionLimits | null {
    if (this.bases.size === 0) return null;
    // cgroup2: one directory holds every controller; cgroup1: one per hierarchy.
    const dirs = new Map<Controller, string>([...this.bases].map(([controller, base]) => [controller, join(base, id)]));
    const remove = () => removeAll([...new Set(dirs.values())]);
    try {
      for (const [controller, dir] of dirs) {
        mkdirSync(dir, { recursive: true });
        writeLimits(controller, this.mechanism === 'cgroup2' ? 'cgroup2' : 'cgroup1', dir, profile);
      }
    } catch (error) {
      remove();
      throw error;
    }
    const unique = [...new Set(dirs.values())];
    const memoryDir = dirs.get('memory');
    const pidsDir = dirs.get('pids');
    return {
      procsFiles: unique.map((dir) => join(dir, 'cgroup.procs')),
      oomKills: () => (memoryDir ? counter(join(memoryDir, this.mechanism === 'cgroup2' ? 'memory.events' : 'memory.oom_control'), 'oom_kill') : 0),
      forksRefused: () => (pidsDir ? counter(join(pidsDir, 'pids.events'), 'max') : 0),
      remove,
    };
  }

  /**
   * At node stop: removes what sessions left and the node's directories. It waits (up
   * to a second) for the sessions' last processes to be reaped, because the process
   * may exit right after and nothing would retry.
   */
  close(): void {
    const bases = this.directories;
    let left = [...bases.flatMap((base) => safeReaddir(base).map((entry) => join(base, entry))), ...bases];
    for (let attempt = 0; left.length > 0 && attempt < 20; attempt++) {
      left = removeOnce(left);
      if (left.length > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    }
  }

  /** Removes the cgroups a previous run of this node left behind; returns their names. */
  removeStale(): string[] {
    const stale = new Set<string>();
    for (const base of this.bases.values()) {
      for (const entry of safeReaddir(base)) stale.add(join(base, entry));
    }
    removeAll([...stale]);
    return [...new Set([...stale].map((dir) => basename(dir)))];
  }
}

/** Limits that fit any profile, written once to check a hierarchy really takes them. */
const PROBE_PROFILE = { maxProcesses: 64, maxMemoryMiB: 64, maxCpuPercent: 100 } as SandboxProfile;

const CPU_PERIOD_US = 100_000;

function writeLimits(controller: Controller, mechanism: 'cgroup1' | 'cgroup2', dir: string, profile: SandboxProfile): void {
  const bytes = String(profile.maxMemoryMiB * 1024 * 1024);
  const quota = String(Math.round((profile.maxCpuPercent / 100) * CPU_PERIOD_US));
  if (controller === 'pids') writeFileSync(join(dir, 'pids.max'), String(profile.maxProcesses));
  else if (controller === 'memory' && mechanism === 'cgroup2') {
    writeFileSync(join(dir, 'memory.max'), bytes);
    // Without this a hog would swap rather than stop, slowing the whole machine.
    if (existsSync(join(dir, 'memory.swap.max'))) writeFileSync(join(dir, 'memory.swap.max'), '0');
  } else if (controller === 'memory') {
    writeFileSync(join(dir, 'memory.limit_in_bytes'), bytes);
    if (existsSync(join(dir, 'memory.memsw.limit_in_bytes'))) writeFileSync(join(dir, 'memory.memsw.limit_in_bytes'), bytes);
  } else if (mechanism === 'cgroup2') writeFileSync(join(dir, 'cpu.max'), `${quota} ${CPU_PERIOD_US}`);
  else {
    writeFileSync(join(dir, 'cpu.cfs_period_us'), String(CPU_PERIOD_US));
    writeFileSync(join(dir, 'cpu.cfs_quota_us'), quota);
  }
}

/** cgroup2 needs pids, memory and cpu available to the node's cgroup and enabled below it. */
function tryCgroup2(own: string, dirName: string): Map<Controller, string> | string {
  let available: string[];
  try {
    available = readFileSync(join(own, 'cgroup.controllers'), 'utf8').trim().split(/\s+/);
  } catch (error) {
    return `cgroup v2: cannot read ${own}/cgroup.controllers (${(error as Error).message})`;
  }
  const missing = CONTROLLERS.filter((c) => !available.includes(c));
  if (missing.length > 0) return `cgroup v2: ${missing.join(', ')} not available in ${own}`;
  const base = join(own, dirName);
  try {
    // The node's own cgroup may hold processes, so the controllers are enabled in it
    // only where the kernel allows (its root, or a delegated subtree such as systemd's Delegate=yes).
    writeFileSync(join(own, 'cgroup.subtree_control'), CONTROLLERS.map((c) => `+${c}`).join(' '));
    mkdirSync(base, { recursive: true });
    writeFileSync(join(base, 'cgroup.subtree_control'), CONTROLLERS.map((c) => `+${c}`).join(' '));
  } catch (error) {
    return `cgroup v2: cannot enable ${CONTROLLERS.join(', ')} below ${own} (${(error as Error).message}); delegate them to the node (systemd: Delegate=yes)`;
  }
  if (!probe(base, (dir) => CONTROLLERS.forEach((c) => writeLimits(c, 'cgroup2', dir, PROBE_PROFILE)))) return `cgroup v2: cannot set limits below ${base}`;
  return new Map(CONTROLLERS.map((c) => [c, base]));
}

/** Can a session's cgroup be made under `base`, and take limits? */
function probe(base: string, write: (dir: string) => void): boolean {
  const dir = join(base, `probe-${process.pid}`);
  try {
    mkdirSync(dir, { recursive: true });
    write(dir);
    return true;
  } catch {
    return false;
  } finally {
    try {
      rmdirSync(dir);
    } catch {
      /* never made */
    }
  }
}

function counter(file: string, key: string): number {
  try {
    const line = readFileSync(file, 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`${key} `));
    return line ? Number(line.split(' ')[1]) || 0 : 0;
  } catch {
    return 0;
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
  } catch {
    return [];
  }
}

/**
 * rmdir fails while a process is still in the cgroup: the sandbox is killed already,
 * but its last processes may not have been reaped yet. Kill what is left and retry for
 * up to two seconds, without blocking the node.
 */
function removeAll(dirs: string[], attempt = 0): void {
  const left = removeOnce(dirs);
  if (left.length > 0 && attempt < 40) setTimeout(() => removeAll(left, attempt + 1), 50).unref();
}

/** One pass: removes what it can (children before parents, in the order given); returns what is left. */
function removeOnce(dirs: string[]): string[] {
  return dirs.filter((dir) => {
    try {
      if (existsSync(join(dir, 'cgroup.kill'))) writeFileSync(join(dir, 'cgroup.kill'), '1');
      rmdirSync(dir);
      return false;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      for (const pid of readPids(join(dir, 'cgroup.procs'))) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      return true;
    }
  });
}

function readPids(file: string): number[] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

interface Mount {
  root: string;
  point: string;
  fstype: string;
  superOptions: string[];
}

function parseMountinfo(text: string): Mount[] {
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [left, right = ''] = line.split(' - ');
      const fields = left!.split(' ');
      const [fstype = '', , superOptions = ''] = right.split(' ');
      return { root: unescape(fields[3] ?? '/'), point: unescape(fields[4] ?? ''), fstype, superOptions: superOptions.split(',') };
    });
}

/** mountinfo escapes spaces and the like as \ooo. */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** "controllers" (comma-separated; '' for cgroup2) → the node's path in that hierarchy. */
function parseSelfCgroup(text: string): Map<string, string> {
  const own = new Map<string, string>();
  for (const line of text.split('\n').filter(Boolean)) {
    const [, names = '', ...path] = line.split(':');
    own.set(names, path.join(':'));
  }
  return own;
}

/** A path in a hierarchy, relative to where that hierarchy is mounted (cgroup namespaces mount a subtree). */
function stripRoot(path: string, root: string): string {
  if (root === '/' || !path.startsWith(root)) return path;
  return path.slice(root.length) || '/';
}

function hostEnvironment(): LimitsEnvironment {
  const read = (file: string) => {
    try {
      return readFileSync(file, 'utf8');
    } catch {
      return '';
    }
  };
  return { mountinfo: read('/proc/self/mountinfo'), selfCgroup: read('/proc/self/cgroup'), isRoot: process.getuid?.() === 0 };
}
