// What every sandbox on this node shares, set up once at node start: the limits
// mechanism (limits.ts), the compiled seccomp filter (a file in stateDir that each
// sandbox's launcher opens as fd 3 for bwrap --seccomp), and the node's own files
// that must never be visible inside a sandbox even when a bound directory holds them
// (its config, token key, stateDir with every session's home, sharedDir), and whether
// each sandbox can have terminals of its own (terminals.ts) and a home volume with a
// quota (home-volume.ts).
import { spawnSync } from 'node:child_process';
import { existsSync, realpathSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SandboxLimits, type LimitsEnvironment } from './limits.js';
import { DENIED, compiledFilter } from './seccomp.js';
import { SandboxUids, UID_BASE, UID_COUNT, unprivilegedSandboxProblem } from './sandbox-uids.js';
import { ownTerminalsProblem, terminalsSummary } from './terminals.js';
import { HomeVolumes } from './home-volume.js';

export interface SandboxHostOptions {
  name: string;
  stateDir: string;
  /** Host paths no sandbox may see (missing ones are skipped). */
  hide: Array<string | undefined>;
  /** Tests: a fake cgroup view. */
  environment?: LimitsEnvironment;
  /** false: run every sandbox as the node's user in a user namespace (tests that fake the host). */
  separateUsers?: boolean;
  /** node.diskReserveMiB: free disk a new session's home may never take. */
  diskReserveMiB?: number;
}

/** What `holdfast status` shows of a node's sandboxes. */
export interface SandboxInfo {
  /** Which mechanism bounds processes, memory and CPU, e.g. "cgroup v1: pids, memory, cpu". */
  limits: string;
  /** "on (N syscalls denied)" or why there is none. */
  seccomp: string;
  /** Whom the sandboxes run as on the host: a uid per session, or why not. */
  users?: string;
  /** What bounds a session's PTYs: its own devpts with the profile's maxTerminals, or why not. */
  terminals?: string;
  /** What bounds a session's home: a volume of its own (maxHomeMiB, maxHomeFiles) and the node's reserve, or why nothing does. */
  homes?: string;
}

export class SandboxHost {
  readonly limits: SandboxLimits;
  /** The compiled filter, or null where there is no syscall table for this machine. */
  readonly seccompFile: string | null;
  readonly hide: string[];
  /** bwrap ≥ 0.8 can forbid new user namespaces inside (besides the filter). */
  readonly disableUserns: boolean;
  readonly info: SandboxInfo;
  /** Stale session cgroups removed at start. */
  readonly staleRemoved: number;
  /** A host uid per session; null where bwrap cannot start unprivileged (info.users says why). */
  readonly uids: SandboxUids | null;
  /** Each sandbox gets its own devpts, capped at its profile's maxTerminals (info.terminals says why not). */
  readonly ownTerminals: boolean;
  /** Each session's home: a volume with its profile's quota, or a plain directory (info.homes says why). */
  readonly homes: HomeVolumes;
  /** Home images a previous run left, removed at start. */
  readonly staleHomesRemoved: number;

  constructor(options: SandboxHostOptions) {
    this.limits = SandboxLimits.detect({ name: options.name, stateDir: options.stateDir }, options.environment);
    this.staleRemoved = this.limits.removeStale().length;
    this.homes = new HomeVolumes({ stateDir: options.stateDir, reserveMiB: options.diskReserveMiB ?? 2048 });
    this.staleHomesRemoved = this.homes.removeStale();
    const filter = compiledFilter();
    this.seccompFile = filter ? join(options.stateDir, 'seccomp.bpf') : null;
    if (filter && this.seccompFile) writeFileSync(this.seccompFile, filter, { mode: 0o600 });
    // Kept even when missing now (a sharedDir made later): each sandbox checks again as it starts.
    this.hide = [...new Set(options.hide.filter((p): p is string => typeof p === 'string').map((p) => (existsSync(p) ? realpathSync(p) : resolve(p))))];
    const help = spawnSync('bwrap', ['--help'], { encoding: 'utf8' });
    this.disableUserns = `${help.stdout}`.includes('--disable-userns');
    const problem = options.separateUsers === false ? 'one user for all (tests)' : unprivilegedSandboxProblem(options.stateDir);
    this.uids = problem === null ? new SandboxUids() : null;
    const terminalsProblem = ownTerminalsProblem();
    this.ownTerminals = terminalsProblem === null;
    this.info = {
      users: problem === null ? `a uid per session (${UID_BASE}–${UID_BASE + UID_COUNT - 1})` : `root in a user namespace: ${problem}`,
      limits: this.limits.summary,
      terminals: terminalsSummary(terminalsProblem),
      homes: this.homes.summary,
      seccomp: filter ? `on: ${DENIED.filter((d) => (process.arch === 'x64' ? d[1] : d[2]) !== null).length} syscalls denied` : `off: no syscall table for ${process.arch}`,
    };
  }

  /** At node stop: the node's cgroup directories go too. */
  close(): void {
    this.limits.close();
  }
}
