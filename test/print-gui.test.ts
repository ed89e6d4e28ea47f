// Printing from a graphical app (issue 23, printing), on a real Xvnc in a real sandbox,
// driven through the RFB stream as the web client's noVNC drives it: the demo catalog's
// XTerm, with its print command as the demo sets it (XTERM_PRINT_ARGS: Ctrl+Shift+P
// prints the window's text through the sandbox's lpr), and the demo's Mousepad (a
// GTK editor), whose GTK print dialog lists the session's printer (print-ipp.ts) and has
// it chosen: Ctrl+P, then Enter. What either prints reaches the client as a PDF, exactly
// as a terminal app's `lp` does; pdftotext of it shows the text.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MOUSEPAD, XTERM_PRINT_ARGS } from '../broker/config/demo.js';
import { client, startNode, type TestNode } from '../support/harness.js';
import { waitFor } from '../support/wait.js';
import { launchGui } from './gui.js';
import { writeBgrxPng } from './png.js';
import { printedText, printThroughDialog } from './printed.js';

const XTERM = { id: 'gui-xterm', name: 'XTerm', display: 'rfb', geometry: '800x600', command: '/usr/bin/xterm', args: ['-fa', 'DejaVu Sans Mono', '-fs', '11', ...XTERM_PRINT_ARGS] };
const EDITOR = { ...MOUSEPAD, id: 'gui-mousepad', geometry: '800x600' };
const CONTROL_L = 0xffe3;
const SHIFT_L = 0xffe1;

let node: TestNode;
const work = mkdtempSync(join(tmpdir(), 'holdfast-print-gui-'));
const artifacts = join(import.meta.dirname, '..', 'test-artifacts');

beforeAll(async () => {
  node = await startNode({ apps: [XTERM, EDITOR] });
}, 60_000);

afterAll(async () => {
  await node?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('printing from a graphical app', () => {
  it('XTerm’s print (Ctrl+Shift+P) lands in the client as a PDF of its window’s text', async () => {
    const c = client(node.url);
    await c.signIn('ann', 'ann-pw');
    const gui = await launchGui(c, XTERM.id);
    const before = await gui.steady();
    gui.viewer.type('echo printed-from-$((6*7))\n');
    // The screen must have changed (the node may still hold the keys while XTerm starts, and
    // a still screen before they land is "steady" too): print only once the line has run.
    await waitFor('the line to run', async () => ((await gui.steady()).hash !== before.hash) || null, 30_000);
    for (const [keysym, down] of [[CONTROL_L, true], [SHIFT_L, true], [0x50, true], [0x50, false], [SHIFT_L, false], [CONTROL_L, false]] as const) gui.viewer.key(keysym, down);
    const print = await waitFor('the print notice', async () => gui.stream.view.prints[0] ?? null, 30_000);
    expect(print).toMatchObject({ result: 'printed', message: 'XTerm printed a document (1 page).', job: { name: 'XTerm', pages: 1 } });
    expect(await printedText(node.url, c.apiToken!, gui.stream.sessionId!, print.job!.id, join(work, 'xterm.pdf'))).toContain('printed-from-42');
    gui.stream.close();
    c.signOut();
  }, 90_000);

  it('Mousepad’s print dialog prints to the session’s printer: a PDF of the document in the client', async () => {
    const c = client(node.url);
    await c.signIn('ann', 'ann-pw');
    const gui = await launchGui(c, EDITOR.id);
    const before = await gui.steady();
    gui.viewer.type('typed-in-the-editor-42\n');
    await waitFor('the text to show', async () => ((await gui.steady()).hash !== before.hash) || null, 30_000);
    const dialog = await printThroughDialog(gui);
    // What the person saw: the dialog, Holdfast chosen (test-artifacts/, to look at).
    mkdirSync(artifacts, { recursive: true });
    writeBgrxPng(join(artifacts, 'mousepad-print-dialog.png'), dialog.width, dialog.height, dialog.pixels);
    const print = await waitFor('the print notice', async () => gui.stream.view.prints[0] ?? null, 30_000);
    expect(print).toMatchObject({ result: 'printed', job: { pages: 1 } });
    expect(print.message).toMatch(/^Mousepad printed a document \(1 page\)\.$/);
    expect(await printedText(node.url, c.apiToken!, gui.stream.sessionId!, print.job!.id, join(work, 'editor.pdf'))).toContain('typed-in-the-editor-42');
    gui.stream.close();
    c.signOut();
  }, 120_000);
});
