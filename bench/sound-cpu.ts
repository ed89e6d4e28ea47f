// Part 15's CPU windows (sound.ts): what a playing session's sound costs the node. The
// apps play all along — N sessions of a tone or noise, and M sessions of a silent sound
// server — and only who listens changes from window to window:
//   off      nobody listens: the node reads no sound at all (the baseline)
//   playing  the bench's client listens to the N playing sessions
//   silent   it listens to the M silent ones (a sink nobody plays into: a read and a compare)
// every round all three, the order rotated and reversed from round to round (ABAB…: this
// machine's other load drifts, and falls on all alike). A window starts a settling time
// after the switch (parec started, the first packets out) and is timed on the node's
// process (every thread's run time, to the ns) and the parec processes it runs for its
// listeners, which are the node's cost: it starts them, as the sandbox's user. The
// sandboxes' PulseAudio is the app's cost, reported apart.
import { cpuSeconds, descendants, type ProcStat } from './proc.js';
import type { SoundListener } from './sound-listener.js';
import { round } from './stats.js';
import { sleep } from './timing.js';

export type Condition = 'off' | 'playing' | 'silent';
const CONDITIONS: Condition[] = ['off', 'playing', 'silent'];

export interface CpuOptions {
  nodePid: number;
  /** Sessions that play all along, and what they play. */
  playing: Array<{ listener: SoundListener; kind: 'tone' | 'noise' }>;
  /** Sessions with a sound server nobody plays into. */
  quiet: SoundListener[];
  rounds: number;
  windowMs: number;
  settleMs: number;
  progress: (line: string) => void;
}

interface Window {
  round: number;
  condition: Condition;
  seconds: number;
  /** Share of one core: the node's process, its parec processes, the PulseAudio of the playing and of the silent sandboxes. */
  node: number;
  parec: number;
  pulsePlaying: number;
  pulseQuiet: number;
  /** AUDIO packets the playing and the silent sessions sent in the window (per session). */
  packets: { playing: number[]; quiet: number[] };
}

type Counts = ReturnType<SoundListener['counts']>;

export async function measureCpu(o: CpuOptions) {
  const windows: Window[] = [];
  const sent: Record<'tone' | 'noise', Counts & { seconds: number }> = {
    tone: { packets: 0, payloadBytes: 0, frameBytes: 0, wsBytes: 0, seconds: 0 },
    noise: { packets: 0, payloadBytes: 0, frameBytes: 0, wsBytes: 0, seconds: 0 },
  };
  for (let r = 0; r < o.rounds; r++) {
    const rotated = [...CONDITIONS.slice(r % 3), ...CONDITIONS.slice(0, r % 3)];
    for (const condition of r % 2 === 0 ? rotated : rotated.reverse()) {
      for (const p of o.playing) p.listener.sound(condition === 'playing');
      for (const q of o.quiet) q.sound(condition === 'silent');
      await sleep(o.settleMs);
      const procs = classify(o.nodePid);
      const before = { playing: o.playing.map((p) => p.listener.counts()), quiet: o.quiet.map((q) => q.counts()) };
      const cpu0 = readCpu(o.nodePid, procs);
      const t0 = process.hrtime.bigint();
      await sleep(o.windowMs);
      const cpu1 = readCpu(o.nodePid, procs);
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const after = { playing: o.playing.map((p) => p.listener.counts()), quiet: o.quiet.map((q) => q.counts()) };
      const share = (k: keyof typeof cpu0) => cpu1[k] - cpu0[k] < 0 ? NaN : (cpu1[k] - cpu0[k]) / seconds;
      windows.push({
        round: r,
        condition,
        seconds,
        node: share('node'),
        parec: share('parec'),
        pulsePlaying: share('pulsePlaying'),
        pulseQuiet: share('pulseQuiet'),
        packets: { playing: after.playing.map((a, i) => a.packets - before.playing[i]!.packets), quiet: after.quiet.map((a, i) => a.packets - before.quiet[i]!.packets) },
      });
      if (condition === 'playing') {
        o.playing.forEach((p, i) => {
          const s = sent[p.kind];
          s.packets += after.playing[i]!.packets - before.playing[i]!.packets;
          s.payloadBytes += after.playing[i]!.payloadBytes - before.playing[i]!.payloadBytes;
          s.frameBytes += after.playing[i]!.frameBytes - before.playing[i]!.frameBytes;
          s.wsBytes += after.playing[i]!.wsBytes - before.playing[i]!.wsBytes;
          s.seconds += seconds;
        });
      }
    }
    const w = windows.slice(-3);
    const pct = (c: Condition) => `${c} ${((w.find((x) => x.condition === c)!.node + w.find((x) => x.condition === c)!.parec) * 100).toFixed(1)} %`;
    o.progress(`CPU round ${r + 1}/${o.rounds}: node + parec ${CONDITIONS.map(pct).join(', ')} of a core`);
  }
  for (const p of o.playing) p.listener.sound(false);
  for (const q of o.quiet) q.sound(false);
  return summarize(o, windows, sent);
}

/** The node's parec processes, and the PulseAudio of each sandbox: playing (paplay in its tree) or not. */
function classify(nodePid: number) {
  const all = descendants(nodePid);
  const byPid = new Map(all.map((p) => [p.pid, p]));
  const sandboxOf = (p: ProcStat) => {
    let at = p;
    while (at.ppid !== nodePid && byPid.has(at.ppid)) at = byPid.get(at.ppid)!;
    return at.pid;
  };
  const playingSandboxes = new Set(all.filter((p) => p.comm === 'paplay').map(sandboxOf));
  const pulse = all.filter((p) => p.comm === 'pulseaudio');
  return {
    parec: all.filter((p) => p.comm === 'parec' && p.ppid === nodePid).map((p) => p.pid),
    pulsePlaying: pulse.filter((p) => playingSandboxes.has(sandboxOf(p))).map((p) => p.pid),
    pulseQuiet: pulse.filter((p) => !playingSandboxes.has(sandboxOf(p))).map((p) => p.pid),
  };
}

function readCpu(nodePid: number, procs: ReturnType<typeof classify>) {
  const sum = (pids: number[]) => pids.reduce((s, pid) => s + cpuSeconds([pid]).total, 0);
  return { node: cpuSeconds([nodePid]).total, parec: sum(procs.parec), pulsePlaying: sum(procs.pulsePlaying), pulseQuiet: sum(procs.pulseQuiet) };
}

const median = (values: number[]) => {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const mean = (values: number[]) => values.reduce((s, v) => s + v, 0) / Math.max(1, values.length);
/** A share of one core as a percentage, 2 decimals. */
const pct = (v: number) => round(v * 100, 2);

function summarize(o: CpuOptions, windows: Window[], sent: Record<'tone' | 'noise', Counts & { seconds: number }>) {
  const n = o.playing.length;
  const m = o.quiet.length;
  const of = (r: number, c: Condition) => windows.find((w) => w.round === r && w.condition === c)!;
  const rounds = [...Array(o.rounds).keys()];
  // Per round: the condition's window against the same round's `off`, per session listened.
  const perSession = (c: Condition, count: number, k: (w: Window) => number) => rounds.map((r) => (k(of(r, c)) - k(of(r, 'off'))) / count);
  const total = (w: Window) => w.node + w.parec;
  const playing = perSession('playing', n, total);
  const silent = perSession('silent', m, total);
  const byCondition = (c: Condition) => {
    const ws = windows.filter((w) => w.condition === c);
    return { nodePct: pct(mean(ws.map((w) => w.node))), parecPct: pct(mean(ws.map((w) => w.parec))), pulsePlayingPct: pct(mean(ws.map((w) => w.pulsePlaying))), pulseQuietPct: pct(mean(ws.map((w) => w.pulseQuiet))) };
  };
  const rate = (s: Counts & { seconds: number }) => ({
    packets: s.packets,
    /** Opus payload per second of sound sent (a packet is 20 ms): the codec's own rate. */
    payloadKbitPerSoundSecond: round((s.payloadBytes * 8) / (s.packets * 0.02) / 1000, 1),
    /** The same with each AUDIO frame's 5-byte header, and with the WebSocket frame's header too. */
    frameKbitPerSoundSecond: round((s.frameBytes * 8) / (s.packets * 0.02) / 1000, 1),
    wsKbitPerSoundSecond: round((s.wsBytes * 8) / (s.packets * 0.02) / 1000, 1),
    /** Per second of the window: what a listener's link carries on average (paplay's restarts leave short silences). */
    wsKbitPerSecond: round((s.wsBytes * 8) / s.seconds / 1000, 1),
    meanPacketBytes: round(s.payloadBytes / s.packets, 1),
  });
  const playingWindows = windows.filter((w) => w.condition === 'playing');
  const offWindows = windows.filter((w) => w.condition === 'off');
  const silentWindows = windows.filter((w) => w.condition === 'silent');
  return {
    sessions: { playing: n, tone: o.playing.filter((p) => p.kind === 'tone').length, noise: o.playing.filter((p) => p.kind === 'noise').length, quiet: m },
    rounds: o.rounds,
    windowMs: o.windowMs,
    settleMs: o.settleMs,
    /** The node's process and its parec, % of one core per session listened, against the same round's `off`. */
    perPlayingSessionPct: { medianOfRounds: pct(median(playing)), mean: pct(mean(playing)), perRound: playing.map(pct) },
    perPlayingSessionNodeOnlyPct: pct(median(perSession('playing', n, (w) => w.node))),
    perPlayingSessionParecPct: pct(median(perSession('playing', n, (w) => w.parec))),
    /** CPU seconds per minute of sound, per session: the same figure over a minute. */
    cpuSecondsPerAudioMinute: round(median(playing) * 60, 3),
    perSilentSessionPct: { medianOfRounds: pct(median(silent)), mean: pct(mean(silent)), perRound: silent.map(pct) },
    byCondition: { off: byCondition('off'), playing: byCondition('playing'), silent: byCondition('silent') },
    /** The app's side: its sound server, per playing session, with the node's parec reading it and without. */
    pulseaudioPerPlayingSessionPct: { listened: pct(mean(playingWindows.map((w) => w.pulsePlaying)) / n), notListened: pct(mean(offWindows.map((w) => w.pulsePlaying)) / n) },
    pulseaudioPerSilentSessionPct: { listened: pct(mean(silentWindows.map((w) => w.pulseQuiet)) / m), notListened: pct(mean(offWindows.map((w) => w.pulseQuiet)) / m) },
    /** Sound came from every playing session in every playing window, and from no session when nobody listened or nothing played. */
    soundAsExpected:
      playingWindows.every((w) => w.packets.playing.every((p) => p > 0)) &&
      windows.filter((w) => w.condition !== 'playing').every((w) => w.packets.playing.every((p) => p === 0)) &&
      windows.every((w) => w.packets.quiet.every((p) => p === 0)),
    packetsPerSecondPerSession: round(mean(playingWindows.flatMap((w) => w.packets.playing.map((p) => p / w.seconds))), 1),
    bitRate: { tone: rate(sent.tone), noise: rate(sent.noise) },
    windows: windows.map((w) => ({ ...w, seconds: round(w.seconds, 2), node: pct(w.node), parec: pct(w.parec), pulsePlaying: pct(w.pulsePlaying), pulseQuiet: pct(w.pulseQuiet) })),
  };
}
