// Parts 1–3, a terminal app as a person meets it: sign-in → app list, launch → first
// output, and keystroke echo through `holdfast connect` in a PTY against a bare
// node-pty, the bench's protocol client and a Node relay (the CLI's terminal hop).
import { scrypt } from 'node:crypto';
import { echoRun, echoRunProto } from './echo.js';
import { waitSandboxesGone } from './node.js';
import { noteDescendants } from './processes.js';
import { ProtoClient, ProtoSession } from './protocol-client.js';
import { APPS, BUDGET, N, PASSWORD, USER } from './settings.js';
import { fig, round, roundStats, stats } from './stats.js';
import { openCliPty, openPty } from './clients.js';
import { msSince, nowNs, sleep, until } from './timing.js';

// ---- 1. sign-in → app list -------------------------------------------------------
export async function benchSignIn(url: string, passwordHash: string) {
  const connect: number[] = [];
  const signInMs: number[] = [];
  const listMs: number[] = [];
  const total: number[] = [];
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
  const [, n, r, p] = passwordHash.split('$').map(Number) as [number, number, number, number];
  const scryptMs: number[] = [];
  for (let i = 0; i < 10; i++) {
    const t0 = nowNs();
    await new Promise<void>((resolve, reject) => scrypt(PASSWORD, Buffer.alloc(16), 32, { N: n, r, p, maxmem: 256 * 1024 * 1024 }, (e) => (e ? reject(e) : resolve())));
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
export async function benchLaunch(url: string, token: string, nodePid: number) {
  const started: number[] = [];
  const first: number[] = [];
  const teardown: number[] = [];
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
    first.push(Number(s.tFirstOutput! - s.tLaunch) / 1e6);
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

export async function benchEcho(url: string, token: string) {
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
    const floorUs: number[] = [];
    const relayUs: number[] = [];
    const holdfastUs: number[] = [];
    const protoUs: number[] = [];
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
      ratioP50: round(fig(h.p50) / fig(f.p50), 2),
      ratioP99: round(fig(h.p99) / fig(f.p99), 2),
      budgetP50Us: BUDGET.echoP50Us,
      withinBudget: fig(h.p50) <= BUDGET.echoP50Us,
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
