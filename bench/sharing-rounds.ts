// Part 14's rounds (sharing.ts): keystroke echo under five conditions — the owner's
// session with 0, 1 and 5 people watching it; a session of the same app recorded; and a
// control, another session of the same app, neither watched nor recorded — every round
// all five, in an order rotated and reversed from round to round, so drift falls on all
// alike. A cost is the median over rounds of a p50 against the same round's baseline p50
// (the pooled samples' ratio beside it): viewers against the owner's session with nobody
// watching; recording against the control, the one that differs from it only in the
// policy; and the control against the owner's unwatched session, which says how far two
// sessions alike stand apart in a run (an A/A ratio). The node's CPU per keystroke (every
// thread's run time over the block) says what each costs the broker.
import { echoRunProto } from './echo.js';
import { cpuSeconds } from './proc.js';
import type { ProtoSession } from './protocol-client.js';
import { fig, round, roundStats, stats, type Stats } from './stats.js';
import type { Viewers, ViewerState } from './sharing-viewers.js';
import { sleep } from './timing.js';

export type Condition = 'viewers0' | 'viewers1' | 'viewers5' | 'recorded' | 'control';
export const CONDITIONS: Condition[] = ['viewers0', 'viewers1', 'viewers5', 'recorded', 'control'];
const WATCHING: Record<Condition, number> = { viewers0: 0, viewers1: 1, viewers5: 5, recorded: 0, control: 0 };
/** What each is measured against. */
const BASELINE: Partial<Record<Condition, Condition>> = { viewers1: 'viewers0', viewers5: 'viewers0', recorded: 'control', control: 'viewers0' };
/** Untimed keystrokes before each block: what a join or a switch of session leaves behind settles first. */
export const SETTLE_KEYS = 16;

export interface RoundsOptions {
  rounds: number;
  perBlock: number;
  /** The owner's session (shared; viewers join it), the same app recorded, and again neither. */
  owner: ProtoSession;
  recorded: ProtoSession;
  control: ProtoSession;
  viewers: Viewers;
  nodePid: number;
  /** ms between a keystroke's echo and the next (a person's pace); none: the next at once, as the echo part types. */
  gapMs?: number;
  progress: (line: string) => void;
}

export async function measureRounds(o: RoundsOptions) {
  const samples = Object.fromEntries(CONDITIONS.map((c) => [c, []])) as unknown as Record<Condition, number[]>;
  const cpuUs = Object.fromEntries(CONDITIONS.map((c) => [c, []])) as unknown as Record<Condition, number[]>;
  const sessionOf: Record<Condition, ProtoSession> = { viewers0: o.owner, viewers1: o.owner, viewers5: o.owner, recorded: o.recorded, control: o.control };
  const rounds: Array<{ order: Condition[]; p50: Record<Condition, number>; p99: Record<Condition, number> }> = [];
  const read = { gaps: 0, catchUpMs: [] as number[] };
  const pace = o.gapMs === undefined ? undefined : { gapMs: o.gapMs, stop: () => false };
  let watching = 0;
  for (let r = 0; r < o.rounds; r++) {
    const rotated = [...CONDITIONS.slice(r % CONDITIONS.length), ...CONDITIONS.slice(0, r % CONDITIONS.length)];
    const order = r % 2 === 0 ? rotated : rotated.reverse();
    const p50 = {} as Record<Condition, number>;
    const p99 = {} as Record<Condition, number>;
    for (const condition of order) {
      const want = WATCHING[condition];
      if (want < watching) {
        note(read, await o.viewers.leave());
        watching = 0;
      }
      if (want > watching) watching = (await o.viewers.join(want)).length;
      const session = sessionOf[condition];
      await echoRunProto(session, SETTLE_KEYS, undefined, pace);
      const block: number[] = [];
      const cpu0 = cpuSeconds([o.nodePid]).total;
      await echoRunProto(session, o.perBlock, block, pace);
      cpuUs[condition].push(((cpuSeconds([o.nodePid]).total - cpu0) * 1e6) / o.perBlock);
      samples[condition].push(...block);
      const s = stats(block);
      p50[condition] = round(fig(s.p50));
      p99[condition] = round(fig(s.p99));
      if (watching > 0) read.catchUpMs.push(await caughtUp(o.viewers, o.owner));
    }
    rounds.push({ order, p50, p99 });
    o.progress(`${pace ? `paced (${o.gapMs} ms) ` : ''}round ${r + 1}/${o.rounds}: p50 ${CONDITIONS.map((c) => `${c} ${p50[c]}`).join(', ')} µs`);
  }
  note(read, await o.viewers.leave());

  const all = Object.fromEntries(CONDITIONS.map((c) => [c, stats(samples[c])])) as Record<Condition, Stats>;
  const ratio = (c: Condition) => {
    const base = BASELINE[c]!;
    const perRound = rounds.map((x) => x.p50[c] / x.p50[base]);
    return {
      against: base,
      medianOfRounds: round(fig(stats(perRound).p50), 3),
      pooled: round(fig(all[c].p50) / fig(all[base].p50), 3),
      p99Pooled: round(fig(all[c].p99) / fig(all[base].p99), 3),
      roundsAbove1: perRound.filter((v) => v > 1).length,
      perRound: perRound.map((v) => round(v, 3)),
    };
  };
  return {
    ...(o.gapMs === undefined ? {} : { gapMs: o.gapMs }),
    rounds: o.rounds,
    perBlock: o.perBlock,
    echoUs: Object.fromEntries(CONDITIONS.map((c) => [c, roundStats(all[c])])) as Record<Condition, Stats>,
    nodeCpuUsPerKey: Object.fromEntries(CONDITIONS.map((c) => [c, round(fig(stats(cpuUs[c]).p50))])) as Record<Condition, number>,
    ratioP50: { viewers1: ratio('viewers1'), viewers5: ratio('viewers5'), recorded: ratio('recorded'), control: ratio('control') },
    read: { gaps: read.gaps, catchUpMs: roundStats(stats(read.catchUpMs)) },
    perRound: rounds,
  };
}

/** The viewers left: any break in what they read is kept (caughtUp() checked them up to the last block). */
function note(read: { gaps: number }, left: ViewerState[]): void {
  for (const v of left) read.gaps += v.gaps;
}

/** Until every viewer has read up to what the owner has (ms it took); a watcher let go or a break in its stream fails the run. */
async function caughtUp(viewers: Viewers, owner: ProtoSession): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    const states = await viewers.state();
    const lost = states.find((v) => v.closed !== null || v.gaps > 0);
    if (lost) throw new Error(`a viewer ${lost.closed ? `was closed (${lost.closed})` : 'missed output'} while the owner typed`);
    if (states.every((v) => v.next === owner.received)) return round(performance.now() - t0, 1);
    if (performance.now() - t0 > 5000) throw new Error(`viewers at ${states.map((v) => v.next).join(', ')} after 5 s, the owner at ${owner.received}`);
    await sleep(2);
  }
}
