// A detached session that floods its terminal (issue 21, item 10). With nobody
// attached the broker used to read and model everything the app wrote, at the cost of
// the broker's CPU and memory, not the session's: eight such shells held it at more
// than a core. Now a detached app is held back like one whose client stopped reading —
// a bounded allowance, then backpressure — and a resuming client is shown the screen
// as it stands, after which the session works as before.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { FaultProxy } from '../support/fault-proxy.js';
import { readFileSync } from 'node:fs';
import { client, launch, processesMentioning, startNode, type TestNode } from '../support/harness.js';
import type { SessionStream } from '../shared/core/index.js';

let t: TestNode;
let proxy: FaultProxy;
beforeAll(async () => {
  t = await startNode({ node: { sessionHoldSeconds: 120 } });
  proxy = await FaultProxy.start({ host: '127.0.0.1', port: Number(new URL(t.url).port) });
});
afterAll(async () => {
  await proxy?.stop();
  await t?.stop();
});

/** The tail of what a client was shown (a flood would make the whole of it huge), and its resets. */
function tail(stream: SessionStream) {
  const seen = { text: '', snapshot: '', resets: 0 };
  stream.setSink({
    write: (data, done) => {
      seen.text = (seen.text + new TextDecoder().decode(data)).slice(-20_000);
      done();
    },
    reset: (snapshot) => {
      seen.resets += 1;
      seen.snapshot = seen.text = snapshot;
    },
  });
  return seen;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const cpuMs = () => {
  const used = process.cpuUsage();
  return (used.user + used.system) / 1000;
};
/** Bytes a process has written so far (null where /proc does not tell this user). */
const writtenBy = (pid: number): number | null => {
  try {
    return Number(/^wchar: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))![1]);
  } catch {
    return null;
  }
};

describe('a detached session flooding its terminal', () => {
  it('is held back at a bounded cost to the broker, and resumes on the current screen', async () => {
    const ann = client(proxy.url);
    await ann.signIn('ann', 'ann-pw');
    const stream = await launch(ann, 'shell', 80, 24);
    const seen = tail(stream);
    await vi.waitFor(() => expect(seen.text).toContain('$ '), { timeout: 10_000 });
    stream.sendInput('yes $(printf "%0.sx" {1..2000})\r');
    await vi.waitFor(() => expect(seen.text).toContain('x'.repeat(2000)), { timeout: 10_000 });

    // The person's connection is lost, and stays lost for a while.
    proxy.refuse(true);
    proxy.drop();
    const session = () => {
      const found = t.node.ctx.sessions.lookup(stream.view.sessionId!);
      if (found.found !== 'running') throw new Error('the session is gone');
      return found.session;
    };
    await vi.waitFor(() => expect(session().attached).toBe(false), { timeout: 5000 });
    const detachedAt = session().outputBytes;
    // The allowance a detached app starts with is spent at once by a flood.
    await sleep(500);

    const [yes] = processesMentioning('yes ' + 'x'.repeat(100));
    expect(yes).toBeDefined();
    const fromYes = writtenBy(yes!.pid);
    const fromBytes = session().outputBytes;
    const fromCpu = cpuMs();
    const fromTime = performance.now();
    await sleep(3000);
    const seconds = (performance.now() - fromTime) / 1000;
    const brokerCpu = (cpuMs() - fromCpu) / 1000 / seconds;
    const read = session().outputBytes - fromBytes;
    // The app itself is blocked in write(2) (what it wrote beyond what was read waits in the PTY).
    const wrote = writtenBy(yes!.pid);
    if (fromYes !== null && wrote !== null) expect((wrote - fromYes) / seconds).toBeLessThan(256 * 1024);
    // Unheld, one such shell had the broker read tens of MB a second at most of a core.
    expect(read / seconds).toBeLessThan(256 * 1024);
    expect(session().outputBytes - detachedAt).toBeLessThan(2 * 1024 * 1024);
    expect(brokerCpu).toBeLessThan(0.15);

    // The client comes back: it is shown the flood's current lines, and the shell still answers.
    proxy.refuse(false);
    await vi.waitFor(() => expect(seen.resets).toBe(1), { timeout: 15_000 });
    expect(seen.snapshot).toContain('x'.repeat(80));
    stream.sendInput('\x03');
    stream.sendInput('echo "after the flood: $((6 * 7))"\r');
    await vi.waitFor(() => expect(seen.text).toContain('after the flood: 42'), { timeout: 15_000 });
    expect(session().attached).toBe(true);
    stream.sendInput('exit\r');
    expect((await stream.finished()).exitCode).toBe(0);
    ann.signOut();
  }, 60_000);
});
