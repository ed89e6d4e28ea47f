// What the bench measures and against what: the command-line flags, the sample counts
// (N), the budgets, the bench catalog's apps, and where the code under test lives.
// Every part reads its settings from here, so `--quick` means the same everywhere.
import { GUI_ANIMATION_APP } from './gui-apps.js';
import { join } from 'node:path';

const ARGS = new Set(process.argv.slice(2));
export const QUICK = ARGS.has('--quick');
export const USE_DIST = ARGS.has('--use-dist');
const ONLY = [...ARGS].find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');
export const wanted = (part: string) => !ONLY || ONLY.includes(part);
export const WAIT_QUIET_S = Number([...ARGS].find((a) => a.startsWith('--wait-quiet='))?.slice('--wait-quiet='.length) ?? 30);

/** The repository, and the `holdfast` entry the bench runs (nodes and CLI clients); see snapshotBuild(). */
export const paths = { root: '', cli: '' };
export function usePaths(root: string, cli = join(root, 'dist', 'broker', 'cli.js')): void {
  paths.root = root;
  paths.cli = cli;
}
export const USER = 'bench';
export const PASSWORD = 'bench-password-1';

// ---- what is measured, and against what ----------------------------------------
export const N = {
  signIns: QUICK ? 10 : 40,
  launches: QUICK ? 8 : 30,
  echoWarmup: QUICK ? 50 : 200,
  echoSamples: QUICK ? 400 : 2000, // per path, in alternating blocks
  echoBlocks: 4,
  bulkBytes: 100 * 1024 * 1024,
  memoryLevels: QUICK ? [1, 10] : [1, 50, 200],
  stallMs: QUICK ? 5_000 : 30_000,
  seqLines: 2_000_000,
  tailRandomBytes: 1_000_000,
  failoverFaults: QUICK ? 10 : 20, // per kind (kill -9, SIGSTOP, planned move), client on a non-primary node
  failoverOnPrimaryFaults: QUICK ? 2 : 5, // per kind, client on the primary's node (reported apart)
  replicationWarmup: QUICK ? 50 : 200,
  replicationSamples: QUICK ? 400 : 2000, // per replica count, in alternating blocks
  replicationBlocks: 10,
  rfbFpsBlocks: 4, // per path, alternating (ABBA)
  rfbFpsBlockMs: QUICK ? 1500 : 3000,
  rfbKeyPresses: QUICK ? 60 : 200, // per path
  rfbKeyBlocks: 4,
  guiNetworkBlocks: QUICK ? 2 : 4, // per path and workload, alternating (ABBA)
  guiNetworkBlockMs: QUICK ? 2000 : 4000,
  guiNetworkWarmupMs: QUICK ? 4000 : 6000,
  guiNetworkKeyPresses: QUICK ? 24 : 60, // per path and profile
  filesBytes: 200 * 1024 * 1024, // part 13: one file of random bytes, up and down
  filesRounds: QUICK ? 2 : 3, // per path (floor, 1 replica, 2 replicas), alternating
  filesEchoWarmup: 128,
  filesEchoBlocks: 4, // per session: idle, during uploads, during, idle
  filesEchoBlockMs: QUICK ? 6000 : 15_000, // typing per block
  filesTypingGapMs: 100, // between a keystroke's echo and the next: about 9 keys/s, a fast typist
  sharingRounds: QUICK ? 5 : 21, // part 14: rounds of 0, 1, 5 viewers and recorded (odd: the median of per-round ratios is one round's)
  sharingPerBlock: QUICK ? 100 : 200, // timed keystrokes per condition per round
  sharingWarmup: QUICK ? 50 : 200,
  sharingPacedRounds: QUICK ? 3 : 9, // the same rounds at a person's pace, a diagnostic
  sharingPacedPerBlock: QUICK ? 40 : 80,
  sharingPacedGapMs: 10, // between an echo and the next key: the node is idle again before it
  sharingTypingSeconds: QUICK ? 15 : 60, // the recorded typing session, at sharingKeysPerSecond
  sharingKeysPerSecond: 8,
  soundClicks: QUICK ? 40 : 200, // part 15: timed clicks per path (the session, the floor), alternating in blocks
  soundClickBlocks: 4,
  soundWarmupClicks: 10, // per path, untimed
  soundBurstSeconds: QUICK ? 4 : 10, // listening to 100 ms bursts every 500 ms: is each decoded whole?
  soundPlayingSessions: QUICK ? 2 : 4, // the CPU windows: sessions playing all along (a tone and noise by turns)
  soundQuietSessions: QUICK ? 1 : 2, // and sessions whose sound server nobody plays into
  soundCpuRounds: QUICK ? 3 : 8, // rounds of nobody listening / listening to the playing / to the silent ones
  soundWindowMs: QUICK ? 2000 : 5000,
  soundSettleMs: 1000, // after a switch, before a window: parec started, the first packets out
};
export const BUDGET = {
  echoP50Us: 200,
  throughputMBs: 55,
  reference: { ttydEchoP50Us: 113, nodePtyEchoP50Us: 74, ttydMBs: 54, barePtyMBs: 85 },
  // Part 13 (issue 23): MB/s against the bare WebSocket floor; echo p99 during an upload against idle.
  files: { upload1: 0.5, upload2: 0.35, download: 0.6, echoP99Ratio: 2 },
  // Part 14 (issue 24): the owner's echo p50 with 5 viewers, and recorded, against neither.
  sharing: { fiveViewersP50Ratio: 1.1, recordingP50Ratio: 1.05 },
  // Part 15 (issue 25): the app's write → the client's decoded output on loopback; the
  // AUDIO frames' rate of stereo sound; the node's CPU per playing session, % of one core.
  sound: { latencyP50Ms: 60, latencyP99Ms: 120, kbitPerSecond: 128, cpuPctPerSession: 3 },
};
// Parts 8 and 9 restart cluster nodes dozens of times: they get time of their own (and
// so do the other parts on a cluster of their own).
export const WATCHDOG_MS = 330_000 + (wanted('failover') ? (QUICK ? 450_000 : 900_000) : 0) + (wanted('replication') ? 120_000 : 0) + (wanted('rfb') ? 210_000 : 0) + (wanted('gui-networks') ? (QUICK ? 300_000 : 600_000) : 0) + (wanted('tls') ? 120_000 : 0) + (wanted('coverage') ? 1_200_000 : 0) + (wanted('files') ? 420_000 : 0) + (wanted('sharing') ? 300_000 : 0) + (wanted('sound') ? 420_000 : 0);

// Apps of the bench catalog. Output sizes are exact so byte counts can be verified:
// `tr` output has no newline, so the app's PTY (ONLCR) does not change its length.
export const BULK_CMD = `head -c ${N.bulkBytes} /dev/zero | tr '\\000' x`;
export const APPS = [
  { id: 'cat', name: 'cat', command: '/bin/cat' },
  { id: 'sh', name: 'sh', command: '/bin/sh' },
  { id: 'ready', name: 'ready then cat', command: '/bin/sh', args: ['-c', 'echo ready; exec cat'] },
  { id: 'bulk', name: 'bulk output', command: '/bin/sh', args: ['-c', BULK_CMD] },
  { id: 'tail', name: 'tail at exit', command: '/bin/sh', args: ['-c', `head -c ${N.tailRandomBytes} /dev/urandom | base64; echo END-MARKER`] },
  { id: 'tailbig', name: 'big tail at exit', command: '/bin/sh', args: ['-c', `head -c ${6 * N.tailRandomBytes} /dev/urandom | base64; echo END-MARKER`] },
  // Two spellings of the same program, so their processes can be told apart in /proc.
  { id: 'seqa', name: 'seq (protocol client)', command: '/bin/sh', args: ['-c', `seq 1 ${N.seqLines}; echo END-MARKER`] },
  { id: 'seqb', name: 'seq (CLI client, PTY)', command: '/bin/sh', args: ['-c', `seq 1 ${N.seqLines + 1}; echo END-MARKER`] },
  { id: 'seqc', name: 'seq (CLI client, pipe)', command: '/bin/sh', args: ['-c', `seq 1 ${N.seqLines + 2}; echo END-MARKER`] },
  // Part 10 (bench/rfb.ts): GUI apps, each with its own Xvnc in its sandbox. A
  // full-screen redraw loop: xterm scrolling lines of fifteen 8-digit numbers forever
  // (135 characters; 11 pt DejaVu Sans Mono at 96 dpi is ~9 px a cell, ~140 columns),
  // so every row of the screen changes as it scrolls (plain `seq` only changes a strip
  // at the left edge). And an idle xterm whose only change is a key's echo.
  { id: 'gui-scroll', name: 'XTerm scrolling', display: 'rfb', geometry: '1280x800', command: '/usr/bin/xterm', args: ['-fa', 'DejaVu Sans Mono', '-fs', '11', '-e', '/bin/sh', '-c', "while :; do seq -w 10000000 99999999 | paste -d ' ' - - - - - - - - - - - - - - -; done"] },
  { id: 'gui-echo', name: 'XTerm idle', display: 'rfb', geometry: '1280x800', command: '/usr/bin/xterm', args: ['-fa', 'DejaVu Sans Mono', '-fs', '11', '-e', '/bin/cat'] },
  // Part "gui-networks" (bench/gui-networks.ts): a photo-like animation, every pixel changing.
  GUI_ANIMATION_APP,
];
