// Sockets that never sign in must not be able to stall the node (issue 21, item 5):
// 20 anonymous sockets sending 65 KB frames nested 32,700 deep, as fast as they may,
// stalled the event loop for up to 2.6 s and cut signed-in people off. What a frame can
// cost is bounded before it is parsed — its depth, and a much smaller size and rate
// before sign-in — and anonymous connections are capped per address.
import { execFile } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SUBPROTOCOL } from '../shared/protocol/index.js';
import { Screen, client, launch, rawSocket, startNode, type TestNode } from '../support/harness.js';

let t: TestNode;
beforeAll(async () => {
  t = await startNode();
});
afterAll(async () => {
  await t?.stop();
});

/**
 * The attackers, in a process of their own (their sending must not load the node's
 * event loop, which the test measures): `count` sockets from a few 127.x addresses,
 * each sending a 65 KB frame nested 32,700 deep as fast as the socket drains, and
 * reconnecting when closed or refused, for `ms`. Prints how many frames went out.
 */
const ATTACKERS = `
const WebSocket = require('ws');
const [url, protocol, count, ms] = process.argv.slice(1);
const nested = '{"type":"ping","id":1,"x":' + '['.repeat(32700) + ']'.repeat(32700) + '}';
const until = Date.now() + Number(ms);
let frames = 0;
function attacker(i) {
  if (Date.now() >= until) return Promise.resolve();
  return new Promise((done) => {
    const ws = new WebSocket(url, [protocol], { localAddress: '127.0.0.' + (100 + (i % 4)) });
    ws.on('error', () => {});
    const pump = () => {
      while (ws.readyState === ws.OPEN && ws.bufferedAmount < 1e6 && Date.now() < until) { ws.send(nested); frames++; }
      if (ws.readyState === ws.OPEN && Date.now() < until) setTimeout(pump, 1);
      else ws.terminate();
    };
    ws.on('open', pump);
    ws.on('close', () => setTimeout(() => attacker(i).then(done), 10));
  });
}
Promise.all(Array.from({ length: Number(count) }, (_, i) => attacker(i))).then(() => { console.log(frames); process.exit(0); });
setTimeout(() => { console.log(frames); process.exit(0); }, Number(ms) + 3000);
`;

function attack(count: number, ms: number): Promise<number> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['-e', ATTACKERS, t.url.replace(/^http/, 'ws') + '/ws', SUBPROTOCOL, String(count), String(ms)], { cwd: import.meta.dirname }, (error, stdout) =>
      error ? reject(error) : resolve(Number(stdout.trim())),
    );
  });
}

describe('anonymous sockets flooding costly frames', () => {
  it('do not stall the node: a signed-in bystander keeps typing with prompt echo and is never cut off', async () => {
    const ann = client(t.url);
    await ann.signIn('ann', 'ann-pw');
    const stream = await launch(ann, 'cat');
    const screen = new Screen(stream);
    let lost = 0;
    stream.subscribe((state) => {
      if (state.status === 'reconnecting') lost += 1;
    });
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const until = Date.now() + 5000;
    const attacking = attack(20, 5000);
    // Let the attack get going before measuring.
    await new Promise((r) => setTimeout(r, 500));
    const echoes: number[] = [];
    for (let i = 0; Date.now() < until; i++) {
      const mark = `k${i}.`;
      const sent = Date.now();
      stream.sendInput(mark);
      await screen.waitFor(mark, 10_000);
      echoes.push(Date.now() - sent);
      await new Promise((r) => setTimeout(r, 50));
    }
    const frames = await attacking;
    delay.disable();
    const p90 = [...echoes].sort((a, b) => a - b)[Math.floor(echoes.length * 0.9)]!;
    const worstStallMs = delay.max / 1e6;
    const report = `echo p90 ${p90} ms over ${echoes.length}, worst event-loop stall ${worstStallMs.toFixed(0)} ms, attack frames sent ${frames}`;
    // Before the fix no echo came back within 10 s (the reported p90 was 1.3 s, and
    // heartbeats dropped people). The bound leaves room for a loaded CI machine, where
    // the attackers' process and other test files share two cores with the node
    // (measured alone: 150–280 ms p90, stalls under 200 ms; the stall is reported, not
    // asserted: on a starved machine it measures the machine as much as the node).
    expect(lost, report).toBe(0);
    expect(p90, report).toBeLessThan(2000);
    stream.close();
    ann.signOut();
  }, 60_000);

  it('refuses, with HTTP 429, more anonymous connections from one address than it may have waiting, and no others', async () => {
    const opened: Array<ReturnType<typeof rawSocket>> = [];
    const outcomes: string[] = [];
    for (let i = 0; i < 72; i++) {
      const raw = rawSocket(t.url, [SUBPROTOCOL], { localAddress: '127.0.0.120' });
      outcomes.push(await raw.opened.then(() => 'open', (error: Error) => error.message));
      opened.push(raw);
      // Slower than the 20 a second allowed: only the number waiting counts here.
      await new Promise((r) => setTimeout(r, 60));
    }
    expect(outcomes.filter((o) => o === 'open')).toHaveLength(64);
    expect(outcomes.slice(64)).toEqual(Array(8).fill('HTTP 429'));
    // Another address is not affected.
    const other = rawSocket(t.url, [SUBPROTOCOL], { localAddress: '127.0.0.121' });
    await other.opened;
    for (const raw of [...opened, other]) raw.ws.close();
  }, 30_000);
});
