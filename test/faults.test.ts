// Faults between client and node, through a real TCP proxy: dropped connections while
// a person types, and a black-holed path (no FIN, no RST) that only heartbeats find.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { FaultProxy } from '../support/fault-proxy.js';
import { Screen, client, launch, startNode, typingText, type TestNode } from '../support/harness.js';

let t: TestNode;
let proxy: FaultProxy;
beforeAll(async () => {
  t = await startNode({
    apps: [
      {
        id: 'readline',
        name: 'Read a line',
        command: '/usr/bin/python3',
        args: ['-c', 'import hashlib; s = input("text? "); print("GOT", len(s), hashlib.sha256(s.encode()).hexdigest())'],
      },
    ],
  });
  const { port } = new URL(t.url);
  proxy = await FaultProxy.start({ host: '127.0.0.1', port: Number(port) });
});
afterAll(async () => {
  await proxy?.stop();
  await t?.stop();
});

describe('dropped connections', () => {
  it('applies every keystroke exactly once across ten drops while typing', async () => {
    const ann = client(proxy.url);
    await ann.signIn('ann', 'ann-pw');
    const stream = await launch(ann, 'readline', 200, 50);
    const screen = new Screen(stream);
    await screen.waitFor('text? ');
    const typed = typingText(2000);
    const dropsAt = new Set([130, 310, 480, 650, 820, 1010, 1200, 1390, 1600, 1810]);
    const states = new Set<string>();
    stream.subscribe((view) => states.add(view.status));
    for (let at = 0; at < typed.length; at += 10) {
      stream.sendInput(typed.slice(at, at + 10));
      if (dropsAt.has(at)) proxy.drop();
      await new Promise((r) => setTimeout(r, 15));
    }
    stream.sendInput('\r');
    const match = await screen.waitFor(/GOT (\d+) ([0-9a-f]{64})/, 30_000);
    expect(Number(match[1])).toBe(2000);
    expect(match[2]).toBe(createHash('sha256').update(typed).digest('hex'));
    expect(states.has('reconnecting')).toBe(true);
    expect(screen.resets).toBeGreaterThanOrEqual(5);
    expect((await stream.finished()).exitCode).toBe(0);
    ann.signOut();
  }, 90_000);
});

describe('black-holed path', () => {
  it('is found by heartbeat within 3 s, and the session recovers when the path returns', async () => {
    const ann = client(proxy.url);
    await ann.signIn('ann', 'ann-pw');
    const stream = await launch(ann, 'cat');
    const screen = new Screen(stream);
    stream.sendInput('one\r');
    await screen.waitFor('one\r\none');
    let lostAt = 0;
    stream.subscribe((view) => {
      if (view.status === 'reconnecting' && lostAt === 0) lostAt = Date.now();
    });
    proxy.blackhole(true);
    const cutAt = Date.now();
    stream.sendInput('two\r'); // typed into the void: kept, and sent again later
    for (let i = 0; i < 60 && lostAt === 0; i += 1) await new Promise((r) => setTimeout(r, 100));
    expect(lostAt).toBeGreaterThan(0);
    expect(lostAt - cutAt).toBeLessThanOrEqual(3500);
    expect(stream.view.pendingInputs).toBe(1);
    proxy.blackhole(false);
    await screen.waitFor('two\r\ntwo', 15_000);
    expect(stream.view.status).toBe('streaming');
    expect(stream.view.pendingInputs).toBe(0);
    stream.sendInput('three\r');
    await screen.waitFor('three\r\nthree');
    expect(screen.text.match(/two/g)).toHaveLength(2); // the echo and cat's copy, once each
    ann.signOut();
  }, 60_000);
});
