// Part 15's check that sound comes out whole across silences (sound.ts). The node sends
// no packet for silence, and Opus holds back the last 6.5 ms it was given (its
// lookahead) until the next packet: a sound that stops dead before a silence can lose
// its end, and the next sound can start with it. The sound-bursts app plays 100 ms of
// 1 kHz that stop dead, every 500 ms; the bench decodes each burst — a run of packets
// 20 ms apart on the sound's clock, silence on either side — and measures its longest
// stretch of loud sound (the burst, written 100 ms long) and any loud sound outside it
// (stray: sound of another burst, or none).
import type { SoundListener } from './sound-listener.js';
import { RATE } from './sound-listener.js';
import { round, roundStats, stats } from './stats.js';
import { sleep } from './timing.js';

/** Loud: at least half the burst's peak (a 1 kHz sine is, but for 1/3 of each period: 16 samples). */
const GAP_SAMPLES = RATE / 1000;

/** Listens for `seconds` (after `settleMs`: the capture started, the sink past its first cycle). */
export async function measureBursts(listener: SoundListener, { seconds, settleMs, peak }: { seconds: number; settleMs: number; peak: number }) {
  const runs: Int16Array[][] = [];
  let lastAt: number | null = null;
  listener.sound(true);
  await sleep(settleMs);
  listener.onPcm = (pcm, at) => {
    if (lastAt === null || at - lastAt !== 20) runs.push([]);
    lastAt = at;
    // The left channel (both carry the same).
    const left = new Int16Array(pcm.length / 4);
    for (let i = 0; i < left.length; i++) left[i] = pcm.readInt16LE(i * 4);
    runs.at(-1)!.push(left);
  };
  await sleep(seconds * 1000);
  listener.sound(false);
  listener.onPcm = null;
  // The first and the last run may be a burst cut by the listening's start or end.
  const whole = runs.slice(1, -1).map((run) => analyse(run, peak / 2));
  const strays = whole.filter((b) => b.strayMs > 0);
  return {
    bursts: whole.length,
    decodedMs: roundStats(stats(whole.map((b) => b.burstMs)), 2),
    withStraySound: strays.length,
    straySoundMs: roundStats(stats(strays.map((b) => b.strayMs)), 2),
    packetsPerBurst: roundStats(stats(runs.slice(1, -1).map((r) => r.length)), 1),
  };
}

/** The longest loud stretch of a run (gaps under 1 ms are a sine's quiet part), and the span of loud sound outside it, in ms. */
function analyse(run: Int16Array[], threshold: number) {
  const loud: number[] = [];
  let at = 0;
  for (const block of run) {
    for (let i = 0; i < block.length; i++) if (Math.abs(block[i]!) >= threshold) loud.push(at + i);
    at += block.length;
  }
  let best = { from: 0, to: -1 };
  let start = 0;
  for (let i = 1; i <= loud.length; i++) {
    if (i === loud.length || loud[i]! - loud[i - 1]! > GAP_SAMPLES) {
      if (loud.length > 0 && loud[i - 1]! - loud[start]! > best.to - best.from) best = { from: loud[start]!, to: loud[i - 1]! };
      start = i;
    }
  }
  // Loud sound before the burst and after it, each as a span (first to last loud sample).
  const span = (s: number[]) => (s.length === 0 ? 0 : s.at(-1)! - s[0]! + 1);
  const outside = span(loud.filter((s) => s < best.from)) + span(loud.filter((s) => s > best.to));
  return { burstMs: round(((best.to - best.from + 1) / RATE) * 1000, 2), strayMs: round((outside / RATE) * 1000, 2) };
}
