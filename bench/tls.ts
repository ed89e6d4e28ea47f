// Part 11, what https/wss costs: a second node with node.tls (a pair from `holdfast
// cert dev`) next to the plain one; connect → welcome, keystroke echo and 100 MiB of
// output over wss against ws, in alternating blocks of one run.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { echoRunProto } from './echo.js';
import { startNode, waitSandboxesGone } from './node.js';
import { cpuMeter, type CpuSeconds } from './proc.js';
import { noteDescendants } from './processes.js';
import { ProtoClient, ProtoSession, signIn, trustCa } from './protocol-client.js';
import { APPS, N, QUICK, USER, paths as where } from './settings.js';
import { fig, round, roundStats, stats } from './stats.js';
import { xCounter, type XResult } from './throughput.js';
import { nowNs, sleep, until } from './timing.js';

type PathName = 'ws' | 'wss';

export async function benchTls(dir: string, passwordHash: string, plain: { url: string; token: string; pid: number }) {
  const tlsDir = join(dir, 'tls');
  const made = spawnSync(process.execPath, [where.cli, 'cert', 'dev', '--out', tlsDir], { encoding: 'utf8', timeout: 30_000 });
  if (made.status !== 0) throw new Error(`holdfast cert dev failed: ${made.stderr}`);
  trustCa(readFileSync(join(tlsDir, 'holdfast-dev.crt')));
  const config = {
    node: { name: 'bench-tls', listen: { host: '127.0.0.1', port: 0 }, stateDir: join(dir, 'state-tls'), tls: { certFile: join(tlsDir, 'holdfast-dev.crt'), keyFile: join(tlsDir, 'holdfast-dev.key') } },
    users: [{ name: USER, displayName: 'Bench', passwordHash }],
    apps: APPS,
    entitlements: [{ users: [USER], apps: APPS.map((a) => a.id) }],
  };
  const file = join(dir, 'node-tls.yaml');
  writeFileSync(file, YAML.stringify(config));
  const secure = await startNode(file, join(dir, 'node-tls.log'));
  const closers: Array<() => Promise<unknown>> = [];
  try {
    const { control, token } = await signIn(secure.url);
    closers.push(() => control.close());
    const paths: Array<{ name: PathName; url: string; token: string; pid: number }> = [
      { name: 'ws', url: plain.url, token: plain.token, pid: plain.pid },
      { name: 'wss', url: secure.url, token, pid: secure.pid },
    ];
    // Connect → welcome: TCP, (TLS,) the upgrade with a token, the welcome frame.
    const connectMs: Record<PathName, number[]> = { ws: [], wss: [] };
    for (let i = 0; i < (QUICK ? 10 : 40); i++) {
      for (const path of i % 2 ? [...paths].reverse() : paths) {
        const t0 = nowNs();
        const c = await ProtoClient.open(path.url, path.token);
        connectMs[path.name].push(Number(nowNs() - t0) / 1e6);
        await c.close();
      }
    }
    // Keystroke echo through each, ABBA blocks.
    const sessions = {} as Record<PathName, ProtoSession>;
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
    const echoUs: Record<PathName, number[]> = { ws: [], wss: [] };
    const per = Math.ceil(N.echoSamples / 8);
    for (let b = 0; b < 8; b++) {
      const order: PathName[] = b % 4 === 0 || b % 4 === 3 ? ['ws', 'wss'] : ['wss', 'ws'];
      for (const name of order) await echoRunProto(sessions[name], per, echoUs[name]);
    }
    // The echo sessions end (EOF to cat) before the output runs, which wait for their own sandbox alone.
    for (const close of closers.splice(1).reverse()) await close().catch(() => {});
    for (const path of paths) await waitSandboxesGone(path.pid);
    // 100 MiB of output to the protocol client, twice each, alternating.
    const throughput: Record<PathName, Array<XResult & { brokerCpu: CpuSeconds }>> = { ws: [], wss: [] };
    for (const name of ['ws', 'wss', 'wss', 'ws'] as const) {
      const path = paths.find((p) => p.name === name)!;
      const c = xCounter(N.bulkBytes);
      const broker = cpuMeter(path.pid);
      const s = await ProtoSession.launch(path.url, path.token, 'bulk');
      s.onData = (d) => c.feed(d);
      await s.waitExit(120_000);
      throughput[name].push({ ...c.result({ what: `protocol client over ${name}` }), brokerCpu: broker.stop() });
      await waitSandboxesGone(path.pid);
    }
    const mbs = (name: PathName) => round(throughput[name].reduce((sum, r) => sum + r.MBs, 0) / throughput[name].length, 1);
    const ws = stats(echoUs.ws);
    const wss = stats(echoUs.wss);
    const cws = stats(connectMs.ws);
    const cwss = stats(connectMs.wss);
    return {
      method: 'a second node with node.tls (ECDSA P-256 from holdfast cert dev; TLS 1.3, the client trusting the certificate as a CA) beside the plain node, same machine and catalog; the bench protocol client on each, alternating',
      connectMs: { ws: roundStats(cws, 2), wss: roundStats(cwss, 2), ratioP50: round(fig(cwss.p50) / fig(cws.p50), 2) },
      echoUs: { ws: roundStats(ws), wss: roundStats(wss), addedP50Us: round(fig(wss.p50) - fig(ws.p50)), ratioP50: round(fig(wss.p50) / fig(ws.p50), 2), ratioP99: round(fig(wss.p99) / fig(ws.p99), 2) },
      throughputMBs: { ws: mbs('ws'), wss: mbs('wss'), ratio: round(mbs('wss') / mbs('ws'), 2), runs: throughput },
    };
  } finally {
    for (const close of closers.reverse()) await close().catch(() => {});
    noteDescendants(secure.pid);
    await secure.stop();
  }
}
