// Resume benchmark: how long from the path coming back to a live session, and how big
// the snapshots are. Run by the bench's runner (bench/parts.ts; it needs the
// TypeScript session core and a node in this process). Each drop: black-hole the path, wait for the client to notice, lift
// the black hole, and ask the client to retry at once, so the time measured excludes
// the backoff wait — which is reported separately, as the wait the client would have
// taken on its own schedule.
import { FaultProxy } from '../support/fault-proxy.js';
import { Screen, client, launch, startNode } from '../support/harness.js';

const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
};

export async function run(drops = 20): Promise<Record<string, unknown>> {
  const node = await startNode();
  const proxy = await FaultProxy.start({ host: '127.0.0.1', port: Number(new URL(node.url).port) });
  try {
    const ann = client(proxy.url);
    await ann.signIn('ann', 'ann-pw');
    const stream = await launch(ann, 'python');
    const screen = new Screen(stream);
    await screen.waitFor('>>> ');
    const resumeMs: number[] = [];
    const backoffMs: number[] = [];
    for (let i = 0; i < drops; i += 1) {
      proxy.blackhole(true);
      const cut = Date.now();
      stream.sendInput(`${i}+1000\r`);
      while (stream.view.status === 'streaming' && Date.now() - cut < 10_000) await new Promise((r) => setTimeout(r, 10));
      // Let a retry or two fail into the black hole, as on a real outage.
      await new Promise((r) => setTimeout(r, 300));
      proxy.drop();
      proxy.blackhole(false);
      // The attempt that was stuck in the black hole fails with the drop; wait until the
      // client is back to waiting for its next try, then note how long that wait was.
      while (stream.view.status !== 'reconnecting') await new Promise((r) => setImmediate(r));
      const back = performance.now();
      const scheduled = stream.view.nextTryAt;
      if (scheduled !== null) backoffMs.push(Math.max(0, scheduled - Date.now()));
      stream.retryNow();
      const status = () => stream.view.status as string; // changes under us, whatever TS narrowed
      while (status() !== 'streaming') await new Promise((r) => setImmediate(r));
      resumeMs.push(performance.now() - back);
      await screen.waitFor(String(i + 1000), 10_000);
    }
    ann.signOut();

    // Snapshot sizes: a full 80×24 and 200×60 screen of ordinary text.
    const sizes: Record<string, number> = {};
    for (const [cols, rows] of [
      [80, 24],
      [200, 60],
    ] as const) {
      const c = client(node.url);
      await c.signIn('ann', 'ann-pw');
      const s = await launch(c, 'python', cols, rows);
      const sc = new Screen(s);
      await sc.waitFor('>>> ');
      s.sendInput(`for i in range(${rows * 2}): print(("line %d " % i) + "lorem ipsum dolor sit amet " * ${Math.ceil(cols / 30)})\r\r`);
      await sc.waitFor(`line ${rows * 2 - 1}`);
      await new Promise((r) => setTimeout(r, 200));
      const other = client(node.url);
      await other.signIn('ann', 'ann-pw');
      const [summary] = (await other.listSessions()).filter((x) => x.sessionId === s.sessionId);
      const attached = other.attach(summary!, cols, rows);
      let snapshot = '';
      attached.setSink({ write: (_d, done) => done(), reset: (text) => (snapshot = text) });
      await attached.ready();
      sizes[`${cols}x${rows}`] = Buffer.byteLength(snapshot);
      c.signOut();
      other.signOut();
    }
    return {
      drops,
      resumeAfterPathBackMs: { p50: quantile(resumeMs, 0.5), p99: quantile(resumeMs, 0.99), max: Math.max(...resumeMs) },
      backoffWaitMs: { p50: quantile(backoffMs, 0.5), p99: quantile(backoffMs, 0.99) },
      snapshotBytes: sizes,
      budget: { resumeP50Ms: 150 },
    };
  } finally {
    await proxy.stop();
    await node.stop();
  }
}
