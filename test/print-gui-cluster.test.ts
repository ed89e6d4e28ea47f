// A graphical app's print dialog in a cluster (issue 23, printing): Mousepad in a
// 2-replica session prints through its dialog to the session's printer (print-ipp.ts).
// Its standby runs the same Mousepad on the same input, talks to its own node's printer
// and gets the same answers — lockstep holds — but only the primary's job becomes a
// PDF. Then kill -9 of the primary: on the promoted standby the person types on and
// prints again, and that PDF holds what was typed before and after (the document came
// through whole) — two prints, two PDFs, never one twice. Real etcd, real nodes, real
// Xvnc and sandboxes; the viewer speaks RFB as the web client's noVNC does.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MOUSEPAD } from '../broker/config/demo.js';
import { auditEvents, client } from '../support/harness.js';
import { sessionOf, waitForStatus, whole, type TestCluster } from '../support/cluster-harness.js';
import { waitFor } from '../support/wait.js';
import { clusterPerFile } from './cluster-per-file.js';
import { launchGui, type Gui } from './gui.js';
import { printedText, printThroughDialog } from './printed.js';

const EDITOR = { ...MOUSEPAD, id: 'gui-mousepad', geometry: '800x600' };

let c: TestCluster;
clusterPerFile({ nodes: 2, tag: 'print-gui', apps: [EDITOR] }, (started) => (c = started));
const work = mkdtempSync(join(tmpdir(), 'holdfast-print-gui-cluster-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const printEvents = (stateDir: string, session: string) => auditEvents(stateDir, 'session.print').filter((event) => event.session === session);

/** Types `text`, then prints through the dialog; resolves with the PDF's text. */
async function typeAndPrint(gui: Gui, text: string, nth: number, url: string, token: string): Promise<string> {
  const before = await gui.steady();
  gui.viewer.type(text);
  await waitFor('the text to show', async () => ((await gui.steady()).hash !== before.hash) || null, 30_000);
  await printThroughDialog(gui);
  const print = await waitFor(`print notice ${nth}`, () => gui.stream.view.prints[nth - 1] ?? null, 30_000);
  expect(print).toMatchObject({ result: 'printed', message: 'Mousepad printed a document (1 page).' });
  return printedText(url, token, gui.stream.sessionId!, print.job!.id, join(work, `print-${nth}.pdf`));
}

describe('a print dialog in a cluster', () => {
  it('one PDF per print from a 2-replica Mousepad, before and after kill -9 of its primary', async () => {
    const ann = client(c.nodes[0]!.url);
    await ann.signIn('ann', 'ann-pw');
    const gui = await launchGui(ann, EDITOR.id);
    const id = gui.stream.sessionId!;
    const primary = sessionOf(await waitForStatus(c, whole(id), 30_000), id)!.primary;
    const standby = c.nodes.find((n) => n.name !== primary)!;

    const first = await typeAndPrint(gui, 'before-the-failover\n', 1, c.nodes[0]!.url, ann.apiToken!);
    expect(first).toContain('before-the-failover');
    // The standby has printed the same job by now (its log applied in step): still one.
    await waitForStatus(c, (status) => new Set(Object.values(sessionOf(status, id)?.logIndex ?? {})).size === 1, 15_000);
    await new Promise((r) => setTimeout(r, 1500));
    expect(gui.stream.view.prints).toHaveLength(1);
    expect(printEvents(c.node(primary).stateDir, id)).toEqual([expect.objectContaining({ result: 'printed', app: EDITOR.id })]);
    expect(printEvents(standby.stateDir, id)).toEqual([]);

    c.signal(primary, 'SIGKILL');
    await waitForStatus(c, (status) => (sessionOf(status, id)?.epoch ?? 0) >= 2, 30_000);
    await waitFor('the session back on its new primary', () => gui.stream.view.status === 'streaming', 30_000);
    const second = await typeAndPrint(gui, 'after-the-failover\n', 2, standby.url, ann.apiToken!);
    expect(second).toContain('before-the-failover');
    expect(second).toContain('after-the-failover');
    await new Promise((r) => setTimeout(r, 1500));
    expect(gui.stream.view.prints).toHaveLength(2);
    expect(printEvents(standby.stateDir, id)).toHaveLength(1);
    gui.stream.close();
    ann.signOut();
  }, 180_000);
});
