// Part 14, what sharing and recording cost the person typing (issue 24's benchmark).
// A node of its own, the bench node's config plus a second person (the viewers' sign-in)
// and two recorded apps under a `recording: on` session policy. Measured in one run:
//
// - Keystroke echo of the owner's session (`ready`: `cat` after "ready", the echo part's
//   app, through the echo part's loop, echoRunProto) with 0, 1 and 5 people watching
//   through a view-only share link. The viewers are WebSocket clients of their own in
//   a worker thread (sharing-viewers.ts) that read every frame; between blocks they
//   join or leave, and before the next block each is checked to have read up to the
//   owner's offset, with no break.
// - The same echo in a session of `ready-rec`, the same app under the recording policy,
//   against the owner's session with nobody watching: recording on against off.
//
// Conditions alternate in rounds (each round all four, in an order rotated and
// reversed from round to round), so drift falls on all alike. Each ratio is judged as the
// median over rounds of the round's p50 against the same round's 0-viewer p50; the
// pooled p50s' ratio is reported beside it. The node's CPU per keystroke is taken per
// block too (every thread's run time), which says what a condition costs the broker.
//
// Then the recording's size: a recorded bash typed into at a steady pace
// (recording-size.ts), its .cast file's growth scaled to a minute.
import { join } from 'node:path';
import { cpuSeconds } from './proc.js';
import { echoRunProto } from './echo.js';
import { startNode, writeConfig } from './node.js';
import { noteDescendants } from './processes.js';
import { ProtoSession, signIn } from './protocol-client.js';
import { measureRecordingSize } from './recording-size.js';
import { fig, round, roundStats, stats } from './stats.js';
import { Viewers, type ViewerState } from './sharing-viewers.js';
import { sleep, until } from './timing.js';

export interface SharingOptions {
  dir: string;
  passwordHash: string;
  rounds: number;
  /** Timed keystrokes per condition per round. */
  perBlock: number;
  warmup: number;
  typingSeconds: number;
  keysPerSecond: number;
  budget: { fiveViewersP50Ratio: number; recordingP50Ratio: number };
  progress: (line: string) => void;
}

const VIEWER = 'viewer';
const RECORDED = { id: 'ready-rec', name: 'ready then cat (recorded)', command: '/bin/sh', args: ['-c', 'echo ready; exec cat'] };
const BASH = { id: 'bash-rec', name: 'bash (recorded)', command: '/bin/bash' };
/** Untimed keystrokes before each block: what a join or a switch of session leaves behind settles first. */
const SETTLE_KEYS = 16;

type Condition = 'viewers0' | 'viewers1' | 'viewers5' | 'recorded';
const CONDITIONS: Condition[] = ['viewers0', 'viewers1', 'viewers5', 'recorded'];
const WATCHING: Record<Condition, number> = { viewers0: 0, viewers1: 1, viewers5: 5, recorded: 0 };

export async function run(o: SharingOptions): Promise<Record<string, unknown>> {
  const { file, config } = writeConfig(o.dir, o.passwordHash, {
    name: 'sharing',
    users: [VIEWER],
    apps: [RECORDED, BASH],
    sessionPolicies: [{ apps: [RECORDED.id, BASH.id], recording: 'on' }],
  });
  const node = await startNode(file, join(o.dir, 'node-sharing.log'));
  const open: ProtoSession[] = [];
  let viewers: Viewers | null = null;
  try {
    const { control, token } = await signIn(node.url);
    const watcher = await signIn(node.url, VIEWER);
    await watcher.control.close();
    const launch = async (appId: string) => {
      const s = await ProtoSession.launch(node.url, token, appId);
      open.push(s);
      return s;
    };
    const owner = await launch('ready');
    const recorded = await launch(RECORDED.id);
    for (const s of [owner, recorded]) await until(() => s.received >= 'ready\r\n'.length, 15_000, '"ready" from the app');
    if (owner.started.recorded || !recorded.started.recorded) throw new Error(`recorded: ready ${owner.started.recorded}, ${RECORDED.id} ${recorded.started.recorded}; expected false, true`);
    // Both shared (a link nobody uses costs nothing, but then they differ only in the policy).
    const share = async (s: ProtoSession) => {
      const made = await s.client.request({ type: 'session.share.create', mode: 'view' }, 'session.sharing');
      const link = made.shares.find((x) => x.link)?.link;
      if (!link) throw new Error('session.sharing without a link');
      return link;
    };
    const link = await share(owner);
    await share(recorded);
    viewers = Viewers.start({ url: node.url, token: watcher.token, link, cols: 80, rows: 24 });

    // Warm up every path the rounds take, joins and leaves included.
    await echoRunProto(owner, o.warmup);
    await echoRunProto(recorded, o.warmup);
    await viewers.join(5);
    await echoRunProto(owner, o.warmup);
    await caughtUp(viewers, owner);
    await viewers.leave();

    const samples: Record<Condition, number[]> = { viewers0: [], viewers1: [], viewers5: [], recorded: [] };
    const cpuUs: Record<Condition, number[]> = { viewers0: [], viewers1: [], viewers5: [], recorded: [] };
    const rounds: Array<{ order: Condition[]; p50: Record<Condition, number>; p99: Record<Condition, number> }> = [];
    const read = { gaps: 0, catchUpMs: [] as number[] };
    let watching = 0;
    for (let r = 0; r < o.rounds; r++) {
      const rotated = [...CONDITIONS.slice(r % 4), ...CONDITIONS.slice(0, r % 4)];
      const order = r % 2 === 0 ? rotated : rotated.reverse();
      const p50 = {} as Record<Condition, number>;
      const p99 = {} as Record<Condition, number>;
      for (const condition of order) {
        const want = WATCHING[condition];
        if (want < watching) {
          note(read, await viewers.leave());
          watching = 0;
        }
        if (want > watching) watching = (await viewers.join(want)).length;
        const session = condition === 'recorded' ? recorded : owner;
        await echoRunProto(session, SETTLE_KEYS);
        const block: number[] = [];
        const cpu0 = cpuSeconds([node.pid]).total;
        await echoRunProto(session, o.perBlock, block);
        cpuUs[condition].push(((cpuSeconds([node.pid]).total - cpu0) * 1e6) / o.perBlock);
        samples[condition].push(...block);
        const s = stats(block);
        p50[condition] = round(fig(s.p50));
        p99[condition] = round(fig(s.p99));
        if (watching > 0) read.catchUpMs.push(await caughtUp(viewers, owner));
      }
      rounds.push({ order, p50, p99 });
      o.progress(`round ${r + 1}/${o.rounds}: p50 ${CONDITIONS.map((c) => `${c} ${p50[c]}`).join(', ')} µs`);
    }
    note(read, await viewers.leave());

    const all = Object.fromEntries(CONDITIONS.map((c) => [c, stats(samples[c])])) as Record<Condition, ReturnType<typeof stats>>;
    const ratio = (c: Condition) => {
      const perRound = rounds.map((x) => x.p50[c] / x.p50.viewers0);
      return {
        medianOfRounds: round(fig(stats(perRound).p50), 3),
        pooled: round(fig(all[c].p50) / fig(all.viewers0.p50), 3),
        p99Pooled: round(fig(all[c].p99) / fig(all.viewers0.p99), 3),
        roundsAbove1: perRound.filter((v) => v > 1).length,
        perRound: perRound.map((v) => round(v, 3)),
      };
    };
    const cpu = (c: Condition) => round(fig(stats(cpuUs[c]).p50));
    const one = ratio('viewers1');
    const five = ratio('viewers5');
    const rec = ratio('recorded');

    o.progress(`recording size: typing into a recorded bash for ${o.typingSeconds} s at ${o.keysPerSecond} keys/s …`);
    const bash = await launch(BASH.id);
    let shown = '';
    bash.onData = (d) => (shown = (shown + d.toString('latin1')).slice(-256));
    await until(() => /[$#] $/.test(shown), 15_000, 'the recorded bash\'s prompt');
    bash.onData = null;
    const size = await measureRecordingSize(bash, join(config.node.stateDir, 'recordings'), o.typingSeconds, o.keysPerSecond);
    await control.close();

    return {
      method:
        'byte-at-a-time echo over the bench protocol client (echoRunProto; next key once the echo is back), app `sh -c "echo ready; exec cat"` on a node of the bench\'s config; ' +
        'viewers: WebSocket clients joined through a view-only share link (session.join), in a worker thread at nice 19, each reading every frame (checked: at the owner\'s offset, no gap, before the next block); ' +
        `recorded: the same app under a recording: on session policy; rounds of all four conditions in rotated, alternately reversed order, ${SETTLE_KEYS} untimed keys before each block; ` +
        'ratios: median over rounds of the round\'s p50 / the same round\'s 0-viewer p50 (budgets judged on it), and of the pooled samples',
      rounds: o.rounds,
      perBlock: o.perBlock,
      echoUs: Object.fromEntries(CONDITIONS.map((c) => [c, roundStats(all[c])])),
      nodeCpuUsPerKey: Object.fromEntries(CONDITIONS.map((c) => [c, cpu(c)])),
      viewers: {
        ratioP50: { one, five },
        budgetFiveP50Ratio: o.budget.fiveViewersP50Ratio,
        withinBudget: five.medianOfRounds <= o.budget.fiveViewersP50Ratio,
        read: { gaps: read.gaps, catchUpMs: roundStats(stats(read.catchUpMs)) },
      },
      recording: {
        ratioP50: rec,
        budgetP50Ratio: o.budget.recordingP50Ratio,
        withinBudget: rec.medianOfRounds <= o.budget.recordingP50Ratio,
        size,
      },
      perRound: rounds,
    };
  } finally {
    await viewers?.stop();
    for (const s of open) await s.close().catch(() => {});
    noteDescendants(node.pid);
    await node.stop();
  }
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
