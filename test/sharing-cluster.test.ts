// Sharing through a failover, on a 3-node cluster of real processes with real etcd:
// someone who joined through another node (tunnelled to the primary) and may type goes
// on watching and typing after the primary is killed with -9 — their link works on the
// promoted replica, and what they typed, logged with who typed it, arrives once.
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { Screen, client, launch, stripAnsi, typingText } from '../support/harness.js';
import { sessionOf, waitForStatus, whole, type TestCluster } from '../support/cluster-harness.js';
import { clusterPerFile } from './cluster-per-file.js';
import type { SessionStream } from '../shared/core/index.js';

let c: TestCluster;
clusterPerFile({ nodes: 3, tag: 'sharing' }, (started) => (c = started));

async function type(stream: SessionStream, text: string, at: (i: number) => void): Promise<void> {
  for (let i = 0; i < text.length; i += 10) {
    at(i);
    expect(stream.sendInput(text.slice(i, i + 10))).toBe(true);
    await new Promise((r) => setTimeout(r, 15));
  }
}

describe('sharing through a failover', () => {
  it('keeps a watcher who may type: after kill -9 of the primary their keys arrive once, on the promoted replica', async () => {
    const ann = client(c.nodes[0]!.url);
    await ann.signIn('ann', 'ann-pw');
    const owner = await launch(ann, 'readline', 200, 50);
    const ownerScreen = new Screen(owner);
    await ownerScreen.waitFor('text? ');
    const id = owner.sessionId!;
    const primary = sessionOf(await waitForStatus(c, whole(id)), id)!.primary;
    const link = (await owner.share('type')).shares[0]!.link!;

    // Bob joins through a node that is not the primary: his connection is tunnelled there.
    const elsewhere = c.nodes.find((n) => n.name !== primary)!;
    const bob = client(elsewhere.url);
    await bob.signIn('bob', 'bob-pw');
    const watcher = bob.join(link, 200, 50);
    const watcherScreen = new Screen(watcher);
    await watcher.ready();
    await watcherScreen.waitFor('text? ');

    const mine = typingText(300, 3);
    await type(owner, mine, () => {});
    await ownerScreen.waitFor(mine.slice(-20));
    const his = typingText(800, 5);
    const states: string[] = [];
    watcher.subscribe((view) => states.push(view.status));
    await type(watcher, his, (i) => {
      if (i === 400) c.signal(primary, 'SIGKILL');
    });
    // Everything he typed is taken (acknowledged) before the owner ends the line.
    for (let i = 0; i < 300 && watcher.view.pendingInputs > 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(watcher.view.pendingInputs).toBe(0);
    owner.sendInput('\r');
    const match = await ownerScreen.waitFor(/GOT (\d+) ([0-9a-f]{64})/, 30_000);
    expect(Number(match[1])).toBe(mine.length + his.length);
    expect(match[2]).toBe(createHash('sha256').update(mine + his).digest('hex'));
    expect(states).toContain('reconnecting');
    await watcherScreen.waitFor(match[2]!);
    expect(stripAnsi(watcherScreen.text)).toContain(`GOT ${mine.length + his.length}`);
    const after = await waitForStatus(c, (s) => sessionOf(s, id)?.primary !== primary);
    expect(sessionOf(after, id)).toMatchObject({ epoch: 2 });
    owner.close();
    for (const person of [ann, bob]) person.signOut();
    await c.restart(primary);
  }, 120_000);
});
