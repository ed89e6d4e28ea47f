// The node's adaptive image quality (issue 26), end to end: a real node, a GUI app on
// its own Xvnc, and the bench's RFB viewer (continuous updates and fences, as noVNC)
// on the session's WebSocket through a shaping proxy. On a 2 Mbit/s link the node's
// link governor lowers the JPEG quality, so the same scrolling screen costs far fewer
// bytes per update than on a LAN, where it keeps noVNC's own setting — what a person on
// a phone's connection gets as more frames a second.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProtoSession } from '../bench/protocol-client.js';
import { fpsBlockContinuous } from '../bench/rfb-measure.js';
import { Viewer, fullFrame } from '../bench/rfb-viewer.js';
import { encodeRfb } from '../shared/protocol/frames.js';
import { client, startNode, type TestNode } from '../support/harness.js';
import { LINK_PROFILES, ShapingProxy, type LinkProfile } from '../support/shaping-proxy.js';

const SCROLL = { id: 'scroll', name: 'XTerm scrolling', display: 'rfb', geometry: '1024x640', command: '/usr/bin/xterm', args: ['-fa', 'DejaVu Sans Mono', '-fs', '11', '-e', '/bin/sh', '-c', "while :; do seq -w 10000000 99999999 | paste -d ' ' - - - - - - - - - - -; done"] };

let t: TestNode;
let token: string;
beforeAll(async () => {
  t = await startNode({ apps: [SCROLL] });
  const ann = client(t.url);
  await ann.signIn('ann', 'ann-pw');
  token = ann.apiToken!;
});
afterAll(() => t?.stop());

/** Bytes per update of the scrolling app seen through a link of `profile`, after `settleMs` for the governor to find it. */
async function bytesPerUpdate(profile: LinkProfile, settleMs: number): Promise<number> {
  const proxy = await ShapingProxy.start({ host: '127.0.0.1', port: Number(new URL(t.url).port) }, profile);
  const session = await ProtoSession.launch(proxy.url, token, 'scroll');
  try {
    const viewer = new Viewer('holdfast', { viewer: (bytes) => session.client.send(encodeRfb(bytes)), input: (bytes) => session.input(bytes) }, true);
    session.onData = (data) => viewer.received(data);
    await viewer.ready;
    await fullFrame(viewer);
    await fpsBlockContinuous(viewer, settleMs);
    const block = await fpsBlockContinuous(viewer, 4000);
    expect(block.updates, `updates on ${profile.name}`).toBeGreaterThan(2);
    return block.bytes / block.updates;
  } finally {
    await session.close();
    await proxy.stop();
  }
}

describe('image quality chosen for the link', () => {
  it('sends a scrolling screen in far fewer bytes per update on a 2 Mbit/s link than on a LAN', async () => {
    const lan = await bytesPerUpdate(LINK_PROFILES.lan, 3000);
    const mobile = await bytesPerUpdate(LINK_PROFILES.mobile, 6000);
    expect(mobile / lan, `${Math.round(mobile / 1024)} KiB on mobile, ${Math.round(lan / 1024)} KiB on lan`).toBeLessThan(0.7);
  }, 120_000);
});
