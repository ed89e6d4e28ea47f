// session.echo through a failover, on a 2-node cluster of real processes with real etcd:
// only the primary follows its terminal's termios (its standby runs no termios watcher);
// once the standby is promoted by a kill -9 of the primary, its own watcher tells the
// resumed client the app's changes.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { Screen, client, launch } from '../support/harness.js';
import { sessionOf, waitForStatus, whole, type TestCluster } from '../support/cluster-harness.js';
import { waitFor } from '../support/wait.js';
import { clusterPerFile } from './cluster-per-file.js';

let c: TestCluster;
clusterPerFile({ nodes: 2, tag: 'echo' }, (started) => (c = started));

/** The termios watchers a node's process runs (its children). */
const watchers = (pid: number) => {
  const children = execFileSync('ps', ['--ppid', String(pid), '-o', 'args='], { encoding: 'utf8' }).split('\n');
  return children.filter((args) => args.includes('holdfast-termios-watch')).length;
};

describe('session.echo through a failover', () => {
  it('is followed by the primary alone, then by the promoted standby', async () => {
    const ann = client(c.nodes[0]!.url);
    await ann.signIn('ann', 'ann-pw');
    const stream = await launch(ann, 'shell');
    const screen = new Screen(stream);
    await screen.waitFor('$ ');
    const id = stream.sessionId!;
    const before = sessionOf(await waitForStatus(c, whole(id)), id)!;
    const [standby] = before.standbys;
    await waitFor('bash at its prompt (app)', () => stream.view.echo === 'app', 5000);
    expect(watchers(c.node(before.primary).pid)).toBe(1);
    expect(watchers(c.node(standby!).pid)).toBe(0);

    const states: string[] = [];
    stream.subscribe((view) => states.push(view.status));
    c.signal(before.primary, 'SIGKILL');
    await waitForStatus(c, (status) => sessionOf(status, id)?.primary === standby, 30_000);
    await waitFor('the client resumed on the standby', () => (states.includes('reconnecting') && stream.view.status === 'streaming') || null, 30_000);
    expect(watchers(c.node(standby!).pid)).toBe(1);
    // Only the promoted replica's watcher can tell this change.
    stream.sendInput('cat\r');
    await waitFor('cat under bash (echo), told by the new primary', () => stream.view.echo === 'echo', 10_000);
    stream.sendInput('\x04');
    await waitFor('bash at its prompt again (app)', () => stream.view.echo === 'app', 10_000);
    stream.close();
    ann.signOut();
  }, 120_000);
});
