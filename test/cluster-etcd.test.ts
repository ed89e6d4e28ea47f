// The control plane under faults: a three-member etcd losing one member changes
// nothing a person sees; losing its quorum makes every node refuse new sessions (and
// say why) and stop acting as a primary — nothing is applied without a valid lease.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Screen, client, launch } from '../support/harness.js';
import { sessionOf, startCluster, waitForStatus, type TestCluster } from '../support/cluster-harness.js';
import { ProtocolError } from '../shared/core/index.js';

let c: TestCluster;
beforeAll(async () => {
  c = await startCluster({ nodes: 3, etcdMembers: 3, tag: 'etcd' });
}, 90_000);
afterAll(async () => {
  // kill -9 of every node: no sandbox may outlive its node.
  expect(await c?.stop()).toEqual([]);
});

describe('etcd faults', () => {
  it('loses one etcd member of three without anything a person would notice', async () => {
    const ann = client(c.nodes[0]!.url);
    await ann.signIn('ann', 'ann-pw');
    const stream = await launch(ann, 'cat');
    const screen = new Screen(stream);
    const id = stream.sessionId!;
    await waitForStatus(c, (s) => sessionOf(s, id)?.standbys.length === 1);
    const states = new Set<string>();
    stream.subscribe((view) => states.add(view.status));
    // Every node talks to the first endpoint first: kill that one.
    await c.etcd.kill(0);
    for (let i = 0; i < 40; i++) {
      stream.sendInput(`line-${i}\r`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await screen.waitFor(/line-39[\s\S]*line-39/, 10_000);
    expect([...states]).toEqual(['streaming']);
    // No failover happened, and new sessions still start.
    const status = await c.status();
    expect(sessionOf(status, id)).toMatchObject({ epoch: 1 });
    expect(status.nodes.every((n) => n.accepting)).toBe(true);
    const second = await launch(ann, 'cat');
    second.close();
    stream.close();
    ann.signOut();
  }, 60_000);

  it('refuses new sessions, and applies no input, once etcd has lost its quorum', async () => {
    const ann = client(c.nodes[1]!.url);
    await ann.signIn('ann', 'ann-pw');
    const stream = await launch(ann, 'cat');
    const screen = new Screen(stream);
    stream.sendInput('before\r');
    await screen.waitFor(/before[\s\S]*before/);
    await c.etcd.kill(1); // with member 0 gone already: no quorum
    // Past the lease TTL (2 s), every node knows it has no valid lease.
    await new Promise((r) => setTimeout(r, 3500));
    stream.sendInput('fenced\r');
    const error = await launch(ann, 'cat').then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ProtocolError);
    expect(String((error as Error).message)).toMatch(/lost touch with the control plane and takes no new sessions/);
    await new Promise((r) => setTimeout(r, 1000));
    expect(screen.text).not.toContain('fenced');
    for (const node of c.nodes) expect(node.log.join('\n')).toMatch(/lost the control-plane lease/);
    stream.close();
    ann.signOut();
  }, 60_000);
});
