// The bench's runner (`npm run bench`: scripts/bench.mjs bundles this and runs it):
// measures Holdfast end to end on this machine and reports; it never fails on a number.
// Starts its own broker node (loopback, temp config and state), drives it with the
// bench's protocol client (ws, per shared/protocol) and with the real CLI in a PTY, and
// compares against floors measured in the same run (a bare node-pty). Writes
// bench-results/bench-<timestamp>.json and bench-results/latest.json.
//
//   node scripts/bench.mjs [--use-dist] [--quick] [--wait-quiet=S] [--only=LIST]
//
// What it measures, one module each: 1 sign-in → app list; 2 launch → first output;
// 3 keystroke echo through `holdfast connect` in a PTY vs a bare node-pty, plus the
// bench's own ws client and a Node process relaying its terminal (the CLI's terminal
// hop alone) (terminal.ts); 4 throughput of 100 MiB (CLI → PTY, CLI → pipe, ws client,
// bare PTY; throughput.ts); 5 memory per idle session at 1/50/200 (memory.ts); 6
// PASS/FAIL checks: the tail of an exiting app, and a 30 s stalled reader (protocol
// client, CLI on a PTY, CLI on a pipe; checks.ts); 7 resume after a lost path
// (resume.ts); 8 failover time on a 3-node cluster (kill -9 and SIGSTOP of the
// primary's node, and a planned move to the standby as a drain does it; failover.ts);
// 9 what lockstep replication adds to the keystroke echo (2 replicas against 1, same
// cluster; replication.ts). Parts 8 and 9 start their own etcd and node processes
// (support/cluster-harness.ts). 10 GUI (RFB) apps (rfb.ts): updates/s and bytes per
// update of a scrolling xterm at 1280×800 (with continuous updates, as noVNC runs, and
// one request at a time), and key → frame latency on an idle one, through a Holdfast
// session against Debian's websockify (what noVNC talks to) on the same Xvnc, in the
// same run. 11 TLS: connect → welcome, keystroke echo and 100 MiB of output over wss (a
// second node with node.tls) against ws, alternating (tls.ts). 12 lockstep coverage:
// 21 real Debian apps (support/coverage-apps.ts), each replicated on a 3-node cluster
// and killed (kill -9 of its primary's node) halfway through a scripted session, its
// screen and files compared with before the kill and with a single-node reference run
// (coverage.ts; BENCH_COVERAGE_APPS=a,b for some). 13 files in and out of a session
// (files.ts): upload and download MB/s of a 200 MiB file through the HTTP API (the
// shared resumableUpload; GET files/content) to a 1- and a 2-replica session on a
// 3-node cluster, against a bare WebSocket transfer of the same bytes over loopback
// (files-floor.ts), alternating; and keystroke echo while an upload runs against idle,
// in the same session. 14 sharing and recording (sharing.ts): the owner's keystroke echo
// with 0, 1 and 5 people watching through a view-only share link, and in a recorded
// session, alternating in rounds on a node of its own; and a recorded typing session's
// bytes per minute (recording-size.ts). 15 sound (sound.ts): a click's latency from the
// app's write to the client's decoded output (p50/p99) against PulseAudio alone (the same
// app and sound server outside the sandbox), the AUDIO frames' bit rate of a tone and of
// noise, and the node's CPU per playing session (listened against not, alternating), on
// a node of its own. 16 GUI on real networks (gui-networks.ts): each link profile of
// support/shaping-proxy.ts (lan, broadband, vpn, mobile) and workload (scrolling xterm,
// a photo-like animation), the node's path (its link governor choosing the quality)
// against websockify with noVNC's defaults, both through shaping proxies: updates/s,
// bytes per update, node CPU per update, key → frame.
// The process exit code is 0 whenever the bench could run, whatever it measured.
//
// --use-dist  use dist/ as it is (default: run scripts/build.mjs first, so the numbers
//             match the source). Either way dist/broker is copied to
//             bench-results/.build-PID/ and run from there, so a concurrent
//             `npm run build` cannot swap the code under a running bench.
// --quick     fewer samples and a 5 s stall instead of 30 s (for trying the script out)
// --wait-quiet=S  before starting, wait up to S seconds (default 30; 0: don't) for the
//             machine to be quiet (< 15 % busy over a second): other load skews everything
// --only=LIST run only some parts, e.g. --only=echo,throughput (signin, launch, echo,
//             throughput, exit, stall, memory, resume, failover, replication, rfb, tls,
//             coverage, files, sharing, sound, gui-networks); the JSON then holds only those
//
// Environment: BENCH_NODE_FLAGS / BENCH_CLI_FLAGS add Node flags to the broker node /
// the CLI clients, e.g. BENCH_NODE_FLAGS='--cpu-prof --cpu-prof-dir=bench-results/prof'.
//
// Every process it starts (nodes, CLI clients, and through the nodes the sandboxes) is
// tracked and ended on success, error, SIGINT/SIGTERM and the overall watchdog
// (processes.ts). The report is rendered from the JSON it writes (report.ts).
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { checkExitTail, checkExitTailCli, checkStallCli, checkStallCliPipe, checkStallProtocol, type CheckResult } from './checks.js';
import { benchMemory } from './memory.js';
import { hashPassword, startNode, writeConfig, type BenchNode } from './node.js';
import { interferenceMeter, machineBusy } from './other-load.js';
import { cleanUpAtExit, cleanupAll, noteDescendants, removeAtExit, type Cleanup } from './processes.js';
import { benchCoverage, benchFailover, benchFiles, benchGuiNetworks, benchReplication, benchResume, benchRfb, benchSharing, benchSound } from './parts.js';
import { signIn } from './protocol-client.js';
import { render } from './report.js';
import { BUDGET, N, QUICK, WAIT_QUIET_S, WATCHDOG_MS, paths, usePaths, wanted } from './settings.js';
import { gitState, snapshotBuild } from './snapshot.js';
import { round } from './stats.js';
import { benchEcho, benchLaunch, benchSignIn } from './terminal.js';
import { benchThroughput } from './throughput.js';
import { benchTls } from './tls.js';
import { sleep } from './timing.js';

interface Check {
  name: string;
  pass: boolean;
  detail: unknown;
}

/** Runs the bench from the repository at `root`; the build is copied to `buildDir`, removed at exit. */
export async function bench(root: string, buildDir: string): Promise<never> {
  usePaths(root);
  cleanUpAtExit();
  try {
    return await main(buildDir);
  } catch (error) {
    process.stderr.write(`bench: ${error instanceof Error ? error.stack : String(error)}\n`);
    await cleanupAll();
    process.exit(1);
  }
}

async function main(buildDir: string): Promise<never> {
  const ROOT = paths.root;
  const started = Date.now();
  const watchdog = setTimeout(() => {
    process.stderr.write(`\nbench: still running after ${WATCHDOG_MS / 1000} s; giving up and cleaning up\n`);
    void cleanupAll().finally(() => process.exit(3));
  }, WATCHDOG_MS);
  watchdog.unref();

  removeAtExit(buildDir);
  usePaths(ROOT, snapshotBuild(buildDir));
  const waitQuiet = WAIT_QUIET_S;
  let busyBefore = await machineBusy();
  const waitStart = Date.now();
  while (busyBefore > 0.15 && Date.now() - waitStart < waitQuiet * 1000) {
    process.stderr.write(`bench: the machine is ${Math.round(busyBefore * 100)} % busy; waiting for it to be quiet (up to ${waitQuiet} s) …\n`);
    await sleep(2000);
    busyBefore = await machineBusy();
  }
  const waitedForQuiet = round((Date.now() - waitStart) / 1000, 1);
  if (busyBefore > 0.15) process.stderr.write(`bench: warning: the machine is ${Math.round(busyBefore * 100)} % busy before the bench starts; numbers will be skewed\n`);
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-bench-'));
  const errors: Record<string, string> = {};
  const results: Record<string, Record<string, unknown>> = {};
  const checks: Check[] = [];
  const check = (name: string, pass: unknown, detail: unknown) => checks.push({ name, pass: Boolean(pass), detail });
  const log = join(dir, 'node.log');
  const result = {
    timestamp: new Date().toISOString(),
    machine: {
      node: process.version,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? '?',
      kernel: release(),
      memMiB: Math.round(totalmem() / 2 ** 20),
      loadAvgAtStart: loadavg().map((v) => round(v, 2)),
      cpuBusyBeforeStart: busyBefore,
      waitedForQuietSeconds: waitedForQuiet,
    } as Record<string, unknown>,
    source: gitState(),
    settings: { ...N, quick: QUICK },
    budget: BUDGET,
    results,
    checks,
    errors,
  } as Record<string, unknown> & { timestamp: string; machine: Record<string, unknown> };
  let node: BenchNode | null = null;
  const step = async (key: string, label: string, fn: () => Promise<object>) => {
    process.stderr.write(`bench: ${label} …\n`);
    const t0 = Date.now();
    const meter = interferenceMeter();
    try {
      const r = (await fn()) as Record<string, unknown>;
      results[key] = r;
      r.otherLoad = meter();
    } catch (error) {
      errors[key] = error instanceof Error ? error.message : String(error);
      process.stderr.write(`bench: ${label} failed: ${errors[key]}\n`);
    }
    process.stderr.write(`bench:   (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
  };
  const checkStep = async (name: string, fn: () => Promise<CheckResult>) => {
    try {
      const r = await fn();
      check(name, r.pass, r.detail);
    } catch (error) {
      check(name, false, { error: error instanceof Error ? error.message : String(error) });
    }
  };

  try {
    const passwordHash = await hashPassword();
    const { file, config } = writeConfig(dir, passwordHash);
    node = await startNode(file, log);
    const n = node;
    process.stderr.write(`bench: node ${n.pid} at ${n.url}; temp dir ${dir}\n`);
    const { control, token } = await signIn(n.url);

    if (wanted('signin')) await step('signIn', '1 sign-in → app list', () => benchSignIn(n.url, passwordHash));
    if (wanted('launch')) await step('launch', '2 launch → first output', () => benchLaunch(n.url, token, n.pid));
    if (wanted('echo')) await step('echo', '3 keystroke echo', () => benchEcho(n.url, token));
    if (wanted('throughput')) await step('throughput', '4 throughput', () => benchThroughput(n.url, token, n.pid));

    if (wanted('exit')) {
      process.stderr.write('bench: 6a exit tail checks …\n');
      await checkStep('(a) last bytes before exit all arrive; session.exited, then close 1000 (fast reader)', () => checkExitTail(n.url, token, n.pid, N.tailRandomBytes, 'tail', false));
      await checkStep('(a) same, 8 MB app and a slow reader (app held at the window when it exits)', () => checkExitTail(n.url, token, n.pid, 6 * N.tailRandomBytes, 'tailbig', true));
      await checkStep('(a) same through `holdfast connect` (stdout pipe): marker, length, exit code 0', () => checkExitTailCli(n.url, n.pid));
    }

    if (wanted('stall')) {
      process.stderr.write(`bench: 6b ${N.stallMs / 1000} s stall checks (protocol client, CLI on a PTY, CLI on a pipe; concurrently) …\n`);
      const [proto, cli, pipe] = await Promise.allSettled([checkStallProtocol(n.url, token, n.pid), checkStallCli(n.url, n.pid), checkStallCliPipe(n.url, n.pid)]);
      const settle = (name: string, r: PromiseSettledResult<CheckResult>) =>
        r.status === 'fulfilled' ? check(name, r.value.pass, r.value.detail) : check(name, false, { error: String(r.reason?.message ?? r.reason) });
      settle(`(b) client stops acking for ${N.stallMs / 1000} s: app held (alive, not disconnected), then every byte in order`, proto);
      settle(`(b) CLI whose terminal stops reading for ${N.stallMs / 1000} s: app held, then every byte in order`, cli);
      settle(`(b) CLI whose stdout pipe is not read for ${N.stallMs / 1000} s (\`| less\`): app held, then every byte in order`, pipe);
    }

    if (wanted('rfb')) await step('rfb', '10 GUI (RFB): scrolling fps and key → frame, holdfast vs websockify on the same Xvnc', () => benchRfb(n.url, token, config.node.stateDir, n.pid));
    if (wanted('gui-networks')) await step('gui-networks', '16 GUI on real networks: lan, broadband, vpn, mobile through shaping proxies, holdfast vs websockify with noVNC defaults', () => benchGuiNetworks(n.url, token, config.node.stateDir, n.pid));
    if (wanted('tls')) await step('tls', '11 TLS: connect, keystroke echo and throughput over wss against ws', () => benchTls(dir, passwordHash, { url: n.url, token, pid: n.pid }));

    await control.close();
    noteDescendants(n.pid);
    await n.stop();
    node = null;

    if (wanted('memory')) await step('memory', '5 memory per idle session (fresh node)', () => benchMemory(file, log));
    if (wanted('resume')) await step('resume', '7 resume after the path returns (fault proxy)', () => benchResume());
    if (wanted('failover')) await step('failover', '8 failover on a 3-node cluster (kill -9 and SIGSTOP of the primary)', () => benchFailover());
    if (wanted('replication')) await step('replication', '9 keystroke echo with a lockstep standby vs without', () => benchReplication());
    if (wanted('sharing')) await step('sharing', '14 sharing: echo with 0, 1, 5 viewers and recorded; a recording\'s bytes per minute', () => benchSharing(dir, passwordHash));
    if (wanted('sound')) await step('sound', '15 sound: click latency against PulseAudio alone, bit rate, node CPU per playing session', () => benchSound(dir, passwordHash));
    if (wanted('files')) await step('files', '13 files: upload and download MB/s against a bare WebSocket, keystroke echo during an upload', () => benchFiles());
    if (wanted('coverage')) await step('coverage', '12 lockstep coverage: real apps across kill -9 of their primary, against a reference run', () => benchCoverage());
  } catch (error) {
    errors.fatal = error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stderr.write(`bench: ${errors.fatal}\n`);
  } finally {
    if (node) await node.stop().catch(() => {});
    result.cleanup = (await cleanupAll()) satisfies Cleanup;
    result.seconds = round((Date.now() - started) / 1000, 1);
    result.machine.loadAvgAtEnd = loadavg().map((v) => round(v, 2));
    result.machine.cpuBusyAfterEnd = await machineBusy();
  }

  mkdirSync(join(ROOT, 'bench-results'), { recursive: true });
  const stamp = result.timestamp.replace(/[:.]/g, '-');
  const jsonFile = join(ROOT, 'bench-results', `bench-${stamp}.json`);
  const failed = Object.keys(errors).length > 0 || checks.some((c) => !c.pass);
  if (failed && existsSync(log)) {
    copyFileSync(log, join(ROOT, 'bench-results', `bench-${stamp}.node.log`));
    result.nodeLog = `bench-results/bench-${stamp}.node.log`;
  }
  writeFileSync(jsonFile, JSON.stringify(result, null, 2) + '\n');
  writeFileSync(join(ROOT, 'bench-results', 'latest.json'), JSON.stringify(result, null, 2) + '\n');
  rmSync(dir, { recursive: true, force: true });
  rmSync(buildDir, { recursive: true, force: true });

  process.stdout.write('\n' + render(result) + '\n\n');
  process.stdout.write(`Results: ${jsonFile.slice(ROOT.length + 1)} (and bench-results/latest.json)${result.nodeLog ? `; node log: ${result.nodeLog}` : ''}\n`);
  // A measurement run: the exit code says only whether the bench itself could run.
  // Exit explicitly: every process is already ended; nothing else should keep us here.
  const code = errors.fatal ? 1 : 0;
  return new Promise<never>(() => process.stdout.write('', () => process.exit(code)));
}
