// A graphical session's display size and scale through the death of its host (issue 22,
// point 3; issue 26, point 4): the scale of the screen it was launched from (its apps
// told it: XTerm's letters at 2× are twice as many pixels) is the standby's too, so the
// promoted standby shows the very screen the person saw.
//
// A graphical session's display size through the death of its host (issue 22, point 3):
// a size the person asked for is an input like any other (SetDesktopSize in the input
// log), so the standby's display took it too, and a viewer that resumes on the new
// primary finds the display at that size — the app relaid out to fill it — and can ask
// for the next one there. Real etcd, real nodes, kill -9; the viewer is the test's
// RfbViewer speaking the protocol as the web client's noVNC does.
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { readRunningHomeFile } from '../support/homes.js';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { client } from '../support/harness.js';
import { sessionOf, waitForStatus, whole, type TestCluster } from '../support/cluster-harness.js';
import { setDesktopSize } from '../shared/protocol/index.js';
import { clusterPerFile } from './cluster-per-file.js';
import { launchGui, type Gui } from './gui.js';
import { waitFor } from './demo-node.js';
import { writeBgrxPng } from './png.js';

const artifacts = join(import.meta.dirname, '..', 'test-artifacts');

let c: TestCluster;
clusterPerFile({ nodes: 3, tag: 'rfb-resize' }, (started) => (c = started));

/** Of the pixels along the frame's right and bottom edges (4 px deep), the share that is the bare display's black (BGRX). */
function blackEdges(frame: { pixels: Uint8Array; width: number; height: number }): number {
  let black = 0;
  let edge = 0;
  for (let y = 0; y < frame.height; y++) {
    for (let x = 0; x < frame.width; x++) {
      if (x < frame.width - 4 && y < frame.height - 4) continue;
      const at = (y * frame.width + x) * 4;
      edge += 1;
      if (frame.pixels[at]! + frame.pixels[at + 1]! + frame.pixels[at + 2]! < 48) black += 1;
    }
  }
  return black / edge;
}

/** Waits for the display to have `width`×`height` with the app filling it, and to hold still. */
function sized(gui: Gui, width: number, height: number) {
  return waitFor(`the display at ${width}×${height}, filled by the app`, async () => {
    const frame = await gui.steady();
    return frame.width === width && frame.height === height && blackEdges(frame) < 0.02 ? frame : null;
  }, 20_000);
}

describe('a graphical session’s size through kill -9 of its primary', () => {
  it('resumes on the standby at the size last asked for, and takes the next size there', async () => {
    const ann = client(c.nodes[0]!.url);
    await ann.signIn('ann', 'ann-pw');
    const gui = await launchGui(ann, 'gui-editor');
    const id = gui.stream.sessionId!;
    const primary = sessionOf(await waitForStatus(c, whole(id)), id)!.primary;
    await gui.steady();
    expect([gui.viewer.width, gui.viewer.height], 'the catalog’s geometry at launch').toEqual([800, 600]);

    gui.viewer.input(setDesktopSize(1000, 640));
    await sized(gui, 1000, 640);
    await waitFor('the size applied everywhere', () => gui.stream.view.pendingInputs === 0);

    c.signal(primary, 'SIGKILL');
    const after = await waitForStatus(c, (s) => (sessionOf(s, id)?.epoch ?? 0) >= 2, 30_000);
    expect(sessionOf(after, id)!.primary).not.toBe(primary);
    await waitFor('the session back on its new primary', () => gui.stream.view.status === 'streaming', 30_000);
    const resumed = await sized(gui, 1000, 640);
    expect([resumed.width, resumed.height], 'the size the standby’s display took from the log').toEqual([1000, 640]);
    mkdirSync(artifacts, { recursive: true });
    writeBgrxPng(join(artifacts, 'rfb-resize-after-failover.png'), resumed.width, resumed.height, resumed.pixels);

    gui.viewer.input(setDesktopSize(720, 480));
    await sized(gui, 720, 480);
    gui.stream.close();
    ann.signOut();
    await c.restart(primary);
  }, 120_000);
});

/** The file `name` in a running sandbox's home on node `node` (the test's one session of its app there). */
function homeFile(node: string, name: string): string | null {
  const dir = join(c.node(node).stateDir, 'sandboxes');
  for (const sandbox of existsSync(dir) ? readdirSync(dir) : []) {
    const bytes = readRunningHomeFile(c.node(node).stateDir, sandbox, name);
    if (bytes) return bytes.toString('utf8');
  }
  return null;
}

describe('a graphical session launched from a 2× screen, through kill -9 of its primary', () => {
  it('starts its app told the scale on every replica, and resumes on the standby showing the same screen', async () => {
    const ann = client(c.nodes[0]!.url, { screenScale: () => 2 });
    await ann.signIn('ann', 'ann-pw');
    const gui = await launchGui(ann, 'gui-term');
    const id = gui.stream.sessionId!;
    const status = await waitForStatus(c, whole(id));
    const { primary, standbys } = sessionOf(status, id)!;
    expect(standbys.length).toBeGreaterThanOrEqual(1);
    gui.viewer.input(setDesktopSize(1000, 640));
    await sized(gui, 1000, 640);
    gui.viewer.pointer(0, 500, 320);
    gui.viewer.type('stty size > size.txt\n');
    const size = await waitFor('stty’s size on the primary', () => homeFile(primary, 'size.txt') || null, 20_000);
    // At 192 DPI a 12-point DejaVu Sans Mono cell is 32 px tall: 640 px hold 20 rows (at 96 DPI, 40).
    const [rows] = size.trim().split(' ').map(Number) as [number, number];
    expect(rows, 'XTerm’s rows at 2× (its letters twice as tall as at 1×)').toBeLessThanOrEqual(21);
    expect(homeFile(primary, 'scale.txt')).toBe('2 1\n');
    for (const standby of standbys) {
      expect(homeFile(standby, 'scale.txt'), `GTK's scale on standby ${standby}`).toBe('2 1\n');
      await waitFor(`stty’s size on standby ${standby}`, () => homeFile(standby, 'size.txt') === size || null, 20_000);
    }
    const before = await gui.steady();
    await waitFor('every key applied everywhere', () => gui.stream.view.pendingInputs === 0);
    c.signal(primary, 'SIGKILL');
    await waitForStatus(c, (s) => (sessionOf(s, id)?.epoch ?? 0) >= 2, 30_000);
    await waitFor('the session back on its new primary', () => gui.stream.view.status === 'streaming', 30_000);
    const resumed = await waitFor('the resumed screen', async () => {
      const frame = await gui.steady();
      return frame.hash === before.hash ? frame : null;
    }, 20_000).catch(async () => gui.steady());
    mkdirSync(artifacts, { recursive: true });
    writeBgrxPng(join(artifacts, 'rfb-scale-2x-after-failover.png'), resumed.width, resumed.height, resumed.pixels);
    expect(resumed.hash, 'the promoted standby’s screen is the one the person saw').toBe(before.hash);
    gui.stream.close();
    ann.signOut();
    await c.restart(primary);
  }, 120_000);
});
