// Part 5, memory per idle session: a fresh node holding 1, 50 and 200 idle `cat`
// sessions (1 and 10 with --quick); the broker's growth and its sandboxes' RSS and
// PSS per session, then whether every one still answers and how long closing takes.
import { startNode, waitSandboxesGone } from './node.js';
import { descendants, pssKb, statusKb } from './proc.js';
import { noteDescendants } from './processes.js';
import { ProtoSession, signIn } from './protocol-client.js';
import { N } from './settings.js';
import { round } from './stats.js';
import { msSince, nowNs, sleep, withTimeout } from './timing.js';

function sandboxTotals(nodePid: number) {
  const procs = descendants(nodePid);
  let rss = 0;
  let pss = 0;
  for (const p of procs) {
    rss += statusKb(p.pid, 'VmRSS');
    pss += pssKb(p.pid);
  }
  const comms: Record<string, number> = {};
  for (const p of procs) comms[p.comm] = (comms[p.comm] ?? 0) + 1;
  return { processes: procs.length, rssKb: rss, pssKb: pss, comms };
}

export async function benchMemory(configFile: string, logFile: string) {
  const node = await startNode(configFile, logFile);
  const sessions: ProtoSession[] = [];
  try {
    const { control, token } = await signIn(node.url);
    // Warm up the launch path once, then take the baseline.
    const warm = await ProtoSession.launch(node.url, token, 'cat');
    await sleep(200);
    await warm.close();
    await waitSandboxesGone(node.pid);
    await sleep(1000);
    const base = { rssKb: statusKb(node.pid, 'VmRSS'), pssKb: pssKb(node.pid) };
    const levels = [];
    for (const target of N.memoryLevels) {
      const t0 = nowNs();
      while (sessions.length < target) {
        const batch = Math.min(4, target - sessions.length);
        const opened = await Promise.all(Array.from({ length: batch }, () => ProtoSession.launch(node.url, token, 'cat')));
        sessions.push(...opened);
      }
      const launchSeconds = msSince(t0) / 1000;
      // cat in a sandbox is 3 processes (bwrap, bwrap as pid 1, cat); wait for all to be up.
      await sleep(1500);
      noteDescendants(node.pid);
      const broker = { rssKb: statusKb(node.pid, 'VmRSS'), pssKb: pssKb(node.pid) };
      const sandboxes = sandboxTotals(node.pid);
      levels.push({
        sessions: target,
        launchSeconds: round(launchSeconds, 2),
        brokerRssKb: broker.rssKb,
        brokerPssKb: broker.pssKb,
        brokerRssDeltaPerSessionKb: round((broker.rssKb - base.rssKb) / target, 1),
        brokerPssDeltaPerSessionKb: round((broker.pssKb - base.pssKb) / target, 1),
        sandboxProcesses: sandboxes.processes,
        sandboxProcessesByName: sandboxes.comms,
        sandboxRssPerSessionKb: round(sandboxes.rssKb / target, 1),
        sandboxPssPerSessionKb: round(sandboxes.pssKb / target, 1),
      });
    }
    // Every idle session still answers: one keystroke each, echoed by its PTY.
    let echoed = 0;
    await Promise.all(
      sessions.map(async (s) => {
        const got = new Promise<void>((resolve) => {
          s.onData = (d) => {
            if (d.includes(0x71)) resolve();
          };
        });
        s.input(Buffer.from('q'));
        await withTimeout(got, 10_000, 'echo from an idle session').then(
          () => (echoed += 1),
          () => {},
        );
      }),
    );
    const tClose = nowNs();
    await Promise.all(sessions.splice(0).map((s) => s.close()));
    await waitSandboxesGone(node.pid, 30_000);
    const teardownSeconds = msSince(tClose) / 1000;
    await sleep(1000);
    await control.close();
    return {
      baseline: base,
      levels,
      allSessionsEchoed: { echoed, of: N.memoryLevels.at(-1) },
      teardownSeconds: round(teardownSeconds, 2),
      brokerRssAfterTeardownKb: statusKb(node.pid, 'VmRSS'),
      note: 'broker: VmRSS/PSS of the node process minus its baseline, divided by sessions (includes heap not yet collected); sandboxes: sum over every descendant process of the node (prlimit→bwrap, bwrap pid 1, cat), divided by sessions',
    };
  } finally {
    await Promise.all(sessions.map((s) => s.close()));
    await node.stop();
  }
}
