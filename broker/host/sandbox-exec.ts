// Running a command in a sandbox's view (docs/operations.md, "Session files"): in the
// user and mount namespaces of the sandbox's init, as the sandbox's own user, at its
// home, with a fixed environment. What it does to files is what the app itself could
// do — links resolve in the sandbox, never on the host.
import { spawn as nodeSpawn, type ChildProcess } from 'node:child_process';
import { SessionFileError } from '../../shared/protocol/index.js';
import { SANDBOX_HOME, SANDBOX_UID } from './sandbox.js';
import { findInit, isInitOf } from './sandbox-init.js';

/** The commands' whole environment: fixed, and in C so their messages can be read. */
const ENV = { PATH: '/usr/bin:/bin', LC_ALL: 'C' };

export interface SandboxExecOptions {
  /** The process AppProcess started (the sandbox's launcher, bwrap once it has exec'd); null once it has gone. */
  launcherPid: () => number | null;
  /** Where processes are listed (tests: a made-up one). */
  proc?: string;
  /** The node runs as root: supplementary groups are dropped before entering (else nsenter is enough). */
  root?: boolean;
  spawn?: typeof nodeSpawn;
}

export class SandboxExec {
  private readonly proc: string;
  private readonly spawnProcess: typeof nodeSpawn;
  private readonly root: boolean;
  private init: number | null = null;

  constructor(private readonly options: SandboxExecOptions) {
    this.proc = options.proc ?? '/proc';
    this.spawnProcess = options.spawn ?? nodeSpawn;
    this.root = options.root ?? process.getuid?.() === 0;
  }

  /** Starts `command` in the sandbox; its stdin is a pipe when `input` is set. Throws SessionFileError when the sandbox is not there. */
  spawn(command: string[], input = false): ChildProcess {
    const enter = ['nsenter', '-t', String(this.initPid()), '-U', '-m', '-S', String(SANDBOX_UID), '-G', String(SANDBOX_UID), `--wdns=${SANDBOX_HOME}`, '--', ...command];
    // As root, the node's supplementary groups go first: inside they would still count for files of those groups.
    const argv = this.root ? ['setpriv', '--clear-groups', '--', ...enter] : enter;
    return this.spawnProcess(argv[0]!, argv.slice(1), { stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe'], env: ENV });
  }

  /** The sandbox's init (found once, checked on every use: a pid can be reused). */
  private initPid(): number {
    const launcher = this.options.launcherPid();
    if (launcher === null) throw new SessionFileError('not_ready', 'The session has ended; its files are gone with it.');
    if (this.init !== null && isInitOf(this.proc, this.init, launcher)) return this.init;
    this.init = findInit(this.proc, launcher);
    if (this.init === null) throw new SessionFileError('not_ready', 'The session is still starting; try again in a moment.');
    return this.init;
  }
}
