// The parts that run apart from the bench's own node — resume (7), failover (8),
// replication (9), coverage (12), files (13), sharing (14), sound (15) — and the GUI part (10): each is loaded
// only when asked for (they pull in the broker's source or the cluster harness) and
// given what it needs here.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { echoRunProto } from './echo.js';
import { track, untrack } from './processes.js';
import { ProtoSession } from './protocol-client.js';
import { BUDGET, N, QUICK, paths } from './settings.js';

const progress = (line: string) => process.stderr.write(`bench:   ${line}\n`);

/**
 * Issue 3's figures come from resume.ts, which drives the TypeScript session core
 * through a fault proxy, with a node in this process. The bundle sits beside the
 * bench's copy of the broker, so the node's screen worker resolves.
 */
export async function benchResume() {
  const { run } = await import('./resume.js');
  return run(QUICK ? 8 : 24);
}

/**
 * Part 8 (failover.ts): a 3-node cluster on real etcd running the bench's copy of
 * the broker; kill -9 and SIGSTOP of the primary's node, fault → first live output.
 */
export async function benchFailover() {
  const { run } = await import('./failover.js');
  return run({
    faults: N.failoverFaults,
    onPrimaryFaults: N.failoverOnPrimaryFaults,
    cli: paths.cli,
    progress,
    saveLogs: (text) => {
      const file = join('bench-results', `failover-nodes-${new Date().toISOString().replace(/[:.]/g, '-')}.log`);
      mkdirSync(join(paths.root, 'bench-results'), { recursive: true });
      writeFileSync(join(paths.root, file), text);
      return file;
    },
  });
}

/**
 * Part 9 (replication.ts): keystroke echo with 2 replicas against 1 on one cluster,
 * through this bench's protocol client and echo loop (echoRunProto).
 */
export async function benchReplication() {
  const { run } = await import('./replication.js');
  return run({
    echo: { launch: (url, token, appId) => ProtoSession.launch(url, token, appId), run: echoRunProto },
    warmup: N.replicationWarmup,
    samples: N.replicationSamples,
    blocks: N.replicationBlocks,
    cli: paths.cli,
  });
}

/**
 * Part 12 (coverage.ts): real apps kept across kill -9 of their primary, against a
 * single-node reference. BENCH_COVERAGE_APPS=a,b runs only those;
 * BENCH_COVERAGE_SECONDS=120 spreads each app's script over a 2-minute session.
 */
export async function benchCoverage() {
  const { run } = await import('./coverage.js');
  const seconds = Number(process.env.BENCH_COVERAGE_SECONDS ?? 0);
  return run({
    cli: paths.cli,
    progress,
    ...(process.env.BENCH_COVERAGE_APPS ? { only: process.env.BENCH_COVERAGE_APPS.split(',') } : {}),
    ...(seconds > 0 ? { sessionSeconds: seconds } : {}),
  });
}

/**
 * Part 13 (files.ts): upload and download MB/s of a 1- and a 2-replica session against a
 * bare WebSocket floor, and keystroke echo during an upload against idle.
 */
export async function benchFiles() {
  const { run } = await import('./files.js');
  return run({
    cli: paths.cli,
    root: paths.root,
    bytes: N.filesBytes,
    rounds: N.filesRounds,
    echoWarmup: N.filesEchoWarmup,
    echoBlocks: N.filesEchoBlocks,
    echoBlockMs: N.filesEchoBlockMs,
    typingGapMs: N.filesTypingGapMs,
    budget: BUDGET.files,
    progress,
  });
}

/**
 * Part 14 (sharing.ts): the owner's keystroke echo with 0, 1 and 5 people watching
 * through a share link and with recording on, alternating; a recorded typing session's
 * bytes per minute. On a node of its own (the bench's config, plus a viewer and a policy).
 */
export async function benchSharing(dir: string, passwordHash: string) {
  const { run } = await import('./sharing.js');
  return run({
    dir,
    passwordHash,
    rounds: N.sharingRounds,
    perBlock: N.sharingPerBlock,
    warmup: N.sharingWarmup,
    pacedRounds: N.sharingPacedRounds,
    pacedPerBlock: N.sharingPacedPerBlock,
    pacedGapMs: N.sharingPacedGapMs,
    typingSeconds: N.sharingTypingSeconds,
    keysPerSecond: N.sharingKeysPerSecond,
    budget: BUDGET.sharing,
    progress,
  });
}

/**
 * Part 15 (sound.ts): a click's latency from the app's write to the client's decoded
 * output against a PulseAudio floor; the bit rate; the node's CPU per playing session,
 * listening against not, alternating. On a node of its own (the bench's config, plus sound apps).
 */
export async function benchSound(dir: string, passwordHash: string) {
  const { run } = await import('./sound.js');
  return run({
    dir,
    passwordHash,
    clicks: N.soundClicks,
    clickBlocks: N.soundClickBlocks,
    warmupClicks: N.soundWarmupClicks,
    burstSeconds: N.soundBurstSeconds,
    playingSessions: N.soundPlayingSessions,
    quietSessions: N.soundQuietSessions,
    cpuRounds: N.soundCpuRounds,
    windowMs: N.soundWindowMs,
    settleMs: N.soundSettleMs,
    budget: BUDGET.sound,
    progress,
  });
}

/**
 * Part "gui-networks" (gui-networks.ts): GUI sessions through shaping proxies at each
 * link profile, the node's path against websockify with noVNC's defaults.
 */
export async function benchGuiNetworks(url: string, token: string, stateDir: string, nodePid: number) {
  const { run } = await import('./gui-networks.js');
  const { LINK_PROFILES, ShapingProxy } = await import('../support/shaping-proxy.js');
  const nodePort = Number(new URL(url).port);
  const toNode = await ShapingProxy.start({ host: '127.0.0.1', port: nodePort }, LINK_PROFILES.lan);
  const toReference: Array<Awaited<ReturnType<typeof ShapingProxy.start>>> = [];
  let link: (typeof LINK_PROFILES)[keyof typeof LINK_PROFILES] = LINK_PROFILES.lan;
  try {
    return await run({
      launch: rfbLauncher(toNode.url, token),
      referenceVia: async (port) => {
        const proxy = await ShapingProxy.start({ host: '127.0.0.1', port }, link);
        toReference.push(proxy);
        return proxy.port;
      },
      setLink: (profile) => {
        link = profile as typeof link;
        toNode.link = profile;
        for (const proxy of toReference) proxy.link = profile;
      },
      // BENCH_LINKS=vpn,mobile measures only those.
      profiles: Object.values(LINK_PROFILES).filter((p) => !process.env.BENCH_LINKS || process.env.BENCH_LINKS.split(',').includes(p.name)),
      stateDir,
      nodePid,
      blocks: N.guiNetworkBlocks,
      blockMs: N.guiNetworkBlockMs,
      warmupMs: N.guiNetworkWarmupMs,
      keyPresses: N.guiNetworkKeyPresses,
      track,
      untrack,
      progress,
    });
  } finally {
    await toNode.stop();
    for (const proxy of toReference) await proxy.stop().catch(() => {});
  }
}

/** A GUI session on the bench's protocol client, as the RFB parts use it. */
function rfbLauncher(url: string, token: string) {
  return async (appId: string) => {
    const s = await ProtoSession.launch(url, token, appId);
    return {
      sessionId: s.started.sessionId,
      onOutput: (receiver: (data: Uint8Array) => void) => {
        s.onData = receiver;
      },
      input: (bytes: Uint8Array) => s.input(bytes),
      sendFrame: (frame: Uint8Array) => s.client.send(frame),
      problems: () => [...s.client.problems, ...s.errors.map((e) => `${e.code ?? 'error'}: ${e.message ?? ''}`), ...(s.client.closeInfo ? [`closed ${s.client.closeInfo.code} ${s.client.closeInfo.reason}`] : [])],
      close: () => s.close(),
    };
  };
}

/**
 * Part 10 (rfb.ts): GUI sessions through this bench's protocol client against
 * Debian's websockify on the same display socket.
 */
export async function benchRfb(url: string, token: string, stateDir: string, nodePid: number) {
  const { run } = await import('./rfb.js');
  return run({
    launch: rfbLauncher(url, token),
    stateDir,
    nodePid,
    fpsBlocks: N.rfbFpsBlocks,
    fpsBlockMs: N.rfbFpsBlockMs,
    keyPresses: N.rfbKeyPresses,
    keyBlocks: N.rfbKeyBlocks,
    track,
    untrack,
    progress,
  });
}
