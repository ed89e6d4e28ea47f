// A graphical session's display size through the death of its host (issue 22, point 3):
// a size the person asked for is an input like any other (SetDesktopSize in the input
// log), so the standby's display took it too, and a viewer that resumes on the new
// primary finds the display at that size — the app relaid out to fill it — and can ask
// for the next one there. Real etcd, real nodes, kill -9; the viewer is the test's
// RfbViewer speaking the protocol as the web client's noVNC does.
import { mkdirSync } from 'node:fs';
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
