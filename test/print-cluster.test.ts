// Printing in a cluster (issue 23, printing): a replicated Shell runs on two nodes in
// lockstep, so its standby runs `lp` too and prints the same job. Only the primary's job
// becomes a PDF: the client gets one notice, one audit event is written (on the primary's
// node), the node without the primary passes the PDF on to the owner, and after the
// primary's kill -9 the promoted standby has nothing of its own to deliver — the person
// never receives the job twice. Real etcd and two real node processes running this
// tree's CLI, bundled for this file.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Screen, auditEvents, client, launch, sh } from '../support/harness.js';
import { bundleCli, type BundledCli } from '../support/bundled-cli.js';
import { sessionOf, startCluster, waitForStatus, whole, type TestCluster } from '../support/cluster-harness.js';
import { waitFor } from '../support/wait.js';
import { printedText } from './printed.js';

let c: TestCluster | undefined;
let bundled: BundledCli | undefined;
const work = mkdtempSync(join(tmpdir(), 'holdfast-print-cluster-'));

beforeAll(async () => {
  bundled = await bundleCli('print');
  c = await startCluster({ nodes: 2, cli: bundled.cli, tag: 'print' });
}, 120_000);

afterAll(async () => {
  expect(await c?.stop()).toEqual([]);
  bundled?.remove();
  rmSync(work, { recursive: true, force: true });
});

const printEvents = (stateDir: string, session: string) => auditEvents(stateDir, 'session.print').filter((event) => event.session === session);

describe('printing in a cluster', () => {
  it('one print from a session with two replicas: exactly one PDF reaches the client, before and after a failover', async () => {
    const ann = client(c!.nodes[0]!.url);
    await ann.signIn('ann', 'ann-pw');
    const stream = await launch(ann, 'shell');
    const screen = new Screen(stream);
    await screen.waitFor('$ ');
    const id = stream.sessionId!;
    const primary = sessionOf(await waitForStatus(c!, whole(id), 30_000), id)!.primary;
    const standby = c!.nodes.find((n) => n.name !== primary)!;

    expect((await sh(stream, screen, 'echo hello cluster | lp', 30_000)).status).toBe(0);
    const print = await waitFor('the print notice', () => stream.view.prints[0] ?? null, 30_000);
    expect(print).toMatchObject({ result: 'printed', message: 'Shell printed a document (1 page).' });
    // The standby has run the same lp by now (its log is applied in step): still one notice, one event.
    await waitForStatus(c!, (status) => new Set(Object.values(sessionOf(status, id)?.logIndex ?? {})).size === 1, 15_000);
    await new Promise((r) => setTimeout(r, 1500));
    expect(stream.view.prints).toHaveLength(1);
    expect(printEvents(c!.node(primary).stateDir, id)).toEqual([expect.objectContaining({ result: 'printed', user: 'ann', app: 'shell' })]);
    expect(printEvents(standby.stateDir, id)).toEqual([]);

    // Asked of the node without the primary: passed on from the primary.
    expect(await printedText(standby.url, ann.apiToken!, id, print.job!.id, join(work, 'cluster.pdf'))).toContain('hello cluster');

    // The primary dies; the client resumes on the promoted standby, which delivers nothing more.
    c!.signal(primary, 'SIGKILL');
    await waitForStatus(c!, (status) => (sessionOf(status, id)?.epoch ?? 0) >= 2, 30_000);
    await waitFor('the stream back', () => stream.view.status === 'streaming', 30_000);
    const after = await sh(stream, screen, 'echo after-failover', 30_000);
    expect(after.output).toContain('after-failover');
    await new Promise((r) => setTimeout(r, 1500));
    expect(stream.view.prints).toHaveLength(1);
    expect(printEvents(standby.stateDir, id)).toEqual([]);
    stream.close();
    ann.signOut();
    await c!.restart(primary);
  }, 180_000);
});
