// One sandboxed app on a PTY. Owns the flow control between the app and its client:
// output is read only while the client has room in its window (bytes sent minus bytes
// it acknowledged), so a client that stops reading holds the app back — it is never
// disconnected and nothing is dropped. The app's end is taken from the exit marker
// its wrapper writes after it (exit-marker.ts), so its last bytes always arrive.
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, lstatSync, mkdirSync, rmSync, statSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import * as pty from 'node-pty';
import type { AppConfig, SandboxProfile } from '../config/schema.js';
import { ExitMarkerFilter, initScript } from './exit-marker.js';
import { KEYMAP_SCRIPT } from './keymap-keeper.js';
import { TITLE_SCRIPT } from './window-title.js';
import { APP_STARTED, DISPLAY_SOCKET, GROUP, SOUND_SOCKET, LOCKSTEP_GTK_SETTINGS, PASSWD, bwrapOptions, sandboxCommand, type SandboxSpec } from './sandbox.js';
import { DEVPTS_OPTIONS, OWN_MOUNT_NAMESPACE } from './terminals.js';
import type { SandboxHost } from './sandbox-host.js';
import type { SessionLimits } from './limits.js';
import { LockstepClock, type ProcessClocks } from './lockstep-clock.js';
import { HomeDigest } from './home-digest.js';
import { HomeFiles } from './home-files.js';
import { HomeUploads } from './home-uploads.js';
import { SandboxExec } from './sandbox-exec.js';
import type { SessionHome } from './home-volume.js';

export interface AppExit {
  exitCode: number;
  signal: number | null;
  /** The session's memory limit (MiB) when the kernel stopped a process of it for reaching it. */
  outOfMemoryMiB?: number;
  /** A GUI app: how long the app itself ran, after its display started (0: it never started). */
  ranMs?: number;
}

export interface AppProcessOptions {
  app: AppConfig;
  profile: SandboxProfile;
  stateDir: string;
  cols: number;
  rows: number;
  onOutput: (data: Buffer) => void;
  onExit: (exit: AppExit) => void;
  /** A home that outlives this process (failover: restart keeps it on shared storage); default: a private one, removed at exit. */
  homeDir?: string;
  /** The node's sandbox setup: limits mechanism, seccomp filter, paths to hide. */
  sandbox: SandboxHost;
  /** A lockstep replica: its sandbox reads the wall clock and randomness through the shim (lockstep-clock.ts). */
  lockstep?: LockstepOptions;
  /** The session's print spool, bound into the sandbox (print-spool.ts). */
  print?: { jobs: string; bin: string; ipp: string };
  /** A GUI app: its launching screen's device pixels per CSS pixel, told to the app (sandbox.ts scaleSettings). */
  scale?: number;
}

export interface LockstepOptions {
  /** The built shim (lockstepLibrary()). */
  library: string;
  /** The session's random key: the same on every replica. */
  key: Uint8Array;
  /** The wall clock before the first entry (µs): the session's start, the same on every replica. */
  startUs: number;
  /** A replica started after its session: its app's timers fast-forward to its primary's clocks (lockstep-clock.ts). */
  fastForward?: boolean;
}

/** bwrap reads the seccomp filter from this fd, and its options (--args) from the next, both opened by the launcher. */
const SECCOMP_FD = 3;
const OPTIONS_FD = 4;

/**
 * `sh -c LAUNCHER NODE_PID FILTER OPTIONS PTS MAX PROCS_FILE… -- prlimit … bwrap …`:
 * checks the node is still the parent, mounts the sandbox's own devpts on PTS capped at
 * MAX (when PTS is given; in the launcher's own mount namespace, terminals.ts), moves
 * itself into each cgroup (its children inherit them), then execs the rest with the
 * filter on fd 3 and bwrap's options on fd 4. A cgroup it cannot join, or a devpts it
 * cannot mount, fails the start.
 */
const LAUNCHER = [
  'test "$PPID" = "$0" || exit 111',
  'filter=$1 options=$2 pts=$3 max=$4; shift 4',
  `[ -z "$pts" ] || mount -t devpts -o "${DEVPTS_OPTIONS},max=$max" devpts "$pts" || exit 113`,
  'while [ "$1" != -- ]; do echo $$ > "$1" || exit 112; shift; done; shift',
  `exec "$@" ${SECCOMP_FD}<"$filter" ${OPTIONS_FD}<"$options"`,
].join('; ');

/** A held-back partial marker is released after this long if the rest never comes. */
const PARTIAL_MARKER_MS = 20;

export class AppProcess {
  readonly id = randomBytes(9).toString('base64url');
  readonly dir: string;
  /** rfb apps: the host path of the display's RFB socket (appears once Xvnc listens). */
  readonly displaySocket: string | null;
  /** Apps with sound: the host path of its sound server's socket (sandbox.ts SOUND_LAUNCH). */
  readonly soundSocket: string | null;
  private readonly displayDir: string | null;
  private appStarted: number | null = null;
  private readonly term: pty.IPty;
  private readonly marker = new ExitMarkerFilter(randomBytes(12).toString('base64url'));
  private readonly options: AppProcessOptions;
  private flushTimer: NodeJS.Timeout | undefined;
  private held = false;
  private reported = false;
  private gone = false;
  private readonly limits: SessionLimits | null;
  /** The host uid (and gid) the sandbox runs as; null: the node's own, in a user namespace. */
  readonly uid: number | null;
  /** A lockstep replica's clock (null: the sandbox reads the host's clock and randomness), and where it is. */
  private readonly clock: LockstepClock | null;
  private readonly clockDir: string | null;
  /** What the app keeps in its home, to compare replicas by. */
  private readonly files: HomeDigest;
  /** Its home: a volume with the profile's quota (home-volume.ts), or a plain directory. */
  private readonly home: SessionHome;
  /** The person's files, read from inside the sandbox's view (home-files.ts). */
  readonly homeFiles: HomeFiles;
  /** Uploads into it, written from inside the sandbox's view as the log applies them (home-uploads.ts). */
  readonly homeUploads: HomeUploads;

  constructor(options: AppProcessOptions) {
    this.options = options;
    this.dir = join(options.stateDir, 'sandboxes', this.id);
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    // A launch whose home the node's disk cannot spare is refused here, before anything else is made.
    try {
      this.home = options.sandbox.homes.open({ id: this.id, dir: this.dir, kept: options.homeDir, profile: options.profile, appName: options.app.name });
    } catch (error) {
      rmSync(this.dir, { recursive: true, force: true });
      throw error;
    }
    const home = this.home.path;
    writeFileSync(join(this.dir, 'passwd'), PASSWD);
    writeFileSync(join(this.dir, 'init'), initScript(this.marker.nonce), { mode: 0o644 });
    // A GUI app in a window manager: its window title is followed (window-title.ts).
    const titleScript = options.app.display === 'rfb' && options.app.windowManager ? join(this.dir, 'window-title.py') : undefined;
    if (titleScript) writeFileSync(titleScript, TITLE_SCRIPT, { mode: 0o644 });
    // A GUI app's keymap keeps room for the characters people type (keymap-keeper.ts).
    const keymapScript = options.app.display === 'rfb' ? join(this.dir, 'keymap-keeper.py') : undefined;
    if (keymapScript) writeFileSync(keymapScript, KEYMAP_SCRIPT, { mode: 0o644 });
    const gtkSettings = options.app.display === 'rfb' && options.lockstep ? join(this.dir, 'gtk-settings.ini') : undefined;
    if (gtkSettings) writeFileSync(gtkSettings, LOCKSTEP_GTK_SETTINGS, { mode: 0o644 });
    writeFileSync(join(this.dir, 'group'), GROUP);
    const displayDir = options.app.display === 'rfb' ? join(this.dir, 'display') : undefined;
    if (displayDir) mkdirSync(displayDir, { mode: 0o700 });
    this.displaySocket = displayDir ? join(displayDir, DISPLAY_SOCKET) : null;
    this.displayDir = displayDir ?? null;
    const soundDir = options.app.sound ? join(this.dir, 'sound') : undefined;
    if (soundDir) mkdirSync(soundDir, { mode: 0o700 });
    this.soundSocket = soundDir ? join(soundDir, SOUND_SOCKET) : null;
    // Lockstep: /home as every replica sees it, with the session's start as its time (sandbox.ts).
    const homeParent = options.lockstep ? join(this.dir, 'home-parent') : undefined;
    if (homeParent && options.lockstep) {
      mkdirSync(join(homeParent, 'user'), { recursive: true, mode: 0o755 });
      const start = new Date(options.lockstep.startUs / 1000);
      utimesSync(homeParent, start, start);
    }
    const { sandbox } = options;
    // The clock is written once per log entry, on the keystroke path: in memory (tmpfs),
    // where a write touches no journal, when the host has /dev/shm; in a directory only
    // the sandbox's user (and root) may enter.
    this.clockDir = options.lockstep ? (existsSync('/dev/shm') ? join('/dev/shm', `holdfast-${this.id}`) : this.dir) : null;
    if (this.clockDir && this.clockDir !== this.dir) mkdirSync(this.clockDir, { mode: 0o700 });
    this.clock = options.lockstep && this.clockDir ? new LockstepClock(this.clockDir, options.lockstep.key, options.lockstep.startUs) : null;
    if (options.lockstep?.fastForward) this.clock?.fastForward(true);
    // The sandbox's own host user owns its directory and home (a kept home, too: the
    // same session's uid where it was free, else it is handed over whole).
    this.uid = sandbox.uids?.take(options.homeDir ?? this.id) ?? null;
    if (this.uid !== null) {
      for (const dir of [this.dir, ...(displayDir ? [displayDir] : []), ...(soundDir ? [soundDir] : []), ...(this.clockDir ? [this.clockDir] : []), ...(this.clock ? [this.clock.procsPath] : [])]) chownSync(dir, this.uid, this.uid);
      // (A volume is handed over by the launcher that mounts it.)
      if (!this.home.volume && statSync(home).uid !== this.uid) spawnSync('chown', ['-R', '--', `${this.uid}:${this.uid}`, home]);
    }
    // The sandbox's own devpts is mounted here, in the launcher's mount namespace only.
    const terminalsDir = sandbox.ownTerminals ? join(this.dir, 'pts') : undefined;
    if (terminalsDir) mkdirSync(terminalsDir, { mode: 0o700 });
    const spec: SandboxSpec = {
      app: options.app,
      profile: options.profile,
      homeDir: home,
      ...(homeParent ? { homeParent } : {}),
      passwdFile: join(this.dir, 'passwd'),
      groupFile: join(this.dir, 'group'),
      initFile: join(this.dir, 'init'),
      ...(titleScript ? { titleScript } : {}),
      ...(keymapScript ? { keymapScript } : {}),
      ...(gtkSettings ? { gtkSettings } : {}),
      ...(displayDir ? { displayDir } : {}),
      ...(soundDir ? { soundDir } : {}),
      ...(sandbox.seccompFile ? { seccompFd: SECCOMP_FD } : {}),
      hide: sandbox.hide,
      disableUserns: sandbox.disableUserns,
      ...(terminalsDir ? { terminalsDir } : {}),
      ...(options.print ? { print: options.print } : {}),
      ...(options.scale ? { scale: options.scale } : {}),
      ...(this.clock && options.lockstep ? { lockstep: { library: options.lockstep.library, clock: this.clock.path, procs: this.clock.procsPath } } : {}),
    };
    // bwrap's options (every host path it binds) on a descriptor, not its command line:
    // the sandbox's pid 1 is a fork of bwrap, and /proc/1/cmdline would show them.
    const optionsFile = join(this.dir, 'bwrap-options');
    writeFileSync(optionsFile, bwrapOptions(spec).map((arg) => `${arg}\0`).join(''), { mode: 0o600 });
    this.limits = sandbox.limits.create(this.id, options.profile);
    // With a cgroup memory limit the session's real use is bounded; an address-space
    // limit on top would only break apps that reserve more than they use (JITs, Go).
    const limitsMemory = sandbox.limits.controllers.includes('memory');
    const prlimit = ['prlimit', ...(limitsMemory ? [] : [`--as=${options.profile.maxMemoryMiB * 1024 * 1024}`]), '--core=0', '--'];
    // The sandbox must never outlive this process, even when it is killed (kill -9)
    // while the sandbox is still starting — before bwrap's own --die-with-parent takes
    // hold. setpriv arms SIGKILL-on-parent-death first thing (it is kept across the
    // execs that follow), and the shell then checks the parent is still this process,
    // which closes the window before setpriv ran. The shell then mounts the sandbox's
    // own devpts (in a mount namespace of its own, terminals.ts), joins the session's
    // cgroups (before anything of the sandbox exists, so nothing escapes them) and opens
    // the seccomp filter and bwrap's options on the fds bwrap reads them from.
    const guard = [
      '--pdeathsig',
      'KILL',
      '--',
      ...(terminalsDir || this.home.volume ? OWN_MOUNT_NAMESPACE : []),
      // First of all, in that namespace: the home's volume is made and mounted (home-volume.ts).
      ...this.home.launcher(this.uid ?? process.getuid?.() ?? 0),
      '/bin/sh',
      '-c',
      LAUNCHER,
      String(process.pid),
      sandbox.seccompFile ?? '/dev/null',
      optionsFile,
      terminalsDir ?? '',
      String(options.profile.maxTerminals),
      ...(this.limits?.procsFiles ?? []),
      '--',
    ];
    // Root's last act: become the session's user, with no groups and no capabilities to pass on.
    const drop = this.uid === null ? [] : ['setpriv', `--reuid=${this.uid}`, `--regid=${this.uid}`, '--clear-groups', '--inh-caps=-all', '--'];
    // Lockstep: no address-space randomisation, which some programs mix into their seeds
    // (bash's $RANDOM takes a function's address); the personality is kept across execs.
    const personality = this.clock ? ['setarch', '-R'] : [];
    this.term = pty.spawn('setpriv', [...guard, ...drop, ...prlimit, ...personality, 'bwrap', '--args', String(OPTIONS_FD), '--', ...sandboxCommand(spec)], {
      name: 'xterm-256color',
      cols: options.cols,
      rows: options.rows,
      // Not the sandbox's directory: bwrap's environment (its PWD, which node-pty sets) shows in the sandbox's /proc/1/environ.
      cwd: '/',
      env: { PATH: '/usr/local/bin:/usr/bin:/bin', TERM: 'xterm-256color' },
      encoding: null,
    });
    // A home volume is mounted in the launcher's namespace only: read through its process.
    this.files = new HomeDigest(this.home.readPath(this.term.pid));
    this.homeFiles = new HomeFiles({ launcherPid: () => (this.gone ? null : this.term.pid) });
    this.homeUploads = new HomeUploads(new SandboxExec({ launcherPid: () => (this.gone ? null : this.term.pid) }));
    // The shim tells the person's input by the terminal it arrives on.
    if (this.clock) {
      const pts = (this.term as unknown as { _pty?: string })._pty;
      const stat = pts ? statSync(pts, { throwIfNoEntry: false }) : undefined;
      if (stat) this.clock.setTerminal(stat.dev, stat.rdev);
    }
    this.term.onData((data) => this.read(data as unknown as Buffer));
    this.term.onExit(({ exitCode, signal }) => {
      this.gone = true;
      this.homeUploads.close();
      clearTimeout(this.flushTimer);
      const tail = this.marker.flush();
      if (tail.length > 0 && !this.reported) options.onOutput(tail);
      this.clock?.close();
      if (this.clockDir) rmSync(this.clockDir, { recursive: true, force: true });
      this.appStartedAt(); // read before its directory goes
      rmSync(this.dir, { recursive: true, force: true });
      this.home.remove();
      if (this.uid !== null) options.sandbox.uids?.release(this.uid);
      // Reached only without a marker: the sandbox was killed, or failed to start.
      this.report({ exitCode, signal: signal ? signal : null });
      this.limits?.remove();
    });
  }

  get pid(): number {
    return this.term.pid;
  }

  /** The PTY's master (node-pty's descriptor), for the termios watcher (termios-watch.ts); null once the app is gone. */
  get terminalFd(): number | null {
    const fd = (this.term as unknown as { fd?: number }).fd;
    return this.gone || typeof fd !== 'number' ? null : fd;
  }

  /**
   * Keystrokes go straight to the PTY with one write(2). node-pty queues every write
   * through libuv's thread pool, which costs a thread hand-off on the keystroke path;
   * its queue is used only when the PTY is full (EAGAIN) or already has a backlog, so
   * order is kept.
   */
  write(data: Uint8Array): void {
    if (this.reported) return;
    let bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const internals = this.term as unknown as { fd?: number; _writeStream?: { _writeQueue?: unknown[] } };
    if (typeof internals.fd === 'number' && internals._writeStream?._writeQueue?.length === 0) {
      try {
        const written = writeSync(internals.fd, bytes);
        if (written === bytes.length) return;
        bytes = bytes.subarray(written);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') return;
      }
    }
    this.term.write(bytes as unknown as string);
  }

  resize(cols: number, rows: number): void {
    if (!this.gone) this.term.resize(cols, rows);
  }

  /** A digest of the app's home (its files and their content); null when too large to compare. */
  homeDigest(): Promise<string | null> {
    return this.gone ? Promise.resolve(null) : this.files.digest();
  }

  /** A lockstep replica's process clocks (null: not lockstep, or the app is gone). */
  get clocks(): ProcessClocks | null {
    return this.gone ? null : this.clock;
  }

  /** A lockstep replica: an entry's time (µs since the epoch), and how many bytes of it are about to reach the app's terminal. */
  setClock(timeUs: number, terminalBytes: number): void {
    if (!this.gone) this.clock?.set(timeUs, terminalBytes);
  }

  /** Stop reading the app's output (its writes block once the PTY buffer fills). */
  hold(): void {
    if (this.held) return;
    this.held = true;
    this.term.pause();
  }

  release(): void {
    if (!this.held) return;
    this.held = false;
    this.term.resume();
  }

  /** Ends the sandbox: SIGKILL to bwrap takes its whole pid namespace with it. */
  kill(): void {
    if (this.gone) return;
    this.release();
    // The whole process group, not only bwrap: killed while it is still starting (after
    // it cloned the sandbox's init, before that init armed --die-with-parent), bwrap
    // would leave the init running. The init stays in this group, and when a pid
    // namespace's init dies the kernel kills everything else inside it.
    for (const target of [-this.term.pid, this.term.pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }

  private read(chunk: Buffer): void {
    const { output, status } = this.marker.push(chunk);
    if (output.length > 0) this.options.onOutput(output);
    if (status !== null) {
      clearTimeout(this.flushTimer);
      this.report({ exitCode: status, signal: status > 128 ? status - 128 : null });
      this.kill();
      return;
    }
    if (this.marker.pending() > 0 && this.flushTimer === undefined) {
      this.flushTimer = setTimeout(() => {
        this.flushTimer = undefined;
        const tail = this.marker.flush();
        if (tail.length > 0) this.options.onOutput(tail);
      }, PARTIAL_MARKER_MS);
    }
  }

  private report(exit: AppExit): void {
    if (this.reported) return;
    this.reported = true;
    // Killed (SIGKILL, or 128+9 from the wrapper) while the session's OOM count rose: its memory limit.
    const killed = exit.signal === 9 || exit.exitCode === 137;
    if (killed && (this.limits?.oomKills() ?? 0) > 0) exit = { ...exit, outOfMemoryMiB: this.options.profile.maxMemoryMiB };
    if (this.displayDir) {
      const started = this.appStartedAt();
      exit = { ...exit, ranMs: started === null ? 0 : Math.max(0, Date.now() - started) };
    }
    this.options.onExit(exit);
  }

  /** A GUI app: when the launcher started the app itself (its stamp's mtime), once it has; kept once read. */
  private appStartedAt(): number | null {
    if (this.appStarted === null && this.displayDir) {
      this.appStarted = lstatSync(join(this.displayDir, APP_STARTED), { throwIfNoEntry: false })?.mtimeMs ?? null;
    }
    return this.appStarted;
  }

  /** Times a fork in the session was refused at its process limit (0 without cgroups). */
  forksRefused(): number {
    return this.limits?.forksRefused() ?? 0;
  }
}
