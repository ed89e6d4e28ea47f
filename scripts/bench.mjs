#!/usr/bin/env node
// `npm run bench`: measures Holdfast end to end on this machine and reports; it never
// fails on a number. Starts its own broker node (loopback, temp config and state),
// drives it with a minimal protocol client (ws, per shared/protocol) and with the real
// CLI in a PTY, and compares against floors measured in the same run (a bare node-pty).
// Writes bench-results/bench-<timestamp>.json and bench-results/latest.json.
//
//   node scripts/bench.mjs [--use-dist] [--quick] [--wait-quiet=S] [--only=LIST]
//
// What it measures (see the sections below): 1 sign-in → app list; 2 launch → first
// output; 3 keystroke echo through `holdfast connect` in a PTY vs a bare node-pty, plus
// the bench's own ws client and a Node process relaying its terminal (the CLI's
// terminal hop alone); 4 throughput of 100 MiB (CLI → PTY, CLI → pipe, ws client,
// bare PTY); 5 memory per idle session at 1/50/200; 6 PASS/FAIL checks: the tail of an
// exiting app, and a 30 s stalled reader (protocol client, CLI on a PTY, CLI on a pipe);
// 7 resume after a lost path; 8 failover time on a 3-node cluster (kill -9 and SIGSTOP
// of the primary's node, and a planned move to the standby as a drain does it;
// bench/failover.ts); 9 what lockstep replication adds to the
// keystroke echo (2 replicas against 1, same cluster; bench/replication.ts). Parts 8
// and 9 start their own etcd and node processes (test/cluster-harness.ts). 10 GUI
// (RFB) apps (bench/rfb.ts): updates/s and bytes per update of a scrolling xterm at
// 1280×800 (with continuous updates, as noVNC runs, and one request at a time), and
// key → frame latency on an idle one, through a Holdfast session against
// Debian's websockify (what noVNC talks to) on the same Xvnc, in the same run. 11 TLS:
// connect → welcome, keystroke echo and 100 MiB of output over wss (a second node with
// node.tls) against ws, alternating.
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
//             throughput, exit, stall, memory, resume, failover, replication, rfb, tls); the
//             JSON then holds only those
//
// Environment: BENCH_NODE_FLAGS / BENCH_CLI_FLAGS add Node flags to the broker node /
// the CLI clients, e.g. BENCH_NODE_FLAGS='--cpu-prof --cpu-prof-dir=bench-results/prof'.
//
// Every process it starts (nodes, CLI clients, and through the nodes the sandboxes) is
// tracked and ended on success, error, SIGINT/SIGTERM and the overall watchdog.
import { spawn, spawnSync } from 'node:child_process';
import { scrypt } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, openSync, closeSync, copyFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const pty = require('node-pty');
const { WebSocket } = require('ws');
const YAML = require('yaml');

const ARGS = new Set(process.argv.slice(2));
const QUICK = ARGS.has('--quick');
const ONLY = [...ARGS].find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');
const wanted = (part) => !ONLY || ONLY.includes(part);
// The `holdfast` entry the bench runs (nodes and CLI clients); see snapshotBuild().
let CLI = join(ROOT, 'dist', 'broker', 'cli.js');
const USER = 'bench';
const PASSWORD = 'bench-password-1';

// ---- what is measured, and against what ----------------------------------------
const N = {
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
};
const BUDGET = {
  echoP50Us: 200,
  throughputMBs: 55,
  reference: { ttydEchoP50Us: 113, nodePtyEchoP50Us: 74, ttydMBs: 54, barePtyMBs: 85 },
};
// Parts 8 and 9 restart cluster nodes dozens of times: they get time of their own.
const WATCHDOG_MS = 330_000 + (wanted('failover') ? (QUICK ? 450_000 : 900_000) : 0) + (wanted('replication') ? 120_000 : 0) + (wanted('rfb') ? 210_000 : 0) + (wanted('tls') ? 120_000 : 0);

// Apps of the bench catalog. Output sizes are exact so byte counts can be verified:
// `tr` output has no newline, so the app's PTY (ONLCR) does not change its length.
const BULK_CMD = `head -c ${N.bulkBytes} /dev/zero | tr '\\000' x`;
const APPS = [
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
];

// ---- small utilities -------------------------------------------------------------
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const nowNs = () => process.hrtime.bigint();
const msSince = (t0) => Number(nowNs() - t0) / 1e6;
const CLK_TCK = 100;

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]);
}

async function until(predicate, ms, what, every = 5) {
  const t0 = Date.now();
  while (!predicate()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(every);
  }
}

function stats(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  if (n === 0) return { n: 0 };
  const pct = (p) => sorted[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))];
  const mean = sorted.reduce((s, v) => s + v, 0) / n;
  return { n, min: sorted[0], p50: pct(50), p90: pct(90), p99: pct(99), max: sorted[n - 1], mean };
}

const round = (v, digits = 1) => (typeof v === 'number' ? Math.round(v * 10 ** digits) / 10 ** digits : v);
function roundStats(s, digits = 1) {
  return Object.fromEntries(Object.entries(s).map(([k, v]) => [k, round(v, digits)]));
}

// ---- /proc -----------------------------------------------------------------------
function procStat(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = text.lastIndexOf(')');
    const comm = text.slice(text.indexOf('(') + 1, close);
    const f = text.slice(close + 2).split(' ');
    // f[0] is field 3 (state); field n is f[n-3]
    return { pid, comm, state: f[0], ppid: Number(f[1]), utime: Number(f[11]), stime: Number(f[12]), starttime: Number(f[19]) };
  } catch {
    return null;
  }
}

function statusKb(pid, field) {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function pssKb(pid) {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function cmdline(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

function wchan(pid) {
  try {
    return readFileSync(`/proc/${pid}/wchan`, 'utf8');
  } catch {
    return '';
  }
}

/** Every live descendant of `root` (not including root). */
function descendants(root) {
  const children = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = procStat(Number(name));
    if (!s) continue;
    if (!children.has(s.ppid)) children.set(s.ppid, []);
    children.get(s.ppid).push(s);
  }
  const out = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift();
    for (const child of children.get(pid) ?? []) {
      out.push(child);
      queue.push(child.pid);
    }
  }
  return out;
}

/** Share of all CPUs busy over `ms` (this process idles meanwhile): other load skews every number. */
async function machineBusy(ms = 1000) {
  const read = () => {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = f[3] + (f[4] ?? 0);
    return { idle, total: f.reduce((a, b) => a + b, 0) };
  };
  const a = read();
  await sleep(ms);
  const b = read();
  return round(1 - (b.idle - a.idle) / Math.max(1, b.total - a.total), 3);
}

/**
 * CPU used on this machine by other processes while a part runs, as a share of all
 * CPUs: a gauge of how skewed that part's numbers are. Counted per process (CPU of
 * reaped children included): everything except the bench's own tree, kernel threads
 * (PTYs do part of their work in kworkers, on our behalf) and sandbox processes that
 * our nodes killed and init inherited.
 */
const BENCH_START = procStat(process.pid)?.starttime ?? 0;
function cpuSnapshot() {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const all = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const text = readFileSync(`/proc/${name}/stat`, 'utf8');
      const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
      const comm = text.slice(text.indexOf('(') + 1, text.lastIndexOf(')'));
      all.set(Number(name), { comm, ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]), start: Number(f[19]) });
    } catch {
      /* gone */
    }
  }
  const ours = new Set([process.pid]);
  for (const d of descendants(process.pid)) ours.add(d.pid);
  const foreign = new Map();
  for (const [pid, p] of all) {
    if (ours.has(pid) || pid === 2 || p.ppid === 2) continue;
    if (p.ppid === 1 && p.start >= BENCH_START && (seenDescendants.has(pid) || nestedPidNs(pid))) continue;
    foreign.set(pid, p);
  }
  return { total: line.reduce((x, y) => x + y, 0), foreign };
}

function nestedPidNs(pid) {
  try {
    const m = /^NSpid:\s+(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m !== null && m[1].trim().split(/\s+/).length > 1;
  } catch {
    return false;
  }
}

function interferenceMeter() {
  const a = cpuSnapshot();
  return () => {
    const b = cpuSnapshot();
    let ticks = 0;
    const byName = new Map();
    for (const [pid, p] of b.foreign) {
      const before = a.foreign.get(pid);
      const used = before && before.start === p.start ? p.ticks - before.ticks : p.ticks;
      ticks += used;
      if (used > 0) byName.set(p.comm, (byName.get(p.comm) ?? 0) + used);
    }
    const all = Math.max(1, b.total - a.total);
    const top = [...byName].sort((x, y) => y[1] - x[1]).slice(0, 5).map(([comm, t]) => `${comm} ${Math.round((100 * t) / all)}%`);
    return { foreign: round(Math.max(0, ticks) / all, 3), top };
  };
}

// ---- process bookkeeping: everything started is ended ------------------------------
const tracked = new Map(); // pid -> { kill(signal), label, starttime }
function track(pid, label, kill) {
  tracked.set(pid, { label, kill, starttime: procStat(pid)?.starttime });
}
function untrack(pid) {
  tracked.delete(pid);
}
/** Sandboxes and helpers seen under our nodes, so stragglers can be found after a node dies. */
const seenDescendants = new Map(); // pid -> starttime
function noteDescendants(root) {
  for (const d of descendants(root)) seenDescendants.set(d.pid, d.starttime);
}

function stillSame(pid, starttime) {
  const s = procStat(pid);
  return s !== null && s.state !== 'Z' && (starttime === undefined || s.starttime === starttime);
}

function killHard(pid, starttime) {
  if (!stillSame(pid, starttime)) return false;
  try {
    process.kill(pid, 'SIGKILL');
    return true;
  } catch {
    return false;
  }
}

let cleaningUp = null;
async function cleanupAll() {
  cleaningUp ??= (async () => {
    for (const [pid] of tracked) noteDescendants(pid);
    // Nodes get SIGTERM first so they end their sessions the normal way.
    for (const t of tracked.values()) {
      try {
        t.kill('SIGTERM');
      } catch {
        /* gone */
      }
    }
    const t0 = Date.now();
    while (Date.now() - t0 < 3000 && [...tracked].some(([pid, t]) => stillSame(pid, t.starttime))) await sleep(20);
    let killed = 0;
    for (const [pid, t] of tracked) if (killHard(pid, t.starttime)) killed += 1;
    await sleep(100);
    for (const [pid, start] of seenDescendants) if (killHard(pid, start)) killed += 1;
    await sleep(100);
    const left = [...tracked].filter(([pid, t]) => stillSame(pid, t.starttime)).length +
      [...seenDescendants].filter(([pid, start]) => stillSame(pid, start)).length;
    return { killedHard: killed, leftover: left };
  })();
  return cleaningUp;
}

let removeOnExit = null;
process.on('exit', () => {
  if (removeOnExit) rmSync(removeOnExit, { recursive: true, force: true });
  for (const [pid, t] of tracked) killHard(pid, t.starttime);
  for (const [pid, start] of seenDescendants) killHard(pid, start);
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    process.stderr.write(`\nbench: ${signal}; cleaning up\n`);
    cleanupAll().finally(() => process.exit(130));
  });
}

const nodeFlags = (name) => (process.env[name] ?? '').split(/\s+/).filter(Boolean);

// ---- the broker node -------------------------------------------------------------
/**
 * Issue 3's figures come from bench/resume.ts, which drives the TypeScript session core
 * through a fault proxy. It is bundled beside the bench's copy of the broker (so the
 * screen worker resolves) and run in this process.
 */
async function benchResume() {
  const { run } = await bundlePart('resume');
  return run(QUICK ? 8 : 24);
}

/** Bundles bench/NAME.ts beside the bench's copy of the broker and imports it. */
async function bundlePart(name) {
  const { build } = await import('esbuild');
  const outfile = join(dirname(CLI), `bench-${name}.mjs`);
  await build({ entryPoints: [join(ROOT, 'bench', `${name}.ts`)], bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', outfile, logLevel: 'warning' });
  return import(outfile);
}

/**
 * Part 8 (bench/failover.ts): a 3-node cluster on real etcd running the bench's copy of
 * the broker; kill -9 and SIGSTOP of the primary's node, fault → first live output.
 */
async function benchFailover() {
  const { run } = await bundlePart('failover');
  return run({
    faults: N.failoverFaults,
    onPrimaryFaults: N.failoverOnPrimaryFaults,
    cli: CLI,
    stats,
    roundStats,
    progress: (line) => process.stderr.write(`bench:   ${line}\n`),
    saveLogs: (text) => {
      const file = join('bench-results', `failover-nodes-${new Date().toISOString().replace(/[:.]/g, '-')}.log`);
      mkdirSync(join(ROOT, 'bench-results'), { recursive: true });
      writeFileSync(join(ROOT, file), text);
      return file;
    },
  });
}

/**
 * Part 9 (bench/replication.ts): keystroke echo with 2 replicas against 1 on one
 * cluster, through this bench's protocol client and echo loop (echoRunProto).
 */
async function benchReplication() {
  const { run } = await bundlePart('replication');
  return run({
    echo: { launch: (url, token, appId) => ProtoSession.launch(url, token, appId), run: echoRunProto },
    warmup: N.replicationWarmup,
    samples: N.replicationSamples,
    blocks: N.replicationBlocks,
    cli: CLI,
    stats,
    roundStats,
  });
}

/**
 * Part 10 (bench/rfb.ts): GUI sessions through this bench's protocol client against
 * Debian's websockify on the same display socket.
 */
async function benchRfb(url, token, stateDir, nodePid) {
  const { run } = await bundlePart('rfb');
  return run({
    launch: async (appId) => {
      const s = await ProtoSession.launch(url, token, appId);
      return {
        sessionId: s.started.sessionId,
        onOutput: (receiver) => {
          s.onData = receiver;
        },
        input: (bytes) => s.input(bytes),
        sendFrame: (frame) => s.client.send(frame),
        problems: () => [...s.client.problems, ...s.errors.map((e) => `${e.code ?? 'error'}: ${e.message ?? ''}`), ...(s.client.closeInfo ? [`closed ${s.client.closeInfo.code} ${s.client.closeInfo.reason}`] : [])],
        close: () => s.close(),
      };
    },
    stateDir,
    nodePid,
    fpsBlocks: N.rfbFpsBlocks,
    fpsBlockMs: N.rfbFpsBlockMs,
    keyPresses: N.rfbKeyPresses,
    keyBlocks: N.rfbKeyBlocks,
    track,
    untrack,
    stats,
    roundStats,
    progress: (line) => process.stderr.write(`bench:   ${line}\n`),
  });
}

async function hashPassword() {
  const child = spawnSync(process.execPath, [CLI, 'user', 'hash', '--password-stdin'], {
    input: PASSWORD + '\n',
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (child.status !== 0) throw new Error(`holdfast user hash failed: ${child.stderr}`);
  return child.stdout.trim();
}

function writeConfig(dir, passwordHash) {
  const config = {
    // Part 5 holds 200 idle sessions of one person at once (and 1 + 50 before them): more
    // than the default per-person (10) and per-node (200) session limits allow.
    node: { name: 'bench', listen: { host: '127.0.0.1', port: 0 }, stateDir: join(dir, 'state'), limits: { sessionsPerUser: 260, sessionsPerNode: 300 } },
    users: [{ name: USER, displayName: 'Bench', passwordHash }],
    apps: APPS,
    entitlements: [{ users: [USER], apps: APPS.map((a) => a.id) }],
  };
  const file = join(dir, 'node.yaml');
  writeFileSync(file, YAML.stringify(config));
  return { file, config };
}

async function startNode(configFile, logFile) {
  const log = openSync(logFile, 'a');
  const child = spawn(process.execPath, [...nodeFlags('BENCH_NODE_FLAGS'), CLI, 'node', '--config', configFile], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', log],
    env: { ...process.env, HOLDFAST_LOG_LEVEL: 'info' },
  });
  closeSync(log);
  track(child.pid, 'node', (signal) => child.kill(signal));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  exited.then(() => untrack(child.pid));
  let out = '';
  const url = await withTimeout(
    new Promise((resolve, reject) => {
      child.stdout.on('data', (d) => {
        out += d;
        const m = /listening on (https?:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]);
      });
      exited.then(({ code }) => reject(new Error(`node exited (code ${code}) before listening; see ${logFile}`)));
    }),
    20_000,
    'node to listen',
  );
  child.stdout.resume();
  return {
    pid: child.pid,
    url,
    exited,
    async stop() {
      noteDescendants(child.pid);
      child.kill('SIGTERM');
      const r = await Promise.race([exited, sleep(5000).then(() => null)]);
      if (!r) child.kill('SIGKILL');
      await exited;
    },
  };
}

// ---- a minimal protocol client (shared/protocol: JSON text frames + binary frames) --
const SUBPROTOCOL = 'holdfast.v1';
const BEARER_PREFIX = 'holdfast.bearer.';
const FRAME_INPUT = 0x01;
const FRAME_ACK = 0x02;
const FRAME_OUTPUT = 0x81;
const OUTPUT_HEADER = 13;
const U32 = 0x1_0000_0000;

const wsUrl = (base) => base.replace(/^http/, 'ws') + '/ws';

function encodeInput(seq, bytes) {
  const frame = Buffer.alloc(5 + bytes.length);
  frame[0] = FRAME_INPUT;
  frame.writeUInt32BE(seq, 1);
  Buffer.from(bytes).copy(frame, 5);
  return frame;
}

function encodeAck(offset) {
  const frame = Buffer.alloc(9);
  frame[0] = FRAME_ACK;
  frame.writeUInt32BE(Math.floor(offset / U32), 1);
  frame.writeUInt32BE(offset % U32, 5);
  return frame;
}

let eventSeq = 0;
/** Part 11: the certificate of the bench's TLS node (`holdfast cert dev`), trusted as a CA by its clients. */
let benchCa = null;
class ProtoClient {
  static async open(baseUrl, token) {
    const protocols = [SUBPROTOCOL];
    if (token) protocols.push(BEARER_PREFIX + token);
    const tls = baseUrl.startsWith('https:') ? { ca: benchCa } : {};
    const client = new ProtoClient(new WebSocket(wsUrl(baseUrl), protocols, { perMessageDeflate: false, maxPayload: 64 << 20, ...tls }));
    await withTimeout(client.welcomed, 10_000, 'welcome');
    return client;
  }

  constructor(ws) {
    this.ws = ws;
    this.nextId = 1;
    this.pending = new Map();
    this.onOutput = null;
    this.onMessage = null;
    this.closeInfo = null;
    this.problems = [];
    this.welcomed = new Promise((resolve, reject) => {
      this.resolveWelcome = resolve;
      this.rejectWelcome = reject;
    });
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.closeInfo = { code, reason: reason.toString(), seq: ++eventSeq };
        this.rejectWelcome(new Error(`closed before welcome: ${code} ${reason}`));
        for (const [, p] of this.pending) p.reject(new Error(`connection closed (${code} ${reason}) awaiting ${p.expect}`));
        this.pending.clear();
        resolve(this.closeInfo);
      });
    });
    ws.on('error', (error) => this.problems.push(`socket error: ${error.message}`));
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        // A Buffer as it came (no copy: a client reads frames in place, as the web client does).
        const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
        if (buf.length < OUTPUT_HEADER || buf[0] !== FRAME_OUTPUT) {
          this.problems.push(`unexpected binary frame type 0x${buf[0]?.toString(16)}`);
          return;
        }
        const inputAck = buf.readUInt32BE(1);
        const offset = buf.readUInt32BE(5) * U32 + buf.readUInt32BE(9);
        this.onOutput?.(buf.subarray(OUTPUT_HEADER), offset, inputAck);
        return;
      }
      let message;
      try {
        message = JSON.parse(data.toString('utf8'));
      } catch {
        this.problems.push('server sent a text frame that is not JSON');
        return;
      }
      if (message.type === 'welcome') return this.resolveWelcome(message);
      if (typeof message.id === 'number' && this.pending.has(message.id)) {
        const p = this.pending.get(message.id);
        this.pending.delete(message.id);
        if (message.type === p.expect) p.resolve(message);
        else p.reject(new Error(`${p.expect} expected, got ${message.type}: ${message.message ?? ''}`));
        return;
      }
      this.onMessage?.(message);
    });
  }

  request(message, expect, ms = 30_000) {
    const id = this.nextId++;
    const reply = new Promise((resolve, reject) => this.pending.set(id, { resolve, reject, expect }));
    this.ws.send(JSON.stringify({ ...message, id }));
    return withTimeout(reply, ms, `${message.type} → ${expect}`);
  }

  send(frame) {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(frame);
  }

  close(code = 1000) {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close(code, 'bench done');
    return withTimeout(this.closed, 5000, 'websocket close').catch(() => {
      this.ws.terminate();
      return this.closed;
    });
  }
}

async function signIn(url) {
  const c = await ProtoClient.open(url);
  const reply = await c.request({ type: 'auth.signIn', user: USER, password: PASSWORD }, 'auth.signedIn');
  return { control: c, token: reply.accessToken };
}

/**
 * One session on its own connection. Acknowledges output as the session core does
 * (every window/4 bytes, else after 50 ms) unless `ack` is false; keeps the output if
 * `keep`; records offset gaps, the exit message and the close, in arrival order.
 */
class ProtoSession {
  static async launch(url, token, appId, { ack = true, keep = false, cols = 80, rows = 24 } = {}) {
    const client = await ProtoClient.open(url, token);
    const session = new ProtoSession(client, { ack, keep });
    session.tLaunch = nowNs();
    const started = await client.request({ type: 'session.launch', appId, cols, rows }, 'session.started');
    session.tStarted = nowNs();
    session.started = started;
    session.window = started.window;
    session.ackEvery = Math.max(1, Math.floor(started.window / 4));
    return session;
  }

  constructor(client, { ack, keep }) {
    this.client = client;
    this.ackEnabled = ack;
    this.keep = keep;
    this.chunks = [];
    this.received = 0;
    this.acked = 0;
    this.inputSeq = 0;
    this.inputAck = 0;
    this.gaps = [];
    this.exited = null;
    this.errors = [];
    this.outputAfterExit = 0;
    this.tFirstOutput = null;
    this.onData = null;
    this.exitWaiters = [];
    client.onOutput = (data, offset, inputAck) => {
      if (this.tFirstOutput === null && data.length > 0) this.tFirstOutput = nowNs();
      if (offset !== this.received) this.gaps.push({ expected: this.received, got: offset });
      if (this.exited) this.outputAfterExit += data.length;
      this.received = offset + data.length;
      if (inputAck > this.inputAck) this.inputAck = inputAck;
      if (this.keep) this.chunks.push(Buffer.from(data));
      this.onData?.(data);
      if (this.ackEnabled) this.maybeAck();
    };
    client.onMessage = (message) => {
      if (message.type === 'session.exited') {
        this.exited = { ...message, seq: ++eventSeq, receivedAtExit: this.received };
        for (const w of this.exitWaiters) w();
      } else if (message.type === 'error') this.errors.push(message);
    };
  }

  maybeAck() {
    if (this.received - this.acked >= this.ackEvery) return this.ackNow();
    this.ackTimer ??= setTimeout(() => this.ackNow(), 50);
  }

  ackNow() {
    clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    if (this.received === this.acked) return;
    this.acked = this.received;
    this.client.send(encodeAck(this.acked));
  }

  resumeAcks() {
    this.ackEnabled = true;
    this.ackNow();
  }

  input(bytes) {
    this.inputSeq += 1;
    this.client.send(encodeInput(this.inputSeq, bytes));
  }

  output() {
    return Buffer.concat(this.chunks);
  }

  waitExit(ms) {
    const exited = this.exited ? Promise.resolve() : new Promise((resolve) => this.exitWaiters.push(resolve));
    return withTimeout(Promise.all([exited, this.client.closed]), ms, 'session exit and close');
  }

  /**
   * Ends the session on purpose and closes. A broker with session hold only detaches a
   * session whose socket closes, so ask for the end first (`session.end`); one without
   * it refuses the message and closes, which ends the session there too.
   */
  async close() {
    clearTimeout(this.ackTimer);
    if (!this.exited && this.client.closeInfo === null) {
      this.client.send(JSON.stringify({ type: 'session.end' }));
      await Promise.race([this.client.closed, sleep(3000)]);
    }
    return this.client.close();
  }
}

// ---- the CLI in a PTY, and bare PTYs ------------------------------------------------
const cliEnv = () => {
  const env = { ...process.env, TERM: 'xterm-256color' };
  delete env.HOLDFAST_LOG_LEVEL;
  return env;
};

/** A node-pty terminal with a swappable data listener and an exit promise. */
function openPty(file, args, { cols = 80, rows = 24, label = file, env = cliEnv() } = {}) {
  const term = pty.spawn(file, args, { name: 'xterm-256color', cols, rows, cwd: ROOT, env, encoding: null });
  track(term.pid, label, (signal) => term.kill(signal));
  const h = { term, pid: term.pid, listener: null, text: '', exitInfo: null };
  h.exit = new Promise((resolve) =>
    term.onExit((e) => {
      untrack(term.pid);
      h.exitInfo = e;
      resolve(e);
    }),
  );
  term.onData((data) => {
    if (h.listener) h.listener(data);
    else h.text = (h.text + data.toString('latin1')).slice(-4096);
  });
  h.waitText = async (pattern, ms, what) => {
    await until(() => pattern.test(h.text), ms, what ?? String(pattern));
  };
  h.kill = () => {
    try {
      term.kill('SIGKILL');
    } catch {
      /* gone */
    }
    return Promise.race([h.exit, sleep(2000)]);
  };
  return h;
}

/** `holdfast connect` in a PTY, past its password prompt (typed, no echo, as a person would). */
async function openCliPty(url, appId, opts = {}) {
  const h = openPty(process.execPath, [...nodeFlags('BENCH_CLI_FLAGS'), CLI, 'connect', '--broker', url, '--user', USER, '--app', appId], { label: `cli:${appId}`, ...opts });
  await h.waitText(/Password for bench: /, 15_000, 'the CLI password prompt');
  h.term.write(PASSWORD + '\r');
  return h;
}

// ---- 1. sign-in → app list -------------------------------------------------------
async function benchSignIn(url, passwordHash) {
  const connect = [];
  const signInMs = [];
  const listMs = [];
  const total = [];
  for (let i = 0; i < N.signIns + 2; i++) {
    const t0 = nowNs();
    const c = await ProtoClient.open(url);
    const t1 = nowNs();
    await c.request({ type: 'auth.signIn', user: USER, password: PASSWORD }, 'auth.signedIn');
    const t2 = nowNs();
    const list = await c.request({ type: 'apps.list' }, 'apps.list.ok');
    const t3 = nowNs();
    await c.close();
    if (list.apps.length !== APPS.length) throw new Error(`apps.list returned ${list.apps.length} apps, expected ${APPS.length}`);
    if (i < 2) continue; // warm-up
    connect.push(Number(t1 - t0) / 1e6);
    signInMs.push(Number(t2 - t1) / 1e6);
    listMs.push(Number(t3 - t2) / 1e6);
    total.push(Number(t3 - t1) / 1e6);
  }
  // What the password hash alone costs, in this process, for attribution.
  const [, n, r, p] = passwordHash.split('$').map(Number);
  const scryptMs = [];
  for (let i = 0; i < 10; i++) {
    const t0 = nowNs();
    await new Promise((resolve, reject) =>
      scrypt(PASSWORD, Buffer.alloc(16), 32, { N: n, r, p, maxmem: 256 * 1024 * 1024 }, (e) => (e ? reject(e) : resolve())),
    );
    scryptMs.push(msSince(t0));
  }
  return {
    runs: total.length,
    signInToAppListMs: roundStats(stats(total), 2),
    connectToWelcomeMs: roundStats(stats(connect), 2),
    signInOnlyMs: roundStats(stats(signInMs), 2),
    appsListOnlyMs: roundStats(stats(listMs), 2),
    scryptAloneMs: roundStats(stats(scryptMs), 2),
    passwordHashCost: { N: n, r, p },
  };
}

// ---- 2. launch → first output ------------------------------------------------------
async function waitSandboxesGone(nodePid, ms = 10_000) {
  await until(() => descendants(nodePid).length === 0, ms, 'sandbox processes to exit', 5);
}

async function benchLaunch(url, token, nodePid) {
  const started = [];
  const first = [];
  const teardown = [];
  for (let i = 0; i < N.launches + 3; i++) {
    const s = await ProtoSession.launch(url, token, 'ready');
    await until(() => s.tFirstOutput !== null, 10_000, 'first output of "ready"');
    const text = s.received > 0 ? 'ok' : '';
    noteDescendants(nodePid);
    const tClose = nowNs();
    await s.close();
    await waitSandboxesGone(nodePid);
    if (!text) throw new Error('no output');
    if (i < 3) continue;
    started.push(Number(s.tStarted - s.tLaunch) / 1e6);
    first.push(Number(s.tFirstOutput - s.tLaunch) / 1e6);
    teardown.push(msSince(tClose));
  }
  return {
    runs: first.length,
    launchToFirstOutputMs: roundStats(stats(first), 2),
    launchToStartedMs: roundStats(stats(started), 2),
    closeToSandboxGoneMs: roundStats(stats(teardown), 2),
  };
}

// ---- 3. keystroke echo -------------------------------------------------------------
/**
 * Types one byte at a time into `h` and times until that byte comes back. The apps
 * are `cat` behind a PTY in canonical mode, so the echo is the app PTY's line
 * discipline. Every 64 bytes a CR ends the line (untimed) so the line never fills.
 */
async function echoRun(h, count, samples) {
  let line = '';
  for (let i = 0; i < count; i++) {
    const byte = 97 + (i % 26);
    const ch = String.fromCharCode(byte);
    const us = await withTimeout(
      new Promise((resolve) => {
        let t0;
        h.listener = (data) => {
          if (data.includes(byte)) {
            const t1 = nowNs();
            h.listener = null;
            resolve(Number(t1 - t0) / 1000);
          }
        };
        t0 = nowNs();
        h.term.write(ch);
      }),
      5000,
      `echo of ${JSON.stringify(ch)}`,
    );
    samples?.push(us);
    line += ch;
    if (line.length >= 64) {
      let seen = '';
      const done = new RegExp(`${line}\\r+\\n$`);
      await withTimeout(
        new Promise((resolve) => {
          h.listener = (data) => {
            seen += data.toString('latin1');
            if (done.test(seen)) {
              h.listener = null;
              resolve();
            }
          };
          h.term.write('\r');
        }),
        5000,
        'line flush',
      );
      line = '';
    }
  }
}

/** The same loop over the bench's own protocol client: broker + sandbox, no CLI, no client PTY. */
async function echoRunProto(s, count, samples) {
  let line = '';
  for (let i = 0; i < count; i++) {
    const byte = 97 + (i % 26);
    const us = await withTimeout(
      new Promise((resolve) => {
        let t0;
        s.onData = (data) => {
          if (data.includes(byte)) {
            const t1 = nowNs();
            s.onData = null;
            resolve(Number(t1 - t0) / 1000);
          }
        };
        t0 = nowNs();
        s.input(Buffer.of(byte));
      }),
      5000,
      'protocol echo',
    );
    samples?.push(us);
    line += String.fromCharCode(byte);
    if (line.length >= 64) {
      let seen = '';
      const done = new RegExp(`${line}\\r+\\n$`);
      await withTimeout(
        new Promise((resolve) => {
          s.onData = (data) => {
            seen += data.toString('latin1');
            if (done.test(seen)) {
              s.onData = null;
              resolve();
            }
          };
          s.input(Buffer.from('\r'));
        }),
        5000,
        'protocol line flush',
      );
      line = '';
    }
  }
}

/**
 * The terminal hop of `holdfast connect` alone: a Node process in a PTY that writes each
 * read of its raw-mode stdin back to its terminal as the CLI writes output (a
 * non-blocking description of its own). A CR ends the line as `cat` behind a PTY
 * does (the line echoed again after CR LF), so echoRun drives it like the others. No
 * network and no app: what the CLI path pays on top of the protocol client's.
 */
const RELAY_JS = `const fs = require('fs');
process.stdin.setRawMode(true);
const fd = fs.openSync('/proc/self/fd/1', fs.constants.O_WRONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY);
let line = '';
process.stdin.on('data', (d) => {
  let out = d;
  if (d.includes(13)) {
    out = Buffer.from('\\r\\n' + line + '\\r\\n', 'latin1');
    line = '';
  } else line += d.toString('latin1');
  try { fs.writeSync(fd, out); } catch {}
});
process.stdin.resume();
process.stdout.write('relay ready\\n');`;

async function benchEcho(url, token) {
  const floor = openPty('/bin/cat', [], { label: 'floor:cat' });
  const relay = openPty(process.execPath, ['-e', RELAY_JS], { label: 'floor:relay' });
  const cli = await openCliPty(url, 'ready');
  const proto = await ProtoSession.launch(url, token, 'ready');
  try {
    await cli.waitText(/ready\r*\n/, 15_000, '"ready" from the app through the CLI');
    await relay.waitText(/relay ready\r*\n/, 15_000, 'the relay floor to start');
    await until(() => proto.received >= 'ready\r\n'.length, 15_000, '"ready" through the protocol client');
    await sleep(400); // let the CLI finish entering raw mode
    await echoRun(floor, N.echoWarmup);
    await echoRun(relay, N.echoWarmup);
    await echoRun(cli, N.echoWarmup);
    await echoRunProto(proto, N.echoWarmup);
    const floorUs = [];
    const relayUs = [];
    const holdfastUs = [];
    const protoUs = [];
    const per = Math.ceil(N.echoSamples / N.echoBlocks);
    for (let b = 0; b < N.echoBlocks; b++) {
      await echoRun(floor, per, floorUs);
      await echoRun(cli, per, holdfastUs);
      await echoRunProto(proto, Math.ceil(per / 2), protoUs);
      await echoRun(relay, Math.ceil(per / 2), relayUs);
    }
    const h = stats(holdfastUs);
    const f = stats(floorUs);
    return {
      method:
        'byte-at-a-time, next byte as soon as the echo is back (blocks of floor / holdfast / protocol / relay interleaved). holdfast = `holdfast connect` in a node-pty → ws → broker → sandboxed `sh -c "echo ready; exec cat"` (cat after exec; the echo is its PTY line discipline); floor = node-pty running /bin/cat in this process; protocol = the bench ws client instead of CLI + client PTY; relay floor = a Node process in a node-pty writing its raw stdin back to its terminal as the CLI writes (the CLI\'s terminal hop with no network and no app)',
      holdfastUs: roundStats(h),
      floorUs: roundStats(f),
      protocolClientUs: roundStats(stats(protoUs)),
      relayFloorUs: roundStats(stats(relayUs)),
      ratioP50: round(h.p50 / f.p50, 2),
      ratioP99: round(h.p99 / f.p99, 2),
      budgetP50Us: BUDGET.echoP50Us,
      withinBudget: h.p50 <= BUDGET.echoP50Us,
      samples: { holdfastUs: holdfastUs.map((v) => round(v)), floorUs: floorUs.map((v) => round(v)), protocolClientUs: protoUs.map((v) => round(v)), relayFloorUs: relayUs.map((v) => round(v)) },
    };
  } finally {
    // End the apps the way a person would (EOF to cat), so the sessions end rather
    // than wait out a hold for a client that is gone.
    floor.term.write('\r\x04');
    cli.term.write('\r');
    await sleep(50);
    cli.term.write('\x04');
    await proto.close();
    await Promise.race([cli.exit, sleep(3000)]);
    await cli.kill();
    await floor.kill();
    await relay.kill();
  }
}

// ---- 4. throughput -----------------------------------------------------------------
const XS = Buffer.alloc(1 << 20, 'x');

/** Counts the 'x' stream: verifies every byte after the first 'x' is 'x' up to `total`. */
function xCounter(total) {
  const c = { count: 0, bad: 0, extraAfter: 0, tFirst: null, tLast: null, started: false };
  c.feed = (data) => {
    let buf = data;
    if (!c.started) {
      const at = buf.indexOf(0x78);
      if (at < 0) return;
      c.started = true;
      c.tFirst = nowNs();
      buf = buf.subarray(at);
    }
    const want = Math.min(buf.length, total - c.count);
    for (let at = 0; at < want; at += XS.length) {
      const n = Math.min(XS.length, want - at);
      if (buf.compare(XS, 0, n, at, at + n) !== 0) {
        for (let i = at; i < at + n; i++) {
          if (buf[i] === 0x78) continue;
          if (c.bad === 0) c.firstBad = { offset: c.count + i, context: JSON.stringify(buf.subarray(Math.max(0, i - 8), i + 72).toString('latin1')) };
          c.bad += 1;
        }
      }
    }
    c.count += want;
    if (want < buf.length) c.extraAfter += buf.length - want;
    if (c.count === total && c.tLast === null) c.tLast = nowNs();
  };
  c.result = (extra = {}) => {
    const seconds = c.tLast && c.tFirst ? Number(c.tLast - c.tFirst) / 1e9 : NaN;
    return {
      bytes: c.count,
      expectedBytes: total,
      bytesOk: c.count === total && c.bad === 0,
      nonXBytes: c.bad,
      firstNonX: c.firstBad,
      seconds: round(seconds, 3),
      MBs: round(total / 1024 / 1024 / seconds, 1),
      ...extra,
    };
  };
  return c;
}

/** CPU seconds (user, sys) a process spends from now on; sampled, as a CLI's /proc entry goes when it exits. */
function cpuMeter(pid, fromZero = false) {
  const read = () => {
    const s = procStat(pid);
    return s ? { user: s.utime / CLK_TCK, sys: s.stime / CLK_TCK } : null;
  };
  const start = fromZero ? { user: 0, sys: 0 } : read() ?? { user: 0, sys: 0 };
  let last = start;
  const timer = setInterval(() => (last = read() ?? last), 25);
  return {
    stop() {
      clearInterval(timer);
      last = read() ?? last;
      return { user: round(last.user - start.user, 2), sys: round(last.sys - start.sys, 2) };
    },
  };
}

function selfMeter() {
  const start = process.cpuUsage();
  return {
    stop() {
      const d = process.cpuUsage(start);
      return { user: round(d.user / 1e6, 2), sys: round(d.system / 1e6, 2) };
    },
  };
}

async function benchThroughput(url, token, nodePid) {
  const results = {};
  const total = N.bulkBytes;

  // Floor: a bare node-pty running the same pipeline, no sandbox, no network.
  {
    const c = xCounter(total);
    const self = selfMeter();
    let reads = 0;
    // The shell lingers after the data so the PTY stays open until every byte is read
    // (on this kernel a PTY can report EOF before the last bytes of a dead writer are in).
    const h = openPty('/bin/sh', ['-c', `${BULK_CMD}; sleep 30`], { label: 'floor:bulk' });
    h.listener = (d) => {
      reads += 1;
      c.feed(d);
    };
    await until(() => c.count >= total || h.exitInfo !== null, 120_000, 'floor bulk output', 20);
    await h.kill();
    results.floorPty = c.result({ what: 'node-pty running the same sh pipeline directly, read in this process', readerCpu: self.stop(), reads });
  }

  // The CLI in a PTY: the whole stack as a person's terminal sees it.
  {
    const c = xCounter(total);
    const broker = cpuMeter(nodePid);
    const self = selfMeter();
    const h = await openCliPty(url, 'bulk');
    const cli = cpuMeter(h.pid, true);
    h.listener = c.feed;
    const exit = await withTimeout(h.exit, 120_000, 'CLI (pty) bulk output');
    results.cliPty = c.result({
      what: '`holdfast connect` with its stdout on a PTY (node-pty) read by this process',
      cliExitCode: exit.exitCode,
      brokerCpu: broker.stop(),
      cliCpu: cli.stop(),
      readerCpu: self.stop(),
    });
    await waitSandboxesGone(nodePid);
  }

  // The CLI with stdout on a pipe drained as fast as possible.
  {
    const c = xCounter(total);
    const broker = cpuMeter(nodePid);
    const self = selfMeter();
    const child = spawn(process.execPath, [...nodeFlags('BENCH_CLI_FLAGS'), CLI, 'connect', '--broker', url, '--user', USER, '--app', 'bulk', '--password-stdin'], {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: cliEnv(),
    });
    track(child.pid, 'cli:pipe', (signal) => child.kill(signal));
    const cli = cpuMeter(child.pid, true);
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.on('data', c.feed);
    child.stdin.write(PASSWORD + '\n');
    const exit = await withTimeout(new Promise((resolve) => child.once('exit', (code) => resolve(code))), 120_000, 'CLI (pipe) bulk output');
    const cliCpu = cli.stop();
    untrack(child.pid);
    child.stdin.destroy();
    results.cliPipe = c.result({
      what: '`holdfast connect` with stdout on a pipe this process drains',
      cliExitCode: exit,
      stderr: stderr.trim().slice(0, 300),
      brokerCpu: broker.stop(),
      cliCpu,
      readerCpu: self.stop(),
    });
    await waitSandboxesGone(nodePid);
  }

  // The bench's own protocol client: broker + sandbox only, no CLI, no client PTY.
  {
    const c = xCounter(total);
    const broker = cpuMeter(nodePid);
    const self = selfMeter();
    let frames = 0;
    const s = await ProtoSession.launch(url, token, 'bulk');
    s.onData = (d) => {
      frames += 1;
      c.feed(d);
    };
    await s.waitExit(120_000);
    results.protocolClient = c.result({
      what: 'the bench protocol client (ws), acks every window/4 like the session core',
      exitCode: s.exited?.exitCode,
      closeCode: s.client.closeInfo?.code,
      outputFrames: frames,
      meanFrameBytes: Math.round(total / frames),
      brokerCpu: broker.stop(),
      readerCpu: self.stop(),
    });
    await waitSandboxesGone(nodePid);
  }
  const budget = BUDGET.throughputMBs;
  results.budgetMBs = budget;
  results.ratioCliPtyToFloor = round(results.cliPty.MBs / results.floorPty.MBs, 2);
  results.ratioCliPipeToFloor = round(results.cliPipe.MBs / results.floorPty.MBs, 2);
  return results;
}

// ---- 11. TLS: what https/wss costs ----------------------------------------------------
/**
 * A second node with the same catalog and node.tls (a pair from `holdfast cert dev`),
 * next to the plain one: connect → welcome, keystroke echo and 100 MiB of output over
 * wss against ws, in alternating blocks of one run.
 */
async function benchTls(dir, passwordHash, plain) {
  const tlsDir = join(dir, 'tls');
  const made = spawnSync(process.execPath, [CLI, 'cert', 'dev', '--out', tlsDir], { encoding: 'utf8', timeout: 30_000 });
  if (made.status !== 0) throw new Error(`holdfast cert dev failed: ${made.stderr}`);
  benchCa = readFileSync(join(tlsDir, 'holdfast-dev.crt'));
  const config = {
    node: { name: 'bench-tls', listen: { host: '127.0.0.1', port: 0 }, stateDir: join(dir, 'state-tls'), tls: { certFile: join(tlsDir, 'holdfast-dev.crt'), keyFile: join(tlsDir, 'holdfast-dev.key') } },
    users: [{ name: USER, displayName: 'Bench', passwordHash }],
    apps: APPS,
    entitlements: [{ users: [USER], apps: APPS.map((a) => a.id) }],
  };
  const file = join(dir, 'node-tls.yaml');
  writeFileSync(file, YAML.stringify(config));
  const secure = await startNode(file, join(dir, 'node-tls.log'));
  const closers = [];
  try {
    const { control, token } = await signIn(secure.url);
    closers.push(() => control.close());
    const paths = [
      { name: 'ws', url: plain.url, token: plain.token, pid: plain.pid },
      { name: 'wss', url: secure.url, token, pid: secure.pid },
    ];
    // Connect → welcome: TCP, (TLS,) the upgrade with a token, the welcome frame.
    const connectMs = { ws: [], wss: [] };
    for (let i = 0; i < (QUICK ? 10 : 40); i++) {
      for (const path of i % 2 ? [...paths].reverse() : paths) {
        const t0 = nowNs();
        const c = await ProtoClient.open(path.url, path.token);
        connectMs[path.name].push(Number(nowNs() - t0) / 1e6);
        await c.close();
      }
    }
    // Keystroke echo through each, ABBA blocks.
    const sessions = {};
    for (const path of paths) {
      const s = await ProtoSession.launch(path.url, path.token, 'ready');
      // Ended as a person would (EOF to cat), so the session does not wait out its hold.
      closers.push(async () => {
        s.input(Buffer.from('\r\x04'));
        await sleep(50);
        await s.close();
      });
      await until(() => s.received >= 'ready\r\n'.length, 15_000, `"ready" over ${path.name}`);
      await echoRunProto(s, N.echoWarmup);
      sessions[path.name] = s;
    }
    const echoUs = { ws: [], wss: [] };
    const per = Math.ceil(N.echoSamples / 8);
    for (let b = 0; b < 8; b++) {
      const order = b % 4 === 0 || b % 4 === 3 ? ['ws', 'wss'] : ['wss', 'ws'];
      for (const name of order) await echoRunProto(sessions[name], per, echoUs[name]);
    }
    // The echo sessions end (EOF to cat) before the output runs, which wait for their own sandbox alone.
    for (const close of closers.splice(1).reverse()) await close().catch(() => {});
    for (const path of paths) await waitSandboxesGone(path.pid);
    // 100 MiB of output to the protocol client, twice each, alternating.
    const throughput = { ws: [], wss: [] };
    for (const name of ['ws', 'wss', 'wss', 'ws']) {
      const path = paths.find((p) => p.name === name);
      const c = xCounter(N.bulkBytes);
      const broker = cpuMeter(path.pid);
      const s = await ProtoSession.launch(path.url, path.token, 'bulk');
      s.onData = (d) => c.feed(d);
      await s.waitExit(120_000);
      throughput[name].push({ ...c.result({ what: `protocol client over ${name}` }), brokerCpu: broker.stop() });
      await waitSandboxesGone(path.pid);
    }
    const mbs = (name) => round(throughput[name].reduce((sum, r) => sum + r.MBs, 0) / throughput[name].length, 1);
    const ws = stats(echoUs.ws);
    const wss = stats(echoUs.wss);
    const cws = stats(connectMs.ws);
    const cwss = stats(connectMs.wss);
    return {
      method: 'a second node with node.tls (ECDSA P-256 from holdfast cert dev; TLS 1.3, the client trusting the certificate as a CA) beside the plain node, same machine and catalog; the bench protocol client on each, alternating',
      connectMs: { ws: roundStats(cws, 2), wss: roundStats(cwss, 2), ratioP50: round(cwss.p50 / cws.p50, 2) },
      echoUs: { ws: roundStats(ws), wss: roundStats(wss), addedP50Us: round(wss.p50 - ws.p50), ratioP50: round(wss.p50 / ws.p50, 2), ratioP99: round(wss.p99 / ws.p99, 2) },
      throughputMBs: { ws: mbs('ws'), wss: mbs('wss'), ratio: round(mbs('wss') / mbs('ws'), 2), runs: throughput },
    };
  } finally {
    for (const close of closers.reverse()) await close().catch(() => {});
    noteDescendants(secure.pid);
    await secure.stop();
  }
}

// ---- 5. memory per idle session -----------------------------------------------------
function sandboxTotals(nodePid) {
  const procs = descendants(nodePid);
  let rss = 0;
  let pss = 0;
  for (const p of procs) {
    rss += statusKb(p.pid, 'VmRSS');
    pss += pssKb(p.pid);
  }
  const comms = {};
  for (const p of procs) comms[p.comm] = (comms[p.comm] ?? 0) + 1;
  return { processes: procs.length, rssKb: rss, pssKb: pss, comms };
}

async function benchMemory(configFile, logFile) {
  const node = await startNode(configFile, logFile);
  const sessions = [];
  try {
    const { control, token } = await signIn(node.url);
    // Warm up the launch path once, then take the baseline.
    const warm = await ProtoSession.launch(node.url, token, 'cat');
    await sleep(200);
    await warm.close();
    await waitSandboxesGone(node.pid);
    await sleep(1000);
    const base = { rssKb: statusKb(node.pid, 'VmRSS'), pssKb: pssKb(node.pid) };
    const levels = [];
    for (const target of N.memoryLevels) {
      const t0 = nowNs();
      while (sessions.length < target) {
        const batch = Math.min(4, target - sessions.length);
        const opened = await Promise.all(Array.from({ length: batch }, () => ProtoSession.launch(node.url, token, 'cat')));
        sessions.push(...opened);
      }
      const launchSeconds = msSince(t0) / 1000;
      // cat in a sandbox is 3 processes (bwrap, bwrap as pid 1, cat); wait for all to be up.
      await sleep(1500);
      noteDescendants(node.pid);
      const broker = { rssKb: statusKb(node.pid, 'VmRSS'), pssKb: pssKb(node.pid) };
      const sandboxes = sandboxTotals(node.pid);
      levels.push({
        sessions: target,
        launchSeconds: round(launchSeconds, 2),
        brokerRssKb: broker.rssKb,
        brokerPssKb: broker.pssKb,
        brokerRssDeltaPerSessionKb: round((broker.rssKb - base.rssKb) / target, 1),
        brokerPssDeltaPerSessionKb: round((broker.pssKb - base.pssKb) / target, 1),
        sandboxProcesses: sandboxes.processes,
        sandboxProcessesByName: sandboxes.comms,
        sandboxRssPerSessionKb: round(sandboxes.rssKb / target, 1),
        sandboxPssPerSessionKb: round(sandboxes.pssKb / target, 1),
      });
    }
    // Every idle session still answers: one keystroke each, echoed by its PTY.
    let echoed = 0;
    await Promise.all(
      sessions.map(async (s) => {
        const got = new Promise((resolve) => {
          s.onData = (d) => {
            if (d.includes(0x71)) resolve();
          };
        });
        s.input(Buffer.from('q'));
        await withTimeout(got, 10_000, 'echo from an idle session').then(() => (echoed += 1), () => {});
      }),
    );
    const tClose = nowNs();
    await Promise.all(sessions.splice(0).map((s) => s.close()));
    await waitSandboxesGone(node.pid, 30_000);
    const teardownSeconds = msSince(tClose) / 1000;
    await sleep(1000);
    await control.close();
    return {
      baseline: base,
      levels,
      allSessionsEchoed: { echoed, of: N.memoryLevels.at(-1) },
      teardownSeconds: round(teardownSeconds, 2),
      brokerRssAfterTeardownKb: statusKb(node.pid, 'VmRSS'),
      note: 'broker: VmRSS/PSS of the node process minus its baseline, divided by sessions (includes heap not yet collected); sandboxes: sum over every descendant process of the node (prlimit→bwrap, bwrap pid 1, cat), divided by sessions',
    };
  } finally {
    await Promise.all(sessions.map((s) => s.close()));
    await node.stop();
  }
}

// ---- 6. correctness checks ----------------------------------------------------------
const checks = [];
function check(name, pass, detail) {
  checks.push({ name, pass: Boolean(pass), detail });
}

function expectedTail(randomBytes) {
  const b64 = 4 * Math.ceil(randomBytes / 3);
  const lines = Math.ceil(b64 / 76);
  return b64 + 2 * lines + 'END-MARKER\r\n'.length;
}

function verifyTail(text, randomBytes) {
  const expected = expectedTail(randomBytes);
  const lines = text.split('\r\n');
  const problems = [];
  if (text.length !== expected) problems.push(`length ${text.length}, expected ${expected}`);
  if (!text.endsWith('END-MARKER\r\n')) problems.push(`ends with ${JSON.stringify(text.slice(-24))}`);
  const body = lines.slice(0, -2);
  const badLine = body.findIndex((l, i) => !/^[A-Za-z0-9+/=]+$/.test(l) || (i < body.length - 1 && l.length !== 76));
  if (badLine >= 0) problems.push(`line ${badLine + 1} is not a 76-column base64 line`);
  return { ok: problems.length === 0, expected, problems };
}

async function checkExitTail(url, token, nodePid, randomBytes, appId, slow) {
  const s = await ProtoSession.launch(url, token, appId, { keep: true, ack: !slow });
  let ackTimer;
  if (slow) {
    // A slow reader: nothing acknowledged for 1 s (the app is held at the window),
    // then one ack every 150 ms, so the app keeps hitting the window until it exits.
    await sleep(1000);
    ackTimer = setInterval(() => s.ackNow(), 150);
  }
  try {
    await s.waitExit(60_000);
  } finally {
    clearInterval(ackTimer);
  }
  const text = s.output().toString('latin1');
  const v = verifyTail(text, randomBytes);
  const exitBeforeClose = s.exited && s.client.closeInfo && s.exited.seq < s.client.closeInfo.seq;
  const pass = v.ok && s.gaps.length === 0 && s.exited?.exitCode === 0 && s.client.closeInfo?.code === 1000 && exitBeforeClose && s.outputAfterExit === 0;
  await waitSandboxesGone(nodePid);
  return {
    pass,
    detail: {
      received: text.length,
      expected: v.expected,
      problems: v.problems,
      offsetGaps: s.gaps.length,
      exitCode: s.exited?.exitCode,
      closeCode: s.client.closeInfo?.code,
      exitedBeforeClose: Boolean(exitBeforeClose),
      outputBytesAfterExit: s.outputAfterExit,
    },
  };
}

async function checkExitTailCli(url, nodePid) {
  const child = spawn(process.execPath, [CLI, 'connect', '--broker', url, '--user', USER, '--app', 'tail', '--password-stdin'], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: cliEnv(),
  });
  track(child.pid, 'cli:tail', (signal) => child.kill(signal));
  const out = [];
  let stderr = '';
  child.stdout.on('data', (d) => out.push(d));
  child.stderr.on('data', (d) => (stderr += d));
  child.stdin.write(PASSWORD + '\n');
  const code = await withTimeout(new Promise((resolve) => child.once('close', (c) => resolve(c))), 60_000, 'CLI tail app');
  untrack(child.pid);
  const text = Buffer.concat(out).toString('latin1');
  const v = verifyTail(text, N.tailRandomBytes);
  await waitSandboxesGone(nodePid);
  return { pass: v.ok && code === 0, detail: { received: text.length, expected: v.expected, problems: v.problems, cliExitCode: code, stderr: stderr.trim().slice(0, 200) } };
}

/** Lines "1".."n" then END-MARKER, in order, CRs ignored; returns what is wrong, if anything. */
function verifySeq(text, n) {
  const lines = text.replace(/\r/g, '').split('\n');
  if (lines.at(-1) === '') lines.pop();
  for (let i = 0; i < n; i++) {
    if (lines[i] !== String(i + 1)) return `line ${i + 1} is ${JSON.stringify((lines[i] ?? '<missing>').slice(0, 20))}, expected ${i + 1} (${lines.length} lines received)`;
  }
  if (lines[n] !== 'END-MARKER') return `after line ${n}: ${JSON.stringify((lines[n] ?? '<missing>').slice(0, 40))}, expected END-MARKER`;
  if (lines.length !== n + 1) return `${lines.length - n - 1} extra lines after END-MARKER`;
  return null;
}

function findSeq(nodePid, last) {
  const p = descendants(nodePid).find((d) => d.comm === 'seq' && cmdline(d.pid).at(-1) === String(last));
  return p ? procStat(p.pid) : null;
}

/** (b) via the protocol: no acks for the stall; the socket keeps being read (and ponged). */
async function checkStallProtocol(url, token, nodePid) {
  const s = await ProtoSession.launch(url, token, 'seqa', { keep: true, ack: false });
  const timeline = [];
  const t0 = Date.now();
  const sample = () => {
    const seq = findSeq(nodePid, N.seqLines);
    timeline.push({
      t: round((Date.now() - t0) / 1000, 1),
      received: s.received,
      appAlive: seq !== null,
      appState: seq?.state,
      appCpuTicks: seq ? seq.utime + seq.stime : null,
      connectionOpen: s.client.closeInfo === null,
      exited: s.exited !== null,
      brokerRssKb: statusKb(nodePid, 'VmRSS'),
    });
  };
  const early = Math.min(5000, N.stallMs / 3);
  await sleep(early);
  sample();
  while (Date.now() - t0 < N.stallMs) {
    await sleep(Math.min(5000, N.stallMs - (Date.now() - t0)));
    sample();
  }
  const first = timeline[0];
  const last = timeline.at(-1);
  const held =
    timeline.every((x) => x.connectionOpen && !x.exited && x.appAlive) &&
    last.received === first.received &&
    last.appCpuTicks === first.appCpuTicks &&
    first.received <= s.window + 1024 * 1024;
  s.resumeAcks();
  await s.waitExit(120_000);
  const text = s.output().toString('latin1');
  const problem = verifySeq(text, N.seqLines);
  await waitSandboxesGone(nodePid, 15_000).catch(() => {});
  return {
    pass: held && !problem && s.gaps.length === 0 && s.exited?.exitCode === 0 && s.client.closeInfo?.code === 1000,
    detail: {
      stallSeconds: N.stallMs / 1000,
      window: s.window,
      heldDuringStall: held,
      timeline,
      totalReceived: text.length,
      contentProblem: problem,
      offsetGaps: s.gaps.length,
      exitCode: s.exited?.exitCode,
      closeCode: s.client.closeInfo?.code,
      closeReason: s.client.closeInfo?.reason,
    },
  };
}

/** (b) through the whole stack: the CLI's terminal stops being read (a paused terminal). */
async function checkStallCli(url, nodePid) {
  const h = await openCliPty(url, 'seqb');
  const chunks = [];
  let started = false;
  let pre = '';
  h.listener = (d) => {
    if (!started) {
      pre += d.toString('latin1');
      const at = pre.search(/(^|\n)1\r/);
      if (at < 0) return;
      started = true;
      chunks.push(Buffer.from(pre.slice(pre.indexOf('1\r', at)), 'latin1'));
      return;
    }
    chunks.push(Buffer.from(d));
  };
  await until(() => started, 15_000, 'seq output through the CLI');
  h.term.pause();
  const timeline = [];
  const t0 = Date.now();
  while (Date.now() - t0 < N.stallMs) {
    await sleep(Math.min(5000, N.stallMs - (Date.now() - t0)));
    const seq = findSeq(nodePid, N.seqLines + 1);
    const cli = procStat(h.pid);
    timeline.push({
      t: round((Date.now() - t0) / 1000, 1),
      appAlive: seq !== null,
      appState: seq?.state,
      cliAlive: cli !== null && cli.state !== 'Z',
      cliState: cli?.state,
      cliWchan: cli ? wchan(h.pid) : null,
    });
  }
  h.term.resume();
  const exit = await withTimeout(h.exit, 120_000, 'CLI seq app to finish').catch(() => null);
  await sleep(100);
  const text = Buffer.concat(chunks).toString('latin1');
  const problem = verifySeq(text.replace(/\r*\nholdfast: [^\n]*\n?$/, '\n'), N.seqLines + 1);
  const held = timeline.every((x) => x.appAlive && x.cliAlive);
  const tailText = text.slice(-120);
  await waitSandboxesGone(nodePid, 15_000).catch(() => {});
  return {
    pass: held && !problem && exit?.exitCode === 0,
    detail: {
      stallSeconds: N.stallMs / 1000,
      heldDuringStall: held,
      timeline,
      cliExitCode: exit?.exitCode ?? null,
      contentProblem: problem,
      outputTail: tailText,
    },
  };
}

/** (b) through the CLI with stdout on a pipe nobody reads for a while (`holdfast connect … | less`). */
async function checkStallCliPipe(url, nodePid) {
  const child = spawn(process.execPath, [...nodeFlags('BENCH_CLI_FLAGS'), CLI, 'connect', '--broker', url, '--user', USER, '--app', 'seqc', '--password-stdin'], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: cliEnv(),
  });
  track(child.pid, 'cli:seqc', (signal) => child.kill(signal));
  const exited = new Promise((resolve) => child.once('close', (code) => resolve(code)));
  exited.then(() => untrack(child.pid));
  const chunks = [];
  let stderr = '';
  let got = 0;
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.on('data', (d) => {
    chunks.push(d);
    got += d.length;
  });
  child.stdin.write(PASSWORD + '\n');
  await until(() => got > 0, 15_000, 'seq output through the CLI (pipe)');
  child.stdout.pause();
  const timeline = [];
  const t0 = Date.now();
  while (Date.now() - t0 < N.stallMs) {
    await sleep(Math.min(5000, N.stallMs - (Date.now() - t0)));
    const seq = findSeq(nodePid, N.seqLines + 2);
    const cli = procStat(child.pid);
    timeline.push({
      t: round((Date.now() - t0) / 1000, 1),
      appAlive: seq !== null,
      appState: seq?.state,
      cliAlive: cli !== null && cli.state !== 'Z',
      cliState: cli?.state,
      cliWchan: cli ? wchan(child.pid) : null,
    });
  }
  child.stdout.resume();
  const code = await withTimeout(exited, 120_000, 'CLI (pipe) seq app to finish').catch(() => null);
  child.stdin.destroy();
  const text = Buffer.concat(chunks).toString('latin1');
  const problem = verifySeq(text, N.seqLines + 2);
  const held = timeline.every((x) => x.appAlive && x.cliAlive);
  await waitSandboxesGone(nodePid, 15_000).catch(() => {});
  return {
    pass: held && !problem && code === 0,
    detail: { stallSeconds: N.stallMs / 1000, heldDuringStall: held, timeline, cliExitCode: code, contentProblem: problem, stderr: stderr.trim().slice(0, 200) },
  };
}

// ---- report ------------------------------------------------------------------------
function table(rows, header) {
  const widths = header.map((h, i) => Math.max(String(h).length, ...rows.map((r) => String(r[i] ?? '').length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? String(c ?? '').padEnd(widths[i]) : String(c ?? '').padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const fmtMs = (v) => (typeof v === 'number' && !Number.isNaN(v) ? `${v.toFixed(v < 10 ? 2 : 1)} ms` : '—');
const fmtUs = (v) => (typeof v === 'number' && !Number.isNaN(v) ? `${v.toFixed(0)} µs` : '—');
const fmtMB = (v) => (typeof v === 'number' && !Number.isNaN(v) ? `${v.toFixed(1)} MB/s` : '—');
const fmtKb = (v) => (typeof v === 'number' && !Number.isNaN(v) ? `${(v / 1024).toFixed(2)} MiB` : '—');

function render(result) {
  const out = [];
  const m = result.machine;
  const src = result.source?.commit ? `  code ${result.source.commit}${result.source.modifiedFiles ? ` + ${result.source.modifiedFiles} modified files` : ''}` : '';
  out.push(`Holdfast bench  ${result.timestamp}${src}  node ${m.node}  ${m.cpus}× ${m.cpuModel}  Linux ${m.kernel}${QUICK ? '  (--quick)' : ''}`);
  const pct = (v) => (typeof v === 'number' ? `${Math.round(v * 100)} %` : '—');
  const r = result.results;
  const loads = [['signIn', '1'], ['launch', '2'], ['echo', '3'], ['throughput', '4'], ['memory', '5'], ['failover', '8'], ['replication', '9'], ['rfb', '10'], ['tls', '11']]
    .filter(([k]) => r[k]?.otherLoad)
    .map(([k, n]) => {
      const l = r[k].otherLoad;
      return `${n}: ${pct(l.foreign)}${l.foreign > 0.05 ? ` ⚠${l.top?.length ? ` (${l.top.slice(0, 2).join(', ')})` : ''}` : ''}`;
    });
  const noisy = [['signIn'], ['launch'], ['echo'], ['throughput'], ['memory'], ['failover'], ['replication'], ['rfb'], ['tls']].some(([k]) => (r[k]?.otherLoad?.foreign ?? 0) > 0.05);
  out.push(
    `Other load on this machine: ${pct(m.cpuBusyBeforeStart)} busy before start${m.waitedForQuietSeconds > 1 ? ` (after waiting ${m.waitedForQuietSeconds} s for quiet)` : ''}; ` +
      `CPU used by others during each part: ${loads.join(', ') || '—'}${noisy ? '  ⚠ parts marked ⚠ are skewed' : ''}`,
  );
  out.push('');
  const rows = [];
  const err = (k) => (result.errors[k] ? `ERROR: ${result.errors[k]}` : null);
  if (r.signIn) {
    const s = r.signIn;
    rows.push(['1  sign-in → app list', fmtMs(s.signInToAppListMs.p50), fmtMs(s.signInToAppListMs.p99), s.runs, `scrypt N=${s.passwordHashCost.N} alone: ${fmtMs(s.scryptAloneMs.p50)}`]);
    rows.push(['     of which auth.signIn', fmtMs(s.signInOnlyMs.p50), fmtMs(s.signInOnlyMs.p99), s.runs, '']);
    rows.push(['     of which apps.list', fmtMs(s.appsListOnlyMs.p50), fmtMs(s.appsListOnlyMs.p99), s.runs, '']);
    rows.push(['     (connect → welcome, before)', fmtMs(s.connectToWelcomeMs.p50), fmtMs(s.connectToWelcomeMs.p99), s.runs, '']);
  } else if (result.errors.signIn) rows.push(['1  sign-in → app list', err('signIn')]);
  if (r.launch) {
    const l = r.launch;
    rows.push(['2  launch → first output', fmtMs(l.launchToFirstOutputMs.p50), fmtMs(l.launchToFirstOutputMs.p99), l.runs, 'app: sh -c "echo ready; exec cat"']);
    rows.push(['     launch → session.started', fmtMs(l.launchToStartedMs.p50), fmtMs(l.launchToStartedMs.p99), l.runs, '']);
    rows.push(['     close → sandbox gone', fmtMs(l.closeToSandboxGoneMs.p50), fmtMs(l.closeToSandboxGoneMs.p99), l.runs, '']);
  } else if (result.errors.launch) rows.push(['2  launch → first output', err('launch')]);
  if (r.echo) {
    const e = r.echo;
    rows.push(['3  keystroke echo, holdfast CLI', fmtUs(e.holdfastUs.p50), fmtUs(e.holdfastUs.p99), e.holdfastUs.n, `budget p50 ≤ ${BUDGET.echoP50Us} µs: ${e.withinBudget ? 'within' : 'OVER'} (CLI PTY + ws + app PTY)`]);
    rows.push(['     floor: bare node-pty cat', fmtUs(e.floorUs.p50), fmtUs(e.floorUs.p99), e.floorUs.n, `ref: node-pty ${BUDGET.reference.nodePtyEchoP50Us} µs, ttyd ${BUDGET.reference.ttydEchoP50Us} µs`]);
    rows.push(['     protocol client (no CLI)', fmtUs(e.protocolClientUs.p50), fmtUs(e.protocolClientUs.p99), e.protocolClientUs.n, 'ws + app PTY: the ttyd-like path']);
    if (e.relayFloorUs) rows.push(['     floor: Node relay in a PTY', fmtUs(e.relayFloorUs.p50), fmtUs(e.relayFloorUs.p99), e.relayFloorUs.n, 'the CLI\'s terminal hop alone: no network, no app']);
    rows.push(['     ratio holdfast CLI / floor', `${e.ratioP50}×`, `${e.ratioP99}×`, '', '']);
  } else if (result.errors.echo) rows.push(['3  keystroke echo', err('echo')]);
  if (rows.length > 0) {
    out.push(table(rows.map((x) => (x.length === 2 ? [x[0], x[1], '', '', ''] : x)), ['Latency', 'p50', 'p99', 'n', 'notes']));
    out.push('');
  }

  if (r.throughput) {
    const t = r.throughput;
    const cpu = (x) => (x ? `${x.user}+${x.sys}` : '');
    const row = (name, x) => [
      name,
      fmtMB(x.MBs),
      `${x.seconds} s`,
      x.bytesOk ? 'ok' : `WRONG (${x.bytes}/${x.expectedBytes}, ${x.nonXBytes} bad)`,
      cpu(x.brokerCpu),
      cpu(x.cliCpu),
      cpu(x.readerCpu),
    ];
    const rows4 = [
      row('4  holdfast CLI → PTY', t.cliPty),
      row('   holdfast CLI → pipe', t.cliPipe),
      row('   protocol client (no CLI)', t.protocolClient),
      row('   floor: bare PTY', t.floorPty),
    ];
    out.push(table(rows4, ['Throughput, 100 MiB', 'rate', 'time', 'bytes', 'broker CPU s', 'CLI CPU s', 'reader CPU s']));
    out.push(`   budget ≥ ${t.budgetMBs} MB/s: CLI→PTY ${t.cliPty.MBs >= t.budgetMBs ? 'within' : 'UNDER'}, CLI→pipe ${t.cliPipe.MBs >= t.budgetMBs ? 'within' : 'UNDER'}; ref: ttyd ${BUDGET.reference.ttydMBs} MB/s, bare PTY ~${BUDGET.reference.barePtyMBs} MB/s`);
    out.push(`   vs floor: CLI→PTY ${t.ratioCliPtyToFloor}×, CLI→pipe ${t.ratioCliPipeToFloor}×; ${t.protocolClient.outputFrames} output frames (mean ${t.protocolClient.meanFrameBytes} B payload)`);
    out.push('   (MB = MiB; timed first → last byte received; CPU s = user+sys; reader = this bench process)');
    out.push('');
  } else if (result.errors.throughput) out.push(`4  throughput: ${err('throughput')}`, '');

  if (r.memory) {
    const mm = r.memory;
    const rows5 = mm.levels.map((l) => [
      `5  ${l.sessions} idle session${l.sessions === 1 ? '' : 's'}`,
      fmtKb(l.brokerRssDeltaPerSessionKb),
      fmtKb(l.brokerPssDeltaPerSessionKb),
      fmtKb(l.sandboxRssPerSessionKb),
      fmtKb(l.sandboxPssPerSessionKb),
      `${l.sandboxProcesses}`,
      fmtKb(l.brokerRssKb),
    ]);
    out.push(table(rows5, ['Memory per session', 'broker ΔRSS', 'broker ΔPSS', 'sandbox RSS', 'sandbox PSS', 'sandbox procs', 'broker RSS']));
    out.push(`   baseline broker RSS ${fmtKb(mm.baseline.rssKb)}; ${mm.allSessionsEchoed.echoed}/${mm.allSessionsEchoed.of} idle sessions echoed a keystroke; closing them all took ${mm.teardownSeconds} s; broker RSS after: ${fmtKb(mm.brokerRssAfterTeardownKb)}`);
    out.push('');
  } else if (result.errors.memory) out.push(`5  memory: ${err('memory')}`, '');

  const rs = result.results.resume;
  if (rs) {
    const r = rs.resumeAfterPathBackMs;
    out.push(`7  Resume (issue 3), ${rs.drops} black-holed paths, retried the moment the path returns`);
    out.push(`   path back → live session   p50 ${r.p50.toFixed(1)} ms   p99 ${r.p99.toFixed(1)} ms   budget p50 ≤ ${rs.budget.resumeP50Ms} ms: ${r.p50 <= rs.budget.resumeP50Ms ? 'ok' : 'OVER'}`);
    out.push(`   backoff wait the client had scheduled (reported apart): p50 ${rs.backoffWaitMs.p50} ms, p99 ${rs.backoffWaitMs.p99} ms`);
    out.push(`   snapshot size: 80×24 ${rs.snapshotBytes['80x24']} B, 200×60 ${rs.snapshotBytes['200x60']} B (screen + scrollback, xterm serialize)`);
    out.push('');
  } else if (result.errors.resume) out.push(`7  resume: ${err('resume')}`, '');

  const fo = result.results.failover;
  if (fo) {
    const st = fo.settings;
    const row = (name, x, note = '') => [name, fmtMs(x.ms.p50), fmtMs(x.ms.p99), fmtMs(x.ms.min), fmtMs(x.ms.max), `${x.ms.n ?? 0}${x.failed ? ` (+${x.failed} failed)` : ''}`, note];
    const ok = (v) => (v ? 'ok' : 'OVER');
    out.push(
      table(
        [
          row('8  kill -9 of the primary\'s node', fo.kill9, `budget p50 ≤ ${fo.budget.kill9P50Ms} ms: ${ok(fo.withinBudget.kill9P50)}, p99 ≤ ${fo.budget.kill9P99Ms} ms: ${ok(fo.withinBudget.kill9P99)}`),
          row('   SIGSTOP of the primary\'s node', fo.sigstop, `budget p99 ≤ ${fo.budget.sigstopP99Ms} ms (lease TTL + 1 s): ${ok(fo.withinBudget.sigstopP99)}`),
          row('   kill -9, client on the primary', fo.clientOnPrimary.kill9, 'the client\'s own node died'),
          row('   SIGSTOP, client on the primary', fo.clientOnPrimary.sigstop, ''),
          ...(fo.move ? [row('   planned move (drain) to the standby', fo.move, `${fo.moveVsKill9P50 ?? '?'}× kill -9's p50, same run`)] : []),
        ],
        ['Failover: fault → live output', 'p50', 'p99', 'min', 'max', 'n', 'notes'],
      ),
    );
    const at = (k) => [fo.kill9, fo.sigstop, ...(fo.move ? [fo.move] : [])].map((x) => fmtMs(x[k].p50)).join(' / ');
    out.push(`   timeline, p50 from the fault (kill -9 / SIGSTOP${fo.move ? ' / move' : ''}): client sees the link lost ${at('faultToLinkLostMs')} (then waits its backoff ${at('backoffScheduledMs')}); standby promoted ${at('faultToPromotedMs')} (promotion itself ${at('promotionMs')}); host logs the resume ${at('faultToResumedOnHostMs')}; client streaming ${at('faultToStreamingMs')}`);
    if (fo.move) out.push(`   link lost → live output, p50 (what the person sees as the reconnect overlay): kill -9 ${fmtMs(fo.kill9.linkLostToLiveMs.p50)}, SIGSTOP ${fmtMs(fo.sigstop.linkLostToLiveMs.p50)}, planned move ${fmtMs(fo.move.linkLostToLiveMs.p50)}`);
    out.push(`   client on the standby's node / the third node, p50: kill -9 ${fmtMs(fo.kill9.byGateway.standby.p50)} / ${fmtMs(fo.kill9.byGateway.other.p50)}; SIGSTOP ${fmtMs(fo.sigstop.byGateway.standby.p50)} / ${fmtMs(fo.sigstop.byGateway.other.p50)}`);
    out.push(`   3 nodes, 1 etcd member; heartbeatMs ${st.heartbeatMs} (client silence ${st.clientSilenceMs} ms), lease TTL ${st.leaseTtlMs} ms, keep-alive ${st.keepAliveMs} ms; faults per node: ${Object.entries(fo.faultedNodes).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    out.push(`   ${fo.anomalies.length} anomalies with node log lines in the JSON (slow or failed failovers, lost/doubled input); ${fo.sessionsNotWholeAgain} sessions did not get a joined standby back within 20 s (ended and replaced); ${fo.sessionsRetired} retired for long logs`);
    out.push('');
  } else if (result.errors.failover) out.push(`8  failover: ${err('failover')}`, '');

  const rp = result.results.replication;
  if (rp) {
    out.push(
      table(
        [
          ['9  2 replicas (primary + standby)', fmtUs(rp.twoReplicasUs.p50), fmtUs(rp.twoReplicasUs.p99), rp.twoReplicasUs.n, `primary ${rp.placement.twoReplicas.primary}, standby ${rp.placement.twoReplicas.standbys.join(', ')}${rp.placement.bothOnNode1Direct ? '' : ' ⚠ primaries not both on the node the clients use'}`],
          ['   1 replica (replicas: 1)', fmtUs(rp.oneReplicaUs.p50), fmtUs(rp.oneReplicaUs.p99), rp.oneReplicaUs.n, `primary ${rp.placement.oneReplica.primary}`],
          ['   added by replication', fmtUs(rp.addedP50Us), fmtUs(rp.addedP99Us), '', `budget p50 ≤ +${rp.budgetAddedP50Us} µs: ${rp.withinBudget ? 'within' : 'OVER'}`],
          ['   ratio 2 / 1', `${rp.ratioP50}×`, `${rp.ratioP99}×`, '', ''],
        ],
        ['Keystroke echo, cat, client on the primary\'s node', 'p50', 'p99', 'n', 'notes'],
      ),
    );
    out.push('');
  } else if (result.errors.replication) out.push(`9  replication: ${err('replication')}`, '');

  const gui = result.results.rfb;
  if (gui) {
    const f = gui.fps;
    const c = gui.fpsContinuous;
    const k = gui.keyToFrameMs;
    const row = (name, x, l) => [name, `${x.updatesPerSecond}/s`, `${(x.bytesPerUpdate / 1024).toFixed(1)} KiB`, fmtMB(x.MBs), `${Math.round(x.relayCpuShare * 100)} %`, l ? fmtMs(l.p50) : '', l ? fmtMs(l.p99) : '', l ? `${l.n ?? 0}` : ''];
    const ratioRow = (name, x, l) => [name, `${x.ratioUpdatesPerSecond}×`, `${x.ratioBytesPerUpdate}×`, `${x.ratioMBs}×`, '', l ? `${l.ratioP50}×` : '', l ? `${l.ratioP99}×` : '', ''];
    out.push(
      table(
        [
          row('10 continuous updates (as noVNC)', c.holdfast),
          row('   reference: websockify', c.reference),
          ratioRow('   ratio holdfast / reference', c),
          row('   one request at a time', f.holdfast, k.holdfast),
          row('   reference: websockify', f.reference, k.reference),
          ratioRow('   ratio holdfast / reference', f, k),
        ],
        [`GUI (RFB) ${gui.geometry}, same Xvnc`, 'updates', 'bytes/update', 'rate', 'relay CPU', 'key→frame p50', 'p99', 'presses'],
      ),
    );
    const enc = gui.encodingsSeen.preferredByBytes;
    const part = (v) => (v.fpsAtLeastReference && v.bytesPerUpdateAtMostReference ? 'within' : `NOT MET (fps ${v.fpsAtLeastReference ? 'ok' : 'below'}, bytes ${v.bytesPerUpdateAtMostReference ? 'ok' : 'above'})`);
    out.push(
      `   budget (fps ≥ reference and bytes/update ≤ reference, with continuous updates as noVNC runs): ${part(gui.budgetParts.continuous)}; one request at a time (diagnostic): ${part(gui.budgetParts.request)}; ` +
        `Xvnc's encoding by bytes: ${enc.holdfast} (holdfast) / ${enc.reference} (reference)`,
    );
    out.push('   one run moves these ratios by ±0.1: judge the budget over many runs, `npm run bench:pool -- bench-results/bench-*.json`');
    out.push(`   updates/s per block: continuous holdfast ${c.holdfast.perBlock.map((b) => b.updatesPerSecond).join(' ')}, reference ${c.reference.perBlock.map((b) => b.updatesPerSecond).join(' ')}; one request at a time holdfast ${f.holdfast.perBlock.map((b) => b.updatesPerSecond).join(' ')}, reference ${f.reference.perBlock.map((b) => b.updatesPerSecond).join(' ')}`);
    out.push(`   relay per update: CPU ${c.holdfast.relayCpuUsPerUpdate} / ${c.reference.relayCpuUsPerUpdate} µs (holdfast / websockify; in the kernel ${c.holdfast.relaySystemUsPerUpdate} / ${c.reference.relaySystemUsPerUpdate}) continuous, ${f.holdfast.relayCpuUsPerUpdate} / ${f.reference.relayCpuUsPerUpdate} µs (kernel ${f.holdfast.relaySystemUsPerUpdate} / ${f.reference.relaySystemUsPerUpdate}) one request at a time`);
    out.push(`   relay per read of the display (one message each): CPU ${c.holdfast.relayCpuUsPerMessage} / ${c.reference.relayCpuUsPerMessage} µs continuous (${c.holdfast.relayMessagesPerUpdate} / ${c.reference.relayMessagesPerUpdate} reads per update), ${f.holdfast.relayCpuUsPerMessage} / ${f.reference.relayCpuUsPerMessage} µs one request at a time (${f.holdfast.relayMessagesPerUpdate} / ${f.reference.relayMessagesPerUpdate}); the viewer's own CPU per update ${c.holdfast.viewerCpuUsPerUpdate} / ${c.reference.viewerCpuUsPerUpdate} µs continuous, ${f.holdfast.viewerCpuUsPerUpdate} / ${f.reference.viewerCpuUsPerUpdate} µs one request at a time; the node's read and write system calls per update ${c.holdfast.relayReadsPerUpdate ?? '—'} and ${c.holdfast.relayWritesPerUpdate ?? '—'} continuous, ${f.holdfast.relayReadsPerUpdate ?? '—'} and ${f.holdfast.relayWritesPerUpdate ?? '—'} one request at a time`);
    out.push(`   continuous: fences answered ${c.fencesAnswered.holdfast} / ${c.fencesAnswered.reference}; per update, gap after the last ${fmtMs(c.holdfast.requestToFirstByteMs)} / ${fmtMs(c.reference.requestToFirstByteMs)}, first → last byte ${fmtMs(c.holdfast.firstToLastByteMs)} / ${fmtMs(c.reference.firstToLastByteMs)}`);
    out.push(`   one request at a time: an update covers ${Math.round(f.holdfast.screenPerUpdate * 100)} % / ${Math.round(f.reference.screenPerUpdate * 100)} % of the screen (holdfast / reference); per update, request → first byte ${fmtMs(f.holdfast.requestToFirstByteMs)} / ${fmtMs(f.reference.requestToFirstByteMs)}, first → last byte ${fmtMs(f.holdfast.firstToLastByteMs)} / ${fmtMs(f.reference.firstToLastByteMs)}`);
    out.push('   (relay CPU: the broker node / websockify, share of one core, during the fps blocks; MB = MiB)');
    out.push('');
  } else if (result.errors.rfb) out.push(`10 GUI (RFB): ${err('rfb')}`, '');

  const tls = result.results.tls;
  if (tls) {
    out.push(
      table(
        [
          ['11 connect → welcome', fmtMs(tls.connectMs.ws.p50), fmtMs(tls.connectMs.wss.p50), `${tls.connectMs.ratioP50}×`, ''],
          ['   keystroke echo p50', fmtUs(tls.echoUs.ws.p50), fmtUs(tls.echoUs.wss.p50), `${tls.echoUs.ratioP50}×`, `+${fmtUs(tls.echoUs.addedP50Us)}`],
          ['   keystroke echo p99', fmtUs(tls.echoUs.ws.p99), fmtUs(tls.echoUs.wss.p99), `${tls.echoUs.ratioP99}×`, ''],
          ['   100 MiB to the protocol client', fmtMB(tls.throughputMBs.ws), fmtMB(tls.throughputMBs.wss), `${tls.throughputMBs.ratio}×`, ''],
        ],
        ['TLS (node.tls) against plain', 'ws', 'wss', 'wss / ws', 'added'],
      ),
    );
    out.push('');
  } else if (result.errors.tls) out.push(`11 TLS: ${err('tls')}`, '');

  if (result.checks.length > 0) {
    out.push('6  Correctness');
    for (const c of result.checks) out.push(`   ${c.pass ? 'PASS' : 'FAIL'}  ${c.name}${c.pass ? '' : `  — ${summarize(c.detail)}`}`);
    out.push('');
  }
  if (result.errors.fatal) out.push(`   bench error: ${result.errors.fatal.split('\n')[0]}`);
  out.push(`   cleanup: ${result.cleanup ? `${result.cleanup.leftover} leftover processes, ${result.cleanup.killedHard} needed SIGKILL` : '—'}; total ${result.seconds} s`);
  return out.join('\n');
}

function summarize(detail) {
  if (!detail) return '';
  const parts = [];
  if (detail.problems?.length) parts.push(detail.problems.join('; '));
  if (detail.contentProblem) parts.push(detail.contentProblem);
  if (detail.heldDuringStall === false) parts.push('not held during the stall (see timeline in JSON)');
  for (const k of ['exitCode', 'cliExitCode', 'closeCode']) if (k in detail) parts.push(`${k} ${detail[k]}`);
  if (detail.stderr) parts.push(`stderr ${JSON.stringify(detail.stderr.slice(-90))}`);
  if (detail.outputTail) parts.push(`output ends ${JSON.stringify(detail.outputTail.slice(-70))}`);
  if (detail.error) parts.push(detail.error);
  return parts.join('; ');
}

/** Which code was measured: the commit, and how many files differ from it. */
function gitState() {
  const git = (...args) => spawnSync('git', args, { cwd: ROOT, encoding: 'utf8', timeout: 10_000 });
  const head = git('rev-parse', '--short', 'HEAD');
  const status = git('status', '--porcelain', '--untracked-files=no');
  return { commit: head.status === 0 ? head.stdout.trim() : null, modifiedFiles: status.status === 0 ? status.stdout.split('\n').filter(Boolean).length : null };
}

/** Builds with the project's script (unless --use-dist), then takes a private copy of dist/broker. */
function snapshotBuild(outdir) {
  if (!ARGS.has('--use-dist')) {
    process.stderr.write('bench: node scripts/build.mjs …\n');
    const b = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs')], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'], timeout: 180_000 });
    if (b.status !== 0) throw new Error('scripts/build.mjs failed (run it to see why, or pass --use-dist)');
  }
  const source = join(ROOT, 'dist', 'broker');
  if (!existsSync(join(source, 'cli.js'))) throw new Error('dist/broker/cli.js is missing; run node scripts/build.mjs');
  cpSync(source, join(outdir, 'broker'), { recursive: true });
  return join(outdir, 'broker', 'cli.js');
}

// ---- main ----------------------------------------------------------------------------
async function main() {
  const started = Date.now();
  const watchdog = setTimeout(() => {
    process.stderr.write(`\nbench: still running after ${WATCHDOG_MS / 1000} s; giving up and cleaning up\n`);
    cleanupAll().finally(() => process.exit(3));
  }, WATCHDOG_MS);
  watchdog.unref();

  const buildDir = join(ROOT, 'bench-results', `.build-${process.pid}`);
  removeOnExit = buildDir;
  CLI = snapshotBuild(buildDir);
  const waitQuiet = Number([...ARGS].find((a) => a.startsWith('--wait-quiet='))?.slice('--wait-quiet='.length) ?? 30);
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
  const errors = {};
  const results = {};
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
    },
    source: gitState(),
    settings: { ...N, quick: QUICK },
    budget: BUDGET,
    results,
    checks,
    errors,
  };
  let node;
  const step = async (key, label, fn) => {
    process.stderr.write(`bench: ${label} …\n`);
    const t0 = Date.now();
    const meter = interferenceMeter();
    try {
      results[key] = await fn();
      results[key].otherLoad = meter();
    } catch (error) {
      errors[key] = error instanceof Error ? error.message : String(error);
      process.stderr.write(`bench: ${label} failed: ${errors[key]}\n`);
    }
    process.stderr.write(`bench:   (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
  };
  const checkStep = async (name, fn) => {
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
    process.stderr.write(`bench: node ${node.pid} at ${node.url}; temp dir ${dir}\n`);
    const { control, token } = await signIn(node.url);

    if (wanted('signin')) await step('signIn', '1 sign-in → app list', () => benchSignIn(node.url, passwordHash));
    if (wanted('launch')) await step('launch', '2 launch → first output', () => benchLaunch(node.url, token, node.pid));
    if (wanted('echo')) await step('echo', '3 keystroke echo', () => benchEcho(node.url, token));
    if (wanted('throughput')) await step('throughput', '4 throughput', () => benchThroughput(node.url, token, node.pid));

    if (wanted('exit')) {
      process.stderr.write('bench: 6a exit tail checks …\n');
      await checkStep('(a) last bytes before exit all arrive; session.exited, then close 1000 (fast reader)', () =>
        checkExitTail(node.url, token, node.pid, N.tailRandomBytes, 'tail', false),
      );
      await checkStep('(a) same, 8 MB app and a slow reader (app held at the window when it exits)', () =>
        checkExitTail(node.url, token, node.pid, 6 * N.tailRandomBytes, 'tailbig', true),
      );
      await checkStep('(a) same through `holdfast connect` (stdout pipe): marker, length, exit code 0', () => checkExitTailCli(node.url, node.pid));
    }

    if (wanted('stall')) {
      process.stderr.write(`bench: 6b ${N.stallMs / 1000} s stall checks (protocol client, CLI on a PTY, CLI on a pipe; concurrently) …\n`);
      const [proto, cli, pipe] = await Promise.allSettled([
        checkStallProtocol(node.url, token, node.pid),
        checkStallCli(node.url, node.pid),
        checkStallCliPipe(node.url, node.pid),
      ]);
      const settle = (name, r) =>
        r.status === 'fulfilled' ? check(name, r.value.pass, r.value.detail) : check(name, false, { error: String(r.reason?.message ?? r.reason) });
      settle(`(b) client stops acking for ${N.stallMs / 1000} s: app held (alive, not disconnected), then every byte in order`, proto);
      settle(`(b) CLI whose terminal stops reading for ${N.stallMs / 1000} s: app held, then every byte in order`, cli);
      settle(`(b) CLI whose stdout pipe is not read for ${N.stallMs / 1000} s (\`| less\`): app held, then every byte in order`, pipe);
    }

    if (wanted('rfb')) await step('rfb', '10 GUI (RFB): scrolling fps and key → frame, holdfast vs websockify on the same Xvnc', () => benchRfb(node.url, token, config.node.stateDir, node.pid));
    if (wanted('tls')) await step('tls', '11 TLS: connect, keystroke echo and throughput over wss against ws', () => benchTls(dir, passwordHash, { url: node.url, token, pid: node.pid }));

    await control.close();
    noteDescendants(node.pid);
    await node.stop();
    node = null;

    if (wanted('memory')) await step('memory', '5 memory per idle session (fresh node)', () => benchMemory(file, log));
    if (wanted('resume')) await step('resume', '7 resume after the path returns (fault proxy)', () => benchResume());
    if (wanted('failover')) await step('failover', '8 failover on a 3-node cluster (kill -9 and SIGSTOP of the primary)', () => benchFailover());
    if (wanted('replication')) await step('replication', '9 keystroke echo with a lockstep standby vs without', () => benchReplication());
  } catch (error) {
    errors.fatal = error instanceof Error ? error.stack ?? error.message : String(error);
    process.stderr.write(`bench: ${errors.fatal}\n`);
  } finally {
    if (node) await node.stop().catch(() => {});
    result.cleanup = await cleanupAll();
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
  process.stdout.write('', () => process.exit(code));
}

main().catch(async (error) => {
  process.stderr.write(`bench: ${error instanceof Error ? error.stack : String(error)}\n`);
  await cleanupAll();
  process.exit(1);
});
