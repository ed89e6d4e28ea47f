// Part 15, a session's sound (issue 25's benchmark). A node of its own, the bench node's
// config plus sound apps (sound-apps.ts). Measured in one run:
//
// - Latency, the app's write → the client's decoded output: a click app writes a click
//   into its own sound server when a key reaches it; the bench's client decodes the
//   session's AUDIO frames as a player would and finds the click's onset in the PCM
//   (sound-listener.ts, sound-clicks.ts). Against a floor in the same run, alternating
//   in blocks: the same app and sound server outside the sandbox, the click found in
//   what parec reads with the node's flags (sound-floor.ts) — PulseAudio's own share.
// - Sound whole across silences: bursts that stop dead, decoded (sound-bursts.ts).
// - Bit rate: the AUDIO frames of sessions playing a tone and white noise.
// - The node's CPU per playing session: N sessions play all along; windows with the
//   client listening to them against windows with nobody listening (and against a
//   silent sound server listened to), alternating in rounds (sound-cpu.ts).
import { join } from 'node:path';
import { startNode, writeConfig } from './node.js';
import { noteDescendants } from './processes.js';
import { ProtoSession, signIn } from './protocol-client.js';
import { BURST_MS, BURST_PEAK, CLICK_STREAM_LATENCY_MS, CLICK_THRESHOLD, SOUND_APPS } from './sound-apps.js';
import { measureBursts } from './sound-bursts.js';
import { clickRun, type Click, type ClickPath } from './sound-clicks.js';
import { measureCpu } from './sound-cpu.js';
import { SoundFloor } from './sound-floor.js';
import { SoundListener } from './sound-listener.js';
import { round, roundStats, stats } from './stats.js';
import { sleep, until } from './timing.js';

export interface SoundOptions {
  dir: string;
  passwordHash: string;
  /** Timed clicks per path (the session, the floor), in `clickBlocks` alternating blocks. */
  clicks: number;
  clickBlocks: number;
  warmupClicks: number;
  /** How long to listen to the bursts app (a burst every 500 ms). */
  burstSeconds: number;
  /** Sessions playing (a tone and noise, by turns) and silent ones, for the CPU windows. */
  playingSessions: number;
  quietSessions: number;
  cpuRounds: number;
  windowMs: number;
  settleMs: number;
  budget: { latencyP50Ms: number; latencyP99Ms: number; kbitPerSecond: number; cpuPctPerSession: number };
  progress: (line: string) => void;
}

/** A null sink does nothing for its first cycle (2 s) before a stream's lower latency takes: past it, with room. */
const FIRST_CYCLE_MS = 2500;

export async function run(o: SoundOptions): Promise<Record<string, unknown>> {
  const { file } = writeConfig(o.dir, o.passwordHash, { name: 'sound', apps: SOUND_APPS });
  const node = await startNode(file, join(o.dir, 'node-sound.log'));
  const open: ProtoSession[] = [];
  const listeners: SoundListener[] = [];
  let floor: SoundFloor | null = null;
  try {
    const { control: signedIn, token } = await signIn(node.url);
    const launch = async (appId: string) => {
      const s = await ProtoSession.launch(node.url, token, appId);
      open.push(s);
      return s;
    };

    // ---- latency: the session against the floor --------------------------------------
    const session = await launch('sound-click');
    const holdfast = clickPathOf(session);
    const ready = new Promise<void>((resolve) => (holdfast.onLine = (line) => line === 'CLICK-READY' && resolve()));
    await Promise.race([ready, sleep(15_000).then(() => Promise.reject(new Error('the click app did not start')))]);
    const listener = new SoundListener(session, CLICK_THRESHOLD, { decode: true });
    listeners.push(listener);
    listener.onOnset = (onset) => holdfast.onOnset?.(onset);
    listener.sound(true);
    floor = await SoundFloor.start(join(o.dir, 'sound-floor'), CLICK_THRESHOLD);
    const paths: Record<'holdfast' | 'floor', ClickPath> = { holdfast, floor };
    await sleep(FIRST_CYCLE_MS);
    const warm: Click[] = [];
    for (const p of Object.values(paths)) await clickRun(p, o.warmupClicks, warm);
    const serverBefore = { holdfast: await serverLatencies(holdfast), floor: await serverLatencies(floor) };
    const clicks: Record<'holdfast' | 'floor', Click[]> = { holdfast: [], floor: [] };
    const lost = { holdfast: 0, floor: 0 };
    const perBlock = Math.ceil(o.clicks / o.clickBlocks);
    for (let b = 0; b < o.clickBlocks; b++) {
      for (const name of b % 2 === 0 ? (['holdfast', 'floor'] as const) : (['floor', 'holdfast'] as const)) {
        lost[name] += (await clickRun(paths[name], perBlock, clicks[name])).lost;
      }
      const p50 = (name: 'holdfast' | 'floor') => stats(clicks[name].map((c) => c.writeToOutputMs)).p50?.toFixed(1);
      o.progress(`clicks block ${b + 1}/${o.clickBlocks}: write → decoded p50 ${p50('holdfast')} ms (floor, parec's read: ${p50('floor')} ms)`);
    }
    const serverAfter = { holdfast: await serverLatencies(holdfast), floor: await serverLatencies(floor) };
    const floorServerPids = floor.serverPids();
    await floor.stop();
    floor = null;
    listener.close();
    await session.close();
    const latency = {
      holdfast: {
        ...summary(clicks.holdfast),
        lost: lost.holdfast,
        // Where the onset was: in the first packet after a silence (the node sends none), or
        // in the one after it — a click late in its packet comes out of Opus 6.5 ms later
        // (its lookahead), in the next packet.
        afterSilence: clicks.holdfast.filter(afterSilence).length,
        onsetOffsetInNextPacketMs: roundStats(stats(clicks.holdfast.filter((c) => !afterSilence(c)).map((c) => c.onsetOffsetMs)), 2),
      },
      floor: { ...summary(clicks.floor), lost: lost.floor },
      warmup: { clicks: warm.length, of: 2 * o.warmupClicks },
      serverLatenciesUs: { before: serverBefore, after: serverAfter },
      floorServerProcesses: floorServerPids.length,
    };
    // ---- sound kept whole across silences ------------------------------------------------
    const burstSession = await launch('sound-bursts');
    let shown = '';
    burstSession.onData = (d) => (shown += d.toString('latin1'));
    await until(() => shown.includes('BURSTS-READY'), 30_000, 'the bursts app');
    burstSession.onData = null;
    const burstListener = new SoundListener(burstSession, BURST_PEAK / 2, { decode: true });
    listeners.push(burstListener);
    const bursts = await measureBursts(burstListener, { seconds: o.burstSeconds, settleMs: FIRST_CYCLE_MS, peak: BURST_PEAK });
    o.progress(`bursts: ${bursts.bursts} of ${BURST_MS} ms decoded as p50 ${bursts.decodedMs.p50} ms; ${bursts.withStraySound} with sound not theirs`);
    burstListener.close();
    await burstSession.close();

    const added = (k: 'p50' | 'p99') => round((latency.holdfast.writeToOutputMs[k] ?? NaN) - (latency.floor.writeToOutputMs[k] ?? NaN), 1);

    // ---- bit rate and CPU: sessions that play all along ---------------------------------
    o.progress(`CPU: ${o.playingSessions} playing sessions (tone and noise by turns), ${o.quietSessions} silent; ${o.cpuRounds} rounds of ${o.windowMs / 1000} s windows …`);
    const playing: Array<{ listener: SoundListener; kind: 'tone' | 'noise' }> = [];
    for (let i = 0; i < o.playingSessions; i++) {
      const kind = i % 2 === 0 ? 'tone' : 'noise';
      const s = await launch(`sound-${kind}`);
      let shown = '';
      s.onData = (d) => (shown += d.toString('latin1'));
      await until(() => shown.includes(`${kind.toUpperCase()}-READY`), 30_000, `the ${kind} app`);
      s.onData = null;
      const l = new SoundListener(s, CLICK_THRESHOLD, { decode: false });
      listeners.push(l);
      playing.push({ listener: l, kind });
    }
    const quiet: SoundListener[] = [];
    for (let i = 0; i < o.quietSessions; i++) {
      const l = new SoundListener(await launch('sound-quiet'), CLICK_THRESHOLD, { decode: false });
      listeners.push(l);
      quiet.push(l);
    }
    // Every sound server up and past its first cycle, every capture path tried once.
    for (const l of [...playing.map((p) => p.listener), ...quiet]) l.sound(true);
    await until(() => playing.every((p) => p.listener.packets > 0), 20_000, 'sound from every playing session');
    await sleep(FIRST_CYCLE_MS);
    const cpu = await measureCpu({ nodePid: node.pid, playing, quiet, rounds: o.cpuRounds, windowMs: o.windowMs, settleMs: o.settleMs, progress: o.progress });
    await signedIn.close();

    const { bitRate, ...nodeCpu } = cpu;
    const worstKbit = Math.max(bitRate.tone.frameKbitPerSoundSecond, bitRate.noise.frameKbitPerSoundSecond);
    return {
      method:
        `latency: a key to a click app (Python feeding pacat --latency-msec=${CLICK_STREAM_LATENCY_MS} 5 ms blocks whenever its pipe holds less than one; the next block is the click, 5 ms of a 2 kHz square at 20000 then decaying) → its onset (first sample ≥ ${CLICK_THRESHOLD}) in the client's decoded Opus, ` +
        'timed from the app\'s write (CLOCK_MONOTONIC, printed by the app) to the packet decoded plus the onset\'s offset in it (when a player that starts a packet as it has it plays that sample); ' +
        'floor: the same app and sound server (SOUND_LAUNCH) outside the sandbox, the onset in what parec reads with the node\'s flags, timed alike; the two alternating in blocks; ' +
        `bursts: ${BURST_MS} ms of 1 kHz stopping dead every 500 ms, each decoded run of packets' longest loud stretch (≥ half the peak, gaps < 1 ms) and loud sound outside it; ` +
        'bit rate: AUDIO frames of sessions looping 2 s of a 440 Hz tone or of white noise through paplay, per second of sound sent (packets × 20 ms); ' +
        'CPU: the node process (every thread) plus its parec processes, windows with the client listening to the playing sessions against windows with nobody listening, per round, per session (sound-cpu.ts)',
      latency,
      addedToFloorMs: { p50: added('p50'), p99: added('p99') },
      bursts: { writtenMs: BURST_MS, ...bursts },
      bitRate,
      cpu: nodeCpu,
      budget: o.budget,
      withinBudget: {
        latencyP50: (latency.holdfast.writeToOutputMs.p50 ?? Infinity) <= o.budget.latencyP50Ms,
        latencyP99: (latency.holdfast.writeToOutputMs.p99 ?? Infinity) <= o.budget.latencyP99Ms,
        bitRate: worstKbit <= o.budget.kbitPerSecond,
        cpu: nodeCpu.perPlayingSessionPct.medianOfRounds <= o.budget.cpuPctPerSession,
      },
    };
  } finally {
    for (const l of listeners) l.close();
    await floor?.stop();
    for (const s of open) await s.close().catch(() => {});
    noteDescendants(node.pid);
    await node.stop();
  }
}

/** The click app's session as a path to click: its terminal in, its lines out, its sound's onsets (wired by the listener). */
function clickPathOf(session: ProtoSession): ClickPath {
  const path: ClickPath = { press: (bytes) => session.input(Buffer.from(bytes)), onLine: null, onOnset: null };
  let text = '';
  session.onData = (data) => {
    text += data.toString('latin1');
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n')) {
      const line = text.slice(0, i).replace(/\r$/, '');
      text = text.slice(i + 1);
      path.onLine?.(line);
    }
  };
  return path;
}

/** The sound server's own latencies (pactl, through the click app's `i`): sinks, sources and the streams on them, µs. */
async function serverLatencies(path: ClickPath): Promise<unknown> {
  let info: unknown = null;
  path.onLine = (line) => {
    if (line.startsWith('I ')) info = JSON.parse(line.slice(2));
  };
  path.press('i');
  await until(() => info !== null, 5000, 'the sound server\'s latencies').catch(() => {});
  path.onLine = null;
  return info;
}

const afterSilence = (c: Click) => c.gapBeforeMs === null || c.gapBeforeMs > 0;

function summary(clicks: Click[]) {
  const of = (k: keyof Click, digits = 2) => roundStats(stats(clicks.map((c) => c[k] as number).filter((v) => typeof v === 'number')), digits);
  return {
    writeToOutputMs: of('writeToOutputMs'),
    keyToOutputMs: of('keyToOutputMs'),
    keyToAppMs: of('keyToAppMs', 3),
    appWaitMs: of('appWaitMs'),
    onsetOffsetMs: of('onsetOffsetMs'),
    pipeBytes: of('pipeBytes', 0),
    decodeUs: of('decodeUs', 0),
  };
}
