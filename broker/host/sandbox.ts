// Builds the bubblewrap command line that confines one app. Everything the app can
// see is listed here: read-only system directories, a minimal /etc, a private home
// and /tmp, fresh /proc and /dev, and new namespaces for everything (network too,
// unless its profile allows it). Nothing of the host's users, keys or config leaks in,
// not even from a directory a profile binds (nor through a symlink to one); a seccomp
// filter (seccomp.ts), the session's limits (limits.ts) and its own terminals
// (terminals.ts) are applied by the launcher in app-process.ts.
import { existsSync, realpathSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { AppConfig, SandboxProfile } from '../config/schema.js';
import { MAX_CUT_TEXT } from '../../shared/protocol/index.js';
import { LOCKSTEP_CLOCK, LOCKSTEP_LIBRARY, LOCKSTEP_PROCS } from './lockstep-clock.js';
import { KEYMAP_READY, KEYMAP_SCRIPT_PATH } from './keymap-keeper.js';
import { TITLE_FILE, TITLE_SCRIPT_PATH } from './window-title.js';
import { PRINT_BIN_DIR, PRINT_JOBS_DIR, PRINT_PROFILE, PRINT_PROFILE_FILE } from './print-spool.js';
import { IPP_SOCKET_DIR } from './print-ipp.js';

export const SANDBOX_USER = 'user';
export const SANDBOX_HOME = '/home/user';
/** The app's user and group inside the sandbox (its host uid is the session's own: sandbox-uids.ts). */
export const SANDBOX_UID = 1000;
export const SANDBOX_HOSTNAME = 'holdfast';

/** /etc entries an ordinary program needs; shadow, sudoers, ssh keys and the like are absent. */
const ETC_ENTRIES = [
  'ld.so.cache',
  'ld.so.conf',
  'ld.so.conf.d',
  'nsswitch.conf',
  'localtime',
  'terminfo',
  'alternatives',
  'bash.bashrc',
  'inputrc',
  'profile',
  'vim',
  'python3',
  'python3.11',
  'htoprc',
  'less',
  'lesskey',
  'mime.types',
  'ssl',
  'ca-certificates',
  'fonts',
  // X resources (app-defaults): Athena and Motif apps are unusable without them.
  'X11',
];

const SYSTEM_DIRS = ['/usr', '/opt'];
const MERGED_USR_LINKS: Array<[string, string]> = [
  ['usr/bin', '/bin'],
  ['usr/sbin', '/sbin'],
  ['usr/lib', '/lib'],
  ['usr/lib64', '/lib64'],
  ['usr/lib32', '/lib32'],
];

export interface SandboxSpec {
  app: AppConfig;
  profile: SandboxProfile;
  /** Host directory that becomes the app's home (private to this session). */
  homeDir: string;
  /**
   * Lockstep: a host directory holding an empty `user`, bound read-only at /home, with the
   * session's start as its time on every replica. bwrap's own /home has the host's time
   * of the sandbox's start, and a file manager shows it (mc's `..` in the home): a
   * replacement standby made a minute later showed another time and never matched.
   */
  homeParent?: string;
  /** Host file holding the synthetic passwd/group for the sandbox. */
  passwdFile: string;
  groupFile: string;
  /** Host file holding the sandbox's init script (exit-marker.ts initScript), bound read-only at INIT_PATH. */
  initFile: string;
  /** rfb apps: a host directory (mode 0700) where the display's socket appears, as DISPLAY_SOCKET. */
  displayDir?: string;
  /** Apps with sound: a host directory (mode 0700) for the session's sound server, bound at SOUND_DIR; its socket is SOUND_SOCKET. */
  soundDir?: string;
  /** Lockstep rfb apps: the host file of the GTK settings they run with, bound read-only at GTK_SETTINGS_PATHS. */
  gtkSettings?: string;
  /** rfb apps with a window manager: the host file of the window-title watcher (window-title.ts), bound read-only at TITLE_SCRIPT_PATH. */
  titleScript?: string;
  /** rfb apps: the host file of the keymap keeper (keymap-keeper.ts), bound read-only at KEYMAP_SCRIPT_PATH. */
  keymapScript?: string;
  /** rfb apps: device pixels per CSS pixel of the screen the session was launched from (1 to 4): the app is told (scaleSettings). */
  scale?: number;
  /** A compiled seccomp filter open on this fd in bwrap (sandbox-host.ts). */
  seccompFd?: number;
  /** Host paths of the node's own (config, keys, stateDir) hidden wherever a bound directory holds them. */
  hide?: string[];
  /** A host directory on which the launcher mounts the sandbox's own devpts (terminals.ts), bound over /dev/pts; none: bwrap's own. */
  terminalsDir?: string;
  /** bwrap ≥ 0.8: forbid new user namespaces inside, besides the filter. */
  disableUserns?: boolean;
  /** A lockstep replica: the shim to preload and its clock file (host paths; bound read-only), and its process table (bound read-write). */
  lockstep?: { library: string; clock: string; procs: string };
  /** The session's print spool (print-spool.ts): its jobs directory (bound read-write), its lp/lpr (read-only, first on PATH) and its printer's socket directory (read-only, at /run/cups). */
  print?: { jobs: string; bin: string; ipp: string };
}

/** Where an app's sound server listens and keeps its state, inside the sandbox; the host reaches it through soundDir. */
export const SOUND_DIR = '/run/holdfast-sound';
export const SOUND_SOCKET = 'pulse.sock';
/** The null sink the app plays into; the node records its monitor. */
export const SOUND_SINK = 'holdfast';
/** The sink the node plays the person's microphone into (host/microphone-feed.ts); its monitor, renamed MICROPHONE_SOURCE, is the app's default source. */
export const MICROPHONE_SINK = 'holdfast-microphone-in';
export const MICROPHONE_SOURCE = 'holdfast-microphone';
/** Made by the sound server's keeper once the server answers with its defaults set: the app starts after it. */
const SOUND_READY = 'ready';

/**
 * The sound server, started before the app: PulseAudio, this session's alone (no
 * system or user daemon, no D-Bus, no shared memory), with a null sink the app plays
 * into, a microphone source the node feeds, and a socket only this sandbox's user and
 * the host can reach. A keeper loop starts it again if it dies (the app goes on; its
 * players reconnect as they would to a desktop's restarted server). It runs on the
 * host's clock, not the lockstep shim's, like the display server (RFB_LAUNCH says why).
 * `bash -c SOUND_LAUNCH holdfast-sound CMD ARGS…`
 */
export const SOUND_LAUNCH = [
  'shim=$LD_PRELOAD; export LD_PRELOAD=',
  'keep_sound() {',
  '  while :; do',
  `    rm -f ${SOUND_DIR}/${SOUND_READY}`,
  `    pulseaudio -n --daemonize=no --exit-idle-time=-1 --disable-shm=yes --use-pid-file=no --system=no --log-target=stderr --log-level=error -L "module-null-sink sink_name=${SOUND_SINK} rate=48000 channels=2" -L "module-null-sink sink_name=${MICROPHONE_SINK} rate=48000 channels=1" -L "module-remap-source master=${MICROPHONE_SINK}.monitor source_name=${MICROPHONE_SOURCE}" -L "module-native-protocol-unix socket=${SOUND_DIR}/${SOUND_SOCKET} auth-anonymous=1 auth-cookie-enabled=0" -L module-always-sink 2>/dev/null &`,
  '    server=$!',
  `    for i in $(seq 250); do pactl set-default-sink ${SOUND_SINK} 2>/dev/null && pactl set-default-source ${MICROPHONE_SOURCE} 2>/dev/null && break; sleep 0.02; done`,
  `    : > ${SOUND_DIR}/${SOUND_READY}`,
  '    wait $server',
  '    sleep 0.2',
  '  done',
  '}',
  'keep_sound &',
  `for i in $(seq 250); do [ -e ${SOUND_DIR}/${SOUND_READY} ] && break; sleep 0.02; done`,
  'LD_PRELOAD=$shim exec "$@"',
].join('\n');

/** Where an rfb app's display listens, inside the sandbox; the host reaches it through displayDir. */
export const DISPLAY_DIR = '/run/holdfast';
/** Where the sandbox's init script is, inside it: process 1 runs it (`ps` shows this path). */
export const INIT_PATH = '/run/holdfast-init';
export const DISPLAY_SOCKET = 'rfb.sock';
/** Made (empty) by the launcher as it execs the app: its mtime is when the app itself started. */
export const APP_STARTED = 'app-started';

/**
 * Runs an rfb app: starts its own Xvnc (display :0, RFB on a Unix socket only the host
 * can reach, no TCP, no VNC password: the session's sign-in is the gate), waits for the
 * socket, then execs the app on that display.
 * `bash -c RFB_LAUNCH holdfast-display XVNC GEOMETRY DEPTH MAXCUT NAME yes|no DPI CMD ARGS…`
 */
export const RFB_LAUNCH = [
  'xvnc=$1 geometry=$2 depth=$3 maxcut=$4 name=$5 wm=$6 dpi=$7; shift 7',
  // Only the app runs on the lockstep shim's clock. The display server and the window
  // manager run on the host's (their frame and redraw timers must not wait for input),
  // and so does everything this launcher runs while it waits for them: a wait takes as
  // many sleeps as the host needs, and sleeps on the shim's clock would move the clock
  // the app starts with by that much — differently on every replica (a replacement
  // standby's xclock showed another time).
  'shim=$LD_PRELOAD; export LD_PRELOAD=',
  `"$xvnc" :0 -geometry "$geometry" -depth "$depth" -desktop "$name" -dpi "$dpi" -rfbunixpath ${DISPLAY_DIR}/${DISPLAY_SOCKET} -rfbunixmode 0600 -rfbport -1 -nolisten tcp -SecurityTypes None -AlwaysShared -MaxCutText "$maxcut" -AcceptSetDesktopSize &`,
  `for i in $(seq 250); do [ -S ${DISPLAY_DIR}/${DISPLAY_SOCKET} ] && break; sleep 0.02; done`,
  // Room in the keymap for the characters people type (keymap-keeper.ts), made before
  // anything else connects: the window manager and the app start on a roomy keymap.
  `[ -r ${KEYMAP_SCRIPT_PATH} ] && [ -x /usr/bin/python3 ] && { /usr/bin/python3 -I -S ${KEYMAP_SCRIPT_PATH} /tmp/.X11-unix/X0 ${DISPLAY_DIR}/${DISPLAY_SOCKET} ${DISPLAY_DIR}/${KEYMAP_READY} & for i in $(seq 250); do [ -e ${DISPLAY_DIR}/${KEYMAP_READY} ] && break; sleep 0.02; done; }`,
  'export DISPLAY=:0',
  // One app fills the display, without decorations, and follows it when it is resized.
  '[ "$wm" = yes ] && [ -x /usr/bin/matchbox-window-manager ] && matchbox-window-manager -use_titlebar no -use_cursor yes &',
  // The app starts once the window manager holds the screen: a window mapped before it
  // is moved and refocused after, and keys typed in between went nowhere (seen under load).
  '[ "$wm" = yes ] && [ -x /usr/bin/xprop ] && for i in $(seq 100); do xprop -root _NET_SUPPORTING_WM_CHECK 2>/dev/null | grep -q "window id" && break; sleep 0.02; done',
  // The window-title watcher (window-title.ts) connects before the app does, and the app
  // starts once it has (its first write): every replica's app gets the same X client slot.
  `[ "$wm" = yes ] && [ -r ${TITLE_SCRIPT_PATH} ] && [ -x /usr/bin/python3 ] && { /usr/bin/python3 -I -S ${TITLE_SCRIPT_PATH} ${DISPLAY_DIR}/${TITLE_FILE} & for i in $(seq 100); do [ -e ${DISPLAY_DIR}/${TITLE_FILE} ] && break; sleep 0.02; done; }`,
  // When the app itself starts, after the display and its window manager (seconds, under
  // load): an exit soon after this, not after the session's start, is a failed start.
  `: > ${DISPLAY_DIR}/${APP_STARTED}`,
  'LD_PRELOAD=$shim exec "$@"',
].join('\n');

/** TigerVNC's X server (Debian's /usr/bin/Xvnc is an alternatives link, which the sandbox cannot follow). */
export function xvncPath(): string {
  return existsSync('/usr/bin/Xtigervnc') ? '/usr/bin/Xtigervnc' : '/usr/bin/Xvnc';
}

/** bwrap's whole command line: its options, then the command it runs in the sandbox. */
export function bwrapArgs(spec: SandboxSpec): string[] {
  return [...bwrapOptions(spec), '--', ...sandboxCommand(spec)];
}

/**
 * bwrap's options: every path of the host it binds, covers or reads. The launcher hands
 * them over on a file descriptor (bwrap --args), not on its command line, which the
 * sandbox's pid 1 — a fork of bwrap — would show in /proc/1/cmdline.
 */
export function bwrapOptions(spec: SandboxSpec): string[] {
  const { app, profile } = spec;
  // No --new-session: the PTY's own setsid (node-pty) already puts the app in a new
  // session whose only terminal is this session's private PTY. bwrap's extra setsid
  // would cut the app off from that terminal — no job control, and Ctrl-C would
  // never reach it — to guard against TIOCSTI into a terminal that is not shared.
  // --as-pid-1: the init (exit-marker.ts) is process 1 itself, reaping orphans as bash
  // does, rather than under a bwrap reaper of its own — one line less of plumbing in
  // the app's `ps` and htop.
  const args = ['--die-with-parent', '--unshare-all', '--unshare-user', '--as-pid-1', '--hostname', SANDBOX_HOSTNAME];
  if (profile.network) args.push('--share-net');
  if (spec.disableUserns) args.push('--disable-userns');
  args.push('--uid', String(SANDBOX_UID), '--gid', String(SANDBOX_UID));
  // Every host path bound from here on is bound at its real location (symlinks
  // resolved now, so a link swapped later changes nothing), and that real location is
  // what is checked against the node's own files below.
  const hidden = (spec.hide ?? []).map(realPath).filter((path): path is string => path !== null);
  const binds: Array<{ source: string; dest: string }> = [];
  const covers: string[] = [];
  const bindReadOnly = (path: string) => {
    const source = realPath(path);
    if (source === null) return; // not there: nothing to bind (as --ro-bind-try)
    // Inside the node's own files (a link into stateDir, say): an empty cover instead.
    if (hidden.some((h) => within(h, source))) return covers.push(...cover(source, path));
    args.push('--ro-bind', source, path);
    binds.push({ source, dest: path });
  };
  for (const dir of SYSTEM_DIRS) bindReadOnly(dir);
  for (const [target, link] of MERGED_USR_LINKS) if (existsSync(`/${target}`)) args.push('--symlink', target, link);
  args.push('--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp', '--tmpfs', '/etc', '--tmpfs', '/run');
  // The sandbox's own devpts, capped (terminals.ts), over the one bwrap's --dev made; /dev/ptmx points into it.
  if (spec.terminalsDir) args.push('--dev-bind', spec.terminalsDir, '/dev/pts');
  if (spec.displayDir) args.push('--perms', '1777', '--dir', '/tmp/.X11-unix', '--bind', spec.displayDir, DISPLAY_DIR);
  if (spec.soundDir) args.push('--bind', spec.soundDir, SOUND_DIR);
  for (const entry of ETC_ENTRIES) bindReadOnly(`/etc/${entry}`);
  args.push('--ro-bind', spec.passwdFile, '/etc/passwd', '--ro-bind', spec.groupFile, '/etc/group');
  args.push('--ro-bind', spec.initFile, INIT_PATH);
  if (spec.titleScript) args.push('--ro-bind', spec.titleScript, TITLE_SCRIPT_PATH);
  if (spec.keymapScript) args.push('--ro-bind', spec.keymapScript, KEYMAP_SCRIPT_PATH);
  if (spec.gtkSettings) for (const path of GTK_SETTINGS_PATHS) args.push('--ro-bind', spec.gtkSettings, path);
  if (profile.network) bindReadOnly('/etc/resolv.conf');
  for (const path of profile.readOnlyPaths) bindReadOnly(path);
  // A bound directory may hold the node's own files (a profile's, or /opt): cover each
  // with an empty, read-only file or directory, where the sandbox sees it.
  for (const path of hidden) {
    for (const { source, dest } of binds) if (within(source, path)) covers.push(...cover(path, join(dest, relative(source, path))));
  }
  args.push(...covers);
  if (spec.lockstep) args.push('--ro-bind', spec.lockstep.library, LOCKSTEP_LIBRARY, '--ro-bind', spec.lockstep.clock, LOCKSTEP_CLOCK, '--bind', spec.lockstep.procs, LOCKSTEP_PROCS);
  if (spec.print) args.push('--bind', spec.print.jobs, PRINT_JOBS_DIR, '--ro-bind', spec.print.bin, PRINT_BIN_DIR, '--ro-bind', join(spec.print.bin, PRINT_PROFILE_FILE), PRINT_PROFILE, '--ro-bind', spec.print.ipp, IPP_SOCKET_DIR);
  args.push(...(spec.homeParent ? ['--ro-bind', spec.homeParent, '/home'] : ['--dir', '/home']), '--bind', spec.homeDir, SANDBOX_HOME, '--chdir', SANDBOX_HOME);
  // The root, /etc and /run tmpfs only exist to hold the mounts above; seal them.
  args.push('--remount-ro', '/etc', '--remount-ro', '/run', '--remount-ro', '/');
  args.push('--clearenv');
  // Loaded last, just before the app's wrapper runs: bwrap's own setup (mounts, namespaces) is done by then.
  if (spec.seccompFd !== undefined) args.push('--seccomp', String(spec.seccompFd));
  for (const [key, value] of Object.entries(sandboxEnv(app))) args.push('--setenv', key, value);
  if (spec.displayDir) for (const [key, value] of Object.entries(scaleSettings(spec.scale ?? 1, app).env)) args.push('--setenv', key, value);
  // Its lp and lpr come first (the last --setenv of a name wins).
  if (spec.print) args.push('--setenv', 'PATH', `${PRINT_BIN_DIR}:${sandboxEnv(app).PATH}`);
  // Ordinary apps find the session's sound server with no configuration (libpulse, and ALSA through its pulse plugin).
  // PulseAudio's own files (its cookie, device and volume databases: random ids) stay out of
  // the home: every replica's home must hold the same files (a standby whose differ is dropped).
  if (spec.soundDir) {
    args.push('--setenv', 'PULSE_SERVER', `unix:${SOUND_DIR}/${SOUND_SOCKET}`, '--setenv', 'XDG_RUNTIME_DIR', SOUND_DIR);
    for (const name of ['PULSE_CONFIG_PATH', 'PULSE_STATE_PATH', 'PULSE_RUNTIME_PATH']) args.push('--setenv', name, `${SOUND_DIR}/pulse`);
    args.push('--setenv', 'PULSE_COOKIE', `${SOUND_DIR}/pulse/cookie`);
  }
  // Every process of the sandbox (the wrapper, Xvnc, the app and what it starts) reads
  // the wall clock and randomness through the shim: the same on every replica.
  if (spec.lockstep) args.push('--setenv', 'LD_PRELOAD', LOCKSTEP_LIBRARY, '--setenv', 'HOLDFAST_LOCKSTEP_CLOCK', LOCKSTEP_CLOCK, '--setenv', 'HOLDFAST_LOCKSTEP_PROCS', LOCKSTEP_PROCS);
  return args;
}

/** What runs in the sandbox: the exit-marker wrapper, then the app (behind its own Xvnc for rfb). Paths of the sandbox only. */
export function sandboxCommand(spec: SandboxSpec): string[] {
  const { app } = spec;
  const command = spec.displayDir
    ? ['/bin/bash', '-c', RFB_LAUNCH, 'holdfast-display', xvncPath(), app.geometry, String(app.depth), String(MAX_CUT_TEXT), app.name, app.windowManager ? 'yes' : 'no', String(scaleSettings(spec.scale ?? 1, app).dpi), app.command, ...app.args]
    : [app.command, ...app.args];
  const sounding = spec.soundDir ? ['/bin/bash', '-c', SOUND_LAUNCH, 'holdfast-sound', ...command] : command;
  return ['/bin/bash', INIT_PATH, ...sounding];
}

/** Where a host path really is (every symlink resolved), or null when it is not there. */
function realPath(path: string): string | null {
  try {
    return realpathSync(path);
  } catch {
    return null;
  }
}

/** Is `path` `dir` itself or inside it? */
function within(dir: string, path: string): boolean {
  return path === dir || path.startsWith(dir.endsWith('/') ? dir : `${dir}/`);
}

/** bwrap options that put an empty read-only directory or file (as `source` is) at `dest`. */
function cover(source: string, dest: string): string[] {
  const stat = statSync(source, { throwIfNoEntry: false });
  if (!stat) return []; // gone since: nothing to see
  return stat.isDirectory() ? ['--tmpfs', dest, '--remount-ro', dest] : ['--ro-bind', '/dev/null', dest];
}

/** The whole environment an app starts with: fixed, so replicas start identically. */
export function sandboxEnv(app: AppConfig): Record<string, string> {
  return {
    HOME: SANDBOX_HOME,
    USER: SANDBOX_USER,
    LOGNAME: SANDBOX_USER,
    SHELL: '/bin/bash',
    PATH: '/usr/local/bin:/usr/bin:/bin',
    TERM: 'xterm-256color',
    COLORTERM: 'truecolor',
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    TZ: 'UTC',
    HOSTNAME: SANDBOX_HOSTNAME,
    ...app.env,
  };
}

/**
 * How a GUI app is told the scale of the screen it is drawn on (issue 26, point 4). The
 * web client draws the display in the screen's device pixels, so on a 2× screen an app
 * that draws as on a 1× screen shows every letter at half its size. At launch the client
 * says its screen's scale (device pixels per CSS pixel, 1 to 4 in quarters), and the app
 * starts told it, the ways X apps listen:
 *   - Xvnc's DPI (96 × the scale): apps that size fonts in points from the screen's DPI
 *     (Xft, as XTerm with -fa) draw them larger;
 *   - GTK: GDK_SCALE, its whole part (every size doubles at 2), and GDK_DPI_SCALE, the
 *     rest, for text (1.5: GDK_SCALE 1, GDK_DPI_SCALE 1.5). GTK reads no DPI from Xvnc.
 * An app's own settings of these in its env are kept. Apps that draw in fixed pixels
 * (Athena's xedit with its bitmap fonts) stay small. The scale is the launch's: a session
 * opened later on a screen of another scale keeps it (the display still has that screen's
 * pixels), as an app started on one monitor keeps its size on another.
 */
export function scaleSettings(scale: number, app: Pick<AppConfig, 'env'>): { dpi: number; env: Record<string, string> } {
  const clamped = Math.min(4, Math.max(1, Math.round(scale * 4) / 4));
  const whole = Math.floor(clamped);
  const env: Record<string, string> = {};
  if (whole > 1 && app.env.GDK_SCALE === undefined) env.GDK_SCALE = String(whole);
  if (clamped !== whole && app.env.GDK_DPI_SCALE === undefined) env.GDK_DPI_SCALE = String(clamped / whole);
  return { dpi: Math.round(96 * clamped), env };
}

/**
 * GTK's system-wide settings, where a lockstep GUI app reads them. GTK writes the
 * recently used files list (~/.local/share/recently-used.xbel) with times its worker
 * threads read in their own order, so the list differed between replicas and every
 * standby of a GTK app diverged on its files; in a one-app sandbox the list only feeds
 * the app's own Recent menu. The text caret does not blink: a blinking caret redraws
 * the screen twice a second for nothing over the network, and no two looks at the
 * screen (a replica's, the person's before and after a takeover) agree on its phase.
 * A person's own ~/.config/gtk-3.0/settings.ini still wins.
 */
export const GTK_SETTINGS_PATHS = ['/etc/xdg/gtk-3.0/settings.ini', '/etc/xdg/gtk-4.0/settings.ini'];
export const LOCKSTEP_GTK_SETTINGS = '[Settings]\ngtk-recent-files-enabled=false\ngtk-cursor-blink=false\n';

export const PASSWD = `root:x:0:0:root:/nonexistent:/usr/sbin/nologin\n${SANDBOX_USER}:x:1000:1000:Holdfast user:${SANDBOX_HOME}:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n`;
export const GROUP = `root:x:0:\n${SANDBOX_USER}:x:1000:\nnogroup:x:65534:\n`;
