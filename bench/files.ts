// Part 13, files in and out of a session (issue 23): upload and download MB/s of a
// 200 MiB file of random bytes (made once) into a 1-replica and a 2-replica session,
// against a bare WebSocket transfer of the same bytes over loopback in the same run (the
// floor, files-floor.ts; the download also against a bare node:http server's, a reference); and keystroke echo while an upload runs against idle, in the
// same session. Run by the bench's runner, bench/main.ts (`--only=files`).
//
// On one 3-node cluster (1-member etcd, node processes from the bench's copy of dist/,
// homes of 512 MiB), two sessions of one app — `sh` running `cat` in a loop, and between
// two runs of `cat` removing the uploaded files (a Ctrl-D to `cat` does it; the home
// holds one 200 MiB file at a time) — both primaries on node-1, the one with 2 replicas
// with its standby on node-2 (placed as replication.ts places them, with a filler on
// node-3). Every client talks to node-1. An upload goes through the HTTP upload API with
// the shared client (resumableUpload, Node's fetch, 4 MiB pieces); the SHA-256 of its
// final answer must be the local one. The download is GET …/files/content, its bytes
// hashed once the clock stops. Floor, 1 replica and 2 replicas take turns, each up then
// down, the order rotated every round; the ratios are of the medians.
//
// Echo: the bench's byte-at-a-time loop (echo.ts) into the session's `cat` at a fast
// typist's pace (typingGapMs between an echo and the next keystroke: the budget is about
// what a person typing feels, and a loop that never pauses would only measure how far the
// upload yields), in blocks idle / during uploads / during / idle (ABBA), each
// echoBlockMs of typing (a during block types only while an upload runs, uploads one
// after another). That upload runs in a worker thread (files-transfer.ts), so its client does
// not hold the echo's event loop (a browser's fetch does not either); this thread's
// event-loop delay is reported with the echo, so a slow client shows as such.
// The nodes run with the default heartbeat (3 s), not the harness's 2 s, and with frame
// limits the echo loop cannot reach (it types far faster than a person). With --cpu-prof
// in BENCH_NODE_FLAGS the cluster's nodes write CPU profiles too (cluster-profile.ts).
import { randomFillSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { ClusterStatus } from '../broker/gateway/admin-api.js';
import { signInToken, startCluster, waitForStatus, type ClusterNode, type TestCluster } from '../support/cluster-harness.js';
import { profileNodesStarted } from './cluster-profile.js';
import { echoRunProto } from './echo.js';
import { startFloor, type Floor } from './files-floor.js';
import { cpuOf, download, sha256, sha256Async, upload, uploadInWorker, type Transfer } from './files-transfer.js';
import { ProtoSession } from './protocol-client.js';
import { fig, round, roundStats, stats } from './stats.js';
import { until, withTimeout } from './timing.js';

export interface FilesOptions {
  cli: string;
  /** The repository: node logs go to its bench-results/ when the part fails. */
  root: string;
  bytes: number;
  rounds: number;
  echoWarmup: number;
  echoBlocks: number;
  /** Typing per block, ms. */
  echoBlockMs: number;
  /** A person's pace: between a keystroke's echo and the next, ms. */
  typingGapMs: number;
  budget: { upload1: number; upload2: number; download: number; echoP99Ratio: number };
  progress: (line: string) => void;
}

// Between two runs of `cat`: the uploads go, then a marker says `cat` is back.
const LOOP = 'cd /home/user || exit 1; n=0; while :; do rm -f ./bench-*.bin; n=$((n+1)); echo "CLEAN $n"; cat; done';
const ONE = { id: 'files1', name: 'Files (no standby)', command: '/bin/sh', args: ['-c', LOOP], replicas: 1 };
const TWO = { id: 'files2', name: 'Files', command: '/bin/sh', args: ['-c', LOOP] };
const FILLER = { id: 'idle1', name: 'Idle (no standby)', command: '/bin/cat', replicas: 1 };
const UPLOAD_PATH = 'bench-up.bin';
const HOME_PROFILE = { maxHomeMiB: 512, maxHomeFiles: 16_384 };
/**
 * The node's default heartbeat (the harness's 2 s is for quick tests: a client is cut
 * off after a missed ping); and frame limits no echo loop reaches — seconds of it at
 * full speed (an input and an ack per keystroke) would pass the default 2000 frames a
 * second, and the node would close the connection as a flood.
 */
const HEARTBEAT_MS = 3000;
const NODE = { heartbeatMs: HEARTBEAT_MS, limits: { framesPerSecond: 100_000, frameBurst: 1_000_000 } };

type Name = 'one' | 'two';
type PathName = 'floor' | Name;

class FileSession {
  private cleaned = 1;
  constructor(
    readonly name: Name,
    readonly proto: ProtoSession,
  ) {}

  get id(): string {
    return this.proto.started.sessionId;
  }

  /** `cat` started: the app printed its first marker. */
  async ready(): Promise<void> {
    await until(() => this.proto.received >= 'CLEAN 1\r\n'.length, 20_000, `the ${this.name} session's app to start`);
  }

  /** Ctrl-D to `cat` (its line is empty between echo batches): the app removes the uploads and starts `cat` again. */
  async clean(): Promise<void> {
    const marker = `CLEAN ${++this.cleaned}`;
    let seen = '';
    const done = new Promise<void>((resolve) => {
      this.proto.onData = (d) => {
        seen += d.toString('latin1');
        if (seen.includes(marker)) resolve();
      };
    });
    this.proto.input(Buffer.of(4));
    try {
      await withTimeout(done, 20_000, `${marker} from the ${this.name} session`);
    } catch (error) {
      const problems = [...this.proto.errors.map((e) => e.message), ...this.proto.client.problems];
      throw new Error(`${(error as Error).message}; it sent ${JSON.stringify(seen.slice(-80))}, input acknowledged ${this.proto.inputAck}${problems.length ? `; ${problems.join('; ')}` : ''}`);
    } finally {
      this.proto.onData = null;
    }
  }
}

const median = (values: number[]) => fig(stats(values).p50);

export async function run(o: FilesOptions): Promise<Record<string, unknown>> {
  // The bytes in shared memory, for an upload in a worker thread; `data`, a copy, for this thread.
  const shared = new SharedArrayBuffer(o.bytes);
  randomFillSync(new Uint8Array(shared));
  const data = Buffer.from(new Uint8Array(shared));
  const expected = sha256([data]);
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-bench-files-'));
  const file = join(dir, 'data.bin');
  writeFileSync(file, data);
  let floor: Floor | null = null;
  const open: ProtoSession[] = [];
  const profiling = profileNodesStarted(o.root, dir);
  let c: TestCluster;
  try {
    c = await startCluster({ nodes: 3, etcdMembers: 1, cli: o.cli, apps: [ONE, TWO, FILLER], node: NODE, sandboxProfiles: { default: HOME_PROFILE }, tag: 'bench-files' });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  } finally {
    profiling?.restore();
  }
  try {
    floor = await startFloor(file);
    const [n1, n2, n3] = c.nodes as [ClusterNode, ClusterNode, ClusterNode];
    const token = await signInToken(n1.url, 'ann', 'ann-pw');
    const sessionOf = (s: ClusterStatus, id: string) => s.sessions.find((x) => x.id === id);
    const loadsAre = (load: number) => (s: ClusterStatus) => s.nodes.length === 3 && s.nodes.every((n) => n.load === load);
    await waitForStatus(c, loadsAre(0), 10_000, n1.url);
    const launch = async (url: string, appId: string) => {
      const s = await ProtoSession.launch(url, token, appId);
      open.push(s);
      return s;
    };
    // As replication.ts: the 2-replica session through node-1 (primary node-1, standby
    // node-2), a filler through node-3, then the 1-replica session through node-1.
    const two = new FileSession('two', await launch(n1.url, TWO.id));
    await waitForStatus(c, (s) => sessionOf(s, two.id)?.standbys.length === 1, 20_000, n1.url);
    await waitForStatus(c, (s) => s.nodes.filter((n) => n.load === 1).length === 2, 10_000, n3.url);
    await launch(n3.url, FILLER.id);
    await waitForStatus(c, loadsAre(1), 10_000, n1.url);
    const one = new FileSession('one', await launch(n1.url, ONE.id));
    const status = await waitForStatus(c, (s) => sessionOf(s, one.id) !== undefined && sessionOf(s, two.id)?.standbys.length === 1, 10_000, n1.url);
    const placement = {
      one: { primary: sessionOf(status, one.id)!.primary, standbys: sessionOf(status, one.id)!.standbys },
      two: { primary: sessionOf(status, two.id)!.primary, standbys: sessionOf(status, two.id)!.standbys },
    };
    const placedAsMeant = placement.one.primary === n1.name && placement.two.primary === n1.name && placement.one.standbys.length === 0;
    if (!placedAsMeant) o.progress(`files: ⚠ placement not as meant: ${JSON.stringify(placement)}`);
    await one.ready();
    await two.ready();
    const sessions = { one, two };
    const pids = { node1: n1.pid, node2: n2.pid };

    // ---- MB/s: floor, 1 replica, 2 replicas in turns, each up then down ----
    const up: Record<PathName, Transfer[]> = { floor: [], one: [], two: [] };
    const down: Record<PathName, Transfer[]> = { floor: [], one: [], two: [] };
    /** The download's reference (files-floor.ts): the same bytes from a bare node:http server. */
    const downHttp: Transfer[] = [];
    const order: PathName[] = ['floor', 'one', 'two'];
    /** The longest this process's event loop was held during each path's up and down (a held loop answers the nodes' pings late). */
    const loopDelayMaxMs: Record<PathName, number[]> = { floor: [], one: [], two: [] };
    const fl = floor;
    for (let r = 0; r < o.rounds; r++) {
      const rotated = [...order.slice(r % 3), ...order.slice(0, r % 3)];
      for (const name of r % 2 ? rotated.reverse() : rotated) {
        const loop = monitorEventLoopDelay({ resolution: 5 });
        loop.enable();
        if (name === 'floor') {
          let cpu = cpuOf({ floor: fl.pid });
          const u = await fl.up(data);
          up.floor.push({ bytes: u.bytes, seconds: u.seconds, MBs: u.MBs, shaOk: u.bytesOk, cpu: cpu.stop() });
          const chunks: Buffer[] = [];
          cpu = cpuOf({ floor: fl.pid });
          const d = await fl.down(data.length, (chunk) => chunks.push(chunk));
          down.floor.push({ bytes: d.bytes, seconds: d.seconds, MBs: d.MBs, cpu: cpu.stop(), shaOk: d.bytesOk && (await sha256Async(chunks)) === expected });
          downHttp.push(await fl.httpDown(expected, data.length));
        } else {
          const s = sessions[name];
          const u = await upload(n1.url, token, s.id, UPLOAD_PATH, data, expected, pids);
          up[name].push(u);
          down[name].push(await download(n1.url, token, s.id, u.path, expected, data.length, pids));
          await s.clean();
        }
        loop.disable();
        loopDelayMaxMs[name].push(round(loop.max / 1e6, 1));
        const last = (x: Transfer[]) => `${x.at(-1)!.MBs} MB/s${x.at(-1)!.shaOk ? '' : ' (WRONG SHA-256)'}`;
        o.progress(`files: round ${r + 1} ${name}: up ${last(up[name])}, down ${last(down[name])}`);
      }
    }
    const MBs = {
      floorUp: median(up.floor.map((t) => t.MBs)),
      floorDown: median(down.floor.map((t) => t.MBs)),
      httpDown: median(downHttp.map((t) => t.MBs)),
      upload1: median(up.one.map((t) => t.MBs)),
      upload2: median(up.two.map((t) => t.MBs)),
      download1: median(down.one.map((t) => t.MBs)),
      download2: median(down.two.map((t) => t.MBs)),
    };
    const ratios = {
      upload1: round(MBs.upload1 / MBs.floorUp, 2),
      upload2: round(MBs.upload2 / MBs.floorUp, 2),
      download1: round(MBs.download1 / MBs.floorDown, 2),
      download2: round(MBs.download2 / MBs.floorDown, 2),
      httpDown: round(MBs.httpDown / MBs.floorDown, 2),
      download1VsHttp: round(MBs.download1 / MBs.httpDown, 2),
      download2VsHttp: round(MBs.download2 / MBs.httpDown, 2),
    };

    // ---- keystroke echo during an upload against idle, same session ----
    for (const s of [one, two]) await echoRunProto(s.proto, o.echoWarmup);
    const samples: Record<Name, { idle: number[]; during: number[]; uploads: Transfer[]; loopDelayMs: { idle: number[]; during: number[] } }> = {
      one: { idle: [], during: [], uploads: [], loopDelayMs: { idle: [], during: [] } },
      two: { idle: [], during: [], uploads: [], loopDelayMs: { idle: [], during: [] } },
    };
    for (let b = 0; b < o.echoBlocks; b++) {
      const during = b % 4 === 1 || b % 4 === 2;
      for (const name of b % 2 ? (['two', 'one'] as const) : (['one', 'two'] as const)) {
        const s = sessions[name];
        const into = samples[name];
        const loop = monitorEventLoopDelay({ resolution: 1 });
        loop.enable();
        // Typing for echoBlockMs in all: idle, or only while an upload runs (one after
        // another, the app removing each between them, untimed).
        let typedMs = 0;
        while (typedMs < o.echoBlockMs) {
          const t0 = Date.now();
          if (during) {
            let done = false;
            const sending = uploadInWorker({ url: n1.url, token, sessionId: s.id, path: UPLOAD_PATH, shared, expectedSha: expected, pids }).finally(() => (done = true));
            while (!done) await echoRunProto(s.proto, 64, into.during, { gapMs: o.typingGapMs, stop: () => done });
            into.uploads.push(await sending);
            typedMs += Date.now() - t0;
            await s.clean();
          } else {
            await echoRunProto(s.proto, 64, into.idle, { gapMs: o.typingGapMs, stop: () => Date.now() - t0 >= o.echoBlockMs - typedMs });
            typedMs += Date.now() - t0;
          }
        }
        loop.disable();
        into.loopDelayMs[during ? 'during' : 'idle'].push(round(loop.percentile(99) / 1e6, 2));
        o.progress(`files: echo block ${b + 1} ${name} ${during ? 'during uploads' : 'idle'}: ${(during ? into.during : into.idle).length} keystrokes so far`);
      }
    }
    const echo = Object.fromEntries(
      (['one', 'two'] as const).map((name) => {
        const x = samples[name];
        const idle = stats(x.idle);
        const busy = stats(x.during);
        const ratioP99 = round(fig(busy.p99) / fig(idle.p99), 2);
        return [
          name,
          {
            idleUs: roundStats(idle),
            duringUs: roundStats(busy),
            ratioP50: round(fig(busy.p50) / fig(idle.p50), 2),
            ratioP99,
            withinBudget: ratioP99 <= o.budget.echoP99Ratio,
            uploadsDuringMBs: x.uploads.map((u) => u.MBs),
            uploadsShaOk: x.uploads.every((u) => u.shaOk),
            benchLoopDelayP99Ms: x.loopDelayMs,
          },
        ];
      }),
    );
    const allShaOk = [...Object.values(up), ...Object.values(down), downHttp].every((list) => list.every((t) => t.shaOk)) && [one, two].every((s) => samples[s.name].uploads.every((u) => u.shaOk));
    return {
      method:
        'a 200 MiB file of random bytes: uploaded with resumableUpload (Node fetch, 4 MiB PATCHes) and downloaded (GET files/content, node:http) through node-1 of a 3-node cluster, to a 1-replica and a 2-replica session whose primaries run there; the floor a bare ws transfer (64 KiB messages, acknowledged at the end) to/from a Node process (and, for the download, a bare node:http GET of the same bytes from that process, a reference); alternating, ratios of medians. Echo: byte at a time into the session\'s cat at a typist\'s pace (a pause of typingGapMs after each echo), idle blocks against blocks during uploads (ABBA)',
      placement: { ...placement, placedAsMeant },
      bytes: o.bytes,
      MBs,
      ratios,
      budget: o.budget,
      withinBudget: {
        upload1: ratios.upload1 >= o.budget.upload1,
        upload2: ratios.upload2 >= o.budget.upload2,
        download: Math.min(ratios.download1, ratios.download2) >= o.budget.download,
        echoP99: echo.one!.withinBudget && echo.two!.withinBudget,
      },
      allShaOk,
      echo,
      runs: { up, down, downHttp, benchLoopDelayMaxMs: loopDelayMaxMs },
      ...(profiling ? { profiles: profiling.dir } : {}),
      settings: { rounds: o.rounds, echoWarmup: o.echoWarmup, echoBlocks: o.echoBlocks, echoBlockMs: o.echoBlockMs, typingGapMs: o.typingGapMs, home: HOME_PROFILE, node: NODE, nodes: 3, etcdMembers: 1 },
    };
  } catch (error) {
    // The nodes' logs, for the evidence (the harness's own copy goes beside the bundle, removed at exit).
    const logs = join('bench-results', `files-nodes-${new Date().toISOString().replace(/[:.]/g, '-')}.log`);
    writeFileSync(join(o.root, logs), c.nodes.map((n) => n.log.map((line) => `${n.name} ${line}`).join('\n')).join('\n') + '\n');
    throw new Error(`${error instanceof Error ? error.message : String(error)} (node logs: ${logs})`, { cause: error });
  } finally {
    for (const s of open) await s.close().catch(() => {});
    await floor?.stop();
    // A profiled node writes its profile as it exits: SIGTERM first (the harness's stop is kill -9).
    if (profiling) for (const n of c.nodes) await c.stopGracefully(n.name).catch(() => {});
    await c.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
