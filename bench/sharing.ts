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
//   against a control session of `ready` nobody watches: recording on against off. The
//   control against the owner's unwatched session is an A/A ratio: how far two sessions
//   alike stand apart in the run, the floor under any session-against-session figure.
//
// Conditions alternate in rounds (sharing-rounds.ts: each round all five, in an order
// rotated and reversed from round to round), so drift falls on all alike. Each ratio is
// judged as the median over rounds of the round's p50 against the same round's 0-viewer
// p50. The node's CPU per keystroke is taken per block too. The rounds are typed as the
// echo part types (the next key once the echo is back), then again, fewer, at a
// person's pace (a gap after each echo): a diagnostic of whether a cost is in the
// keystroke's way or only follows it.
//
// Then the recording's size: a recorded bash typed into at a steady pace
// (recording-size.ts), its .cast file's growth scaled to a minute.
import { join } from 'node:path';
import { echoRunProto } from './echo.js';
import { startNode, writeConfig } from './node.js';
import { noteDescendants } from './processes.js';
import { ProtoSession, signIn } from './protocol-client.js';
import { measureRecordingSize } from './recording-size.js';
import { measureRounds, SETTLE_KEYS } from './sharing-rounds.js';
import { Viewers } from './sharing-viewers.js';
import { until } from './timing.js';

export interface SharingOptions {
  dir: string;
  passwordHash: string;
  rounds: number;
  /** Timed keystrokes per condition per round. */
  perBlock: number;
  warmup: number;
  /** The same rounds at a person's pace (a diagnostic): fewer, shorter. */
  pacedRounds: number;
  pacedPerBlock: number;
  pacedGapMs: number;
  typingSeconds: number;
  keysPerSecond: number;
  budget: { fiveViewersP50Ratio: number; recordingP50Ratio: number };
  progress: (line: string) => void;
}

const VIEWER = 'viewer';
const RECORDED = { id: 'ready-rec', name: 'ready then cat (recorded)', command: '/bin/sh', args: ['-c', 'echo ready; exec cat'] };
const BASH = { id: 'bash-rec', name: 'bash (recorded)', command: '/bin/bash' };

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
    const { control: signedIn, token } = await signIn(node.url);
    const watcher = await signIn(node.url, VIEWER);
    await watcher.control.close();
    const launch = async (appId: string) => {
      const s = await ProtoSession.launch(node.url, token, appId);
      open.push(s);
      return s;
    };
    const owner = await launch('ready');
    const recorded = await launch(RECORDED.id);
    const control = await launch('ready');
    for (const s of [owner, recorded, control]) await until(() => s.received >= 'ready\r\n'.length, 15_000, '"ready" from the app');
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
    await share(control);
    viewers = Viewers.start({ url: node.url, token: watcher.token, link, cols: 80, rows: 24 });

    // Warm up every path the rounds take, joins and leaves included.
    await echoRunProto(owner, o.warmup);
    await echoRunProto(recorded, o.warmup);
    await echoRunProto(control, o.warmup);
    await viewers.join(5);
    await echoRunProto(owner, o.warmup);
    await viewers.leave();

    const burst = await measureRounds({ rounds: o.rounds, perBlock: o.perBlock, owner, recorded, control, viewers, nodePid: node.pid, progress: o.progress });
    // The same at a person's pace: what the node does after a keystroke's echo (the
    // viewers' frames among it) is done before the next key, not in its way.
    const paced = await measureRounds({ rounds: o.pacedRounds, perBlock: o.pacedPerBlock, owner, recorded, control, viewers, nodePid: node.pid, gapMs: o.pacedGapMs, progress: o.progress });
    const five = burst.ratioP50.viewers5;
    const rec = burst.ratioP50.recorded;

    o.progress(`recording size: typing into a recorded bash for ${o.typingSeconds} s at ${o.keysPerSecond} keys/s …`);
    const bash = await launch(BASH.id);
    let shown = '';
    bash.onData = (d) => (shown = (shown + d.toString('latin1')).slice(-256));
    await until(() => /[$#] $/.test(shown), 15_000, 'the recorded bash\'s prompt');
    bash.onData = null;
    const size = await measureRecordingSize(bash, join(config.node.stateDir, 'recordings'), o.typingSeconds, o.keysPerSecond);
    await signedIn.close();

    return {
      method:
        'byte-at-a-time echo over the bench protocol client (echoRunProto; next key once the echo is back), app `sh -c "echo ready; exec cat"` on a node of the bench\'s config; ' +
        'viewers: WebSocket clients joined through a view-only share link (session.join), in a worker thread at nice 19, each reading every frame (checked: at the owner\'s offset, no gap, before the next block); ' +
        `recorded: the same app under a recording: on session policy; control: a third session of the same app, not recorded, never watched; rounds of all five conditions in rotated, alternately reversed order, ${SETTLE_KEYS} untimed keys before each block; ` +
        'ratios: median over rounds of the round\'s p50 / the same round\'s baseline p50 (viewers: the owner\'s session unwatched; recorded: the control; control: the owner\'s unwatched, an A/A ratio; budgets judged on it), and of the pooled samples; ' +
        `paced: the same rounds with ${o.pacedGapMs} ms between an echo and the next key (diagnostic)`,
      ...burst,
      budget: o.budget,
      withinBudget: { fiveViewers: five.medianOfRounds <= o.budget.fiveViewersP50Ratio, recording: rec.medianOfRounds <= o.budget.recordingP50Ratio },
      paced,
      recordingSize: size,
    };
  } finally {
    await viewers?.stop();
    for (const s of open) await s.close().catch(() => {});
    noteDescendants(node.pid);
    await node.stop();
  }
}
