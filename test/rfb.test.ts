// Graphical (rfb) sessions through the real protocol: a real node on port 0, real
// bubblewrap, real Xvnc and X apps. The test's viewer (RfbViewer) speaks RFB inside the
// session's stream as the web client's noVNC does — viewer messages in RFB frames,
// input messages in numbered INPUT frames — and reads the framebuffer back.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Socket } from 'node:net';
import { nodeSocketFactoryWith } from '../broker/cli/connect.js';
import { makeDevCertificate } from '../broker/tls/certificate.js';
import { SYSTEM_TRUST, makeTrust } from '../broker/tls/trust.js';
import { HoldfastClient } from '../shared/core/index.js';
import { clientCutText, encodeInput, encodeRfb, keyEvent, MAX_CUT_TEXT, updateRequest } from '../shared/protocol/index.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { bearer, client, rawSocket, startNode, type TestNode } from '../support/harness.js';
import { writeBgrxPng } from './png.js';
import { waitFor } from './demo-node.js';
import { Gui, changedBands, launchGui } from './gui.js';

const artifacts = join(import.meta.dirname, '..', 'test-artifacts');
const XTERM = { id: 'gui-xterm', name: 'GUI XTerm', display: 'rfb', geometry: '800x600', command: '/usr/bin/xterm', args: ['-fa', 'DejaVu Sans Mono', '-fs', '11'] };
const EDITOR = { id: 'gui-editor', name: 'GUI editor', display: 'rfb', geometry: '800x600', command: '/usr/bin/xedit', args: ['notes.txt'] };
const CRASHER = { id: 'gui-crash', name: 'Crasher', display: 'rfb', command: '/bin/sh', args: ['-c', 'echo "fatal: cannot open the font server" >&2; exit 3'] };

let node: TestNode;

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  node = await startNode({ apps: [XTERM, EDITOR, CRASHER] });
});

afterAll(async () => {
  await node?.stop();
});

describe('a graphical session', () => {
  it('takes keys through the protocol and its framebuffer shows them', async () => {
    const c = client(node.url);
    await c.signIn('ann', 'ann-pw');
    const gui = await launchGui(c, XTERM.id);
    expect([gui.viewer.width, gui.viewer.height]).toEqual([800, 600]);
    const before = await gui.steady();
    gui.viewer.type('echo holdfast-$((6*7))\n');
    const after = await waitFor('the typed line and its answer to show', async () => {
      const now = await gui.steady();
      return now.hash !== before.hash ? now : null;
    });
    writeBgrxPng(join(artifacts, 'rfb-xterm-typed.png'), after.width, after.height, after.pixels);
    // The command line and its answer: a few text rows at the top, nothing else on the
    // screen — but the pointer, which sits where the display started it (the middle)
    // and which xterm hides while you type.
    const bands = changedBands(before.pixels, after.pixels, after.width, { x: 400, y: 300, r: 24 });
    expect(bands.length).toBeGreaterThanOrEqual(2);
    expect(Math.max(...bands) * 8, 'lowest changed pixel row').toBeLessThan(80);
    expect(gui.stream.view.pendingInputs, 'every key applied and acknowledged').toBe(0);
    gui.stream.close();
    c.signOut();
  });

  it('carries on when the display drops the host’s own connection while the app starts', async () => {
    const c = client(node.url);
    await c.signIn('ann', 'ann-pw');
    const gui = await launchGui(c, XTERM.id);
    // The host's viewer waits for the screen to hold still (2.5 s): drop its connection
    // now, as a display once did under load — a standby so dropped never applied input.
    const found = (node.node.ctx.sessions as unknown as { lookup(id: string): { found: string; session?: unknown } }).lookup(gui.stream.sessionId!);
    const display = (found.session as { display: { controlSocket: Socket | null; ready(): boolean } }).display;
    expect(display.ready()).toBe(false);
    display.controlSocket!.destroy();
    const before = await gui.steady();
    gui.viewer.type('echo holdfast-$((6*7))\n');
    await waitFor('the typed line to show', async () => ((await gui.steady()).hash !== before.hash ? true : null), 20_000);
    await waitFor('every key applied', () => gui.stream.view.pendingInputs === 0, 10_000);
    gui.stream.close();
    c.signOut();
  });

  it('tells the client the app’s window title, and follows it when the app changes it', async () => {
    const c = client(node.url);
    await c.signIn('ann', 'ann-pw');
    const gui = await launchGui(c, XTERM.id);
    await waitFor('the window title xterm gives itself', () => gui.stream.view.title === 'xterm');
    gui.viewer.type("printf '\\033]2;holdfast-title\\007'\n");
    await waitFor('the title the app set', () => gui.stream.view.title === 'holdfast-title');
    // A client attaching later (taking it over) is told it at once.
    const again = client(node.url);
    await again.signIn('ann', 'ann-pw');
    const [listed] = await again.listSessions();
    const second = again.attach(listed!, 80, 24);
    await second.ready();
    await waitFor('the title told to the attaching client', () => second.view.title === 'holdfast-title');
    second.close();
    gui.stream.close();
    again.signOut();
    c.signOut();
  });

  it('takes the pointer: a click on the editor’s Quit button ends it, and the person is told', async () => {
    const c = client(node.url);
    await c.signIn('ann', 'ann-pw');
    const gui = await launchGui(c, EDITOR.id);
    await gui.steady();
    gui.viewer.pointer(0, 16, 8);
    gui.viewer.pointer(1, 16, 8);
    gui.viewer.pointer(0, 16, 8);
    const end = await gui.stream.finished();
    expect(end.status).toBe('ended');
    expect(end.exitCode).toBe(0);
    expect(end.reason).toBe('GUI editor exited.');
    c.signOut();
  });

  it('comes back after a dropped connection with a fresh stream showing the same screen', async () => {
    const proxy = await FaultProxy.start({ host: '127.0.0.1', port: Number(new URL(node.url).port) });
    try {
      const c = client(proxy.url);
      await c.signIn('ann', 'ann-pw');
      const gui = await launchGui(c, XTERM.id);
      await gui.steady();
      gui.viewer.type('echo before-the-drop\n');
      const before = await waitFor('the echo', async () => {
        const now = await gui.steady();
        return gui.stream.view.pendingInputs === 0 ? now : null;
      });
      const first = gui.viewer;
      proxy.drop();
      gui.viewer.type('echo typed-while-down\n'); // queued in the stream, sent once after the resume
      await waitFor('a new viewer stream after the resume', () => gui.viewer !== first && gui.stream.view.status === 'streaming');
      await gui.viewer.ready;
      const after = await waitFor('the keys typed while down to be applied once', async () => {
        const now = await gui.steady();
        return gui.stream.view.pendingInputs === 0 && now.hash !== before.hash ? now : null;
      });
      // The old lines are still there (the app kept running); only the lines below changed.
      const bands = changedBands(before.pixels, after.pixels, after.width);
      expect(Math.min(...bands) * 8).toBeGreaterThanOrEqual(16);
      gui.stream.close();
      c.signOut();
    } finally {
      await proxy.stop();
    }
  });

  it.each([['ws'], ['wss']])('delivers every byte intact to a viewer that stops reading while the display streams (%s)', async (scheme) => {
    // The relay sends each read of the display from the buffer it was read into, and must
    // read into new memory while the client's socket still holds a frame from it. A
    // viewer that reads nothing while 12 whole frames (1.9 MB each, raw) pile up
    // on its connection — far beyond the kernel's buffers, under a 64 MiB output window —
    // must then parse every one of them and see the screen as it is. Over TLS too, where
    // the socket encrypts what it is given.
    let tls: { certFile: string; keyFile: string } | undefined;
    let trust = SYSTEM_TRUST;
    if (scheme === 'wss') {
      const dir = mkdtempSync(join(tmpdir(), 'holdfast-rfb-tls-'));
      const cert = makeDevCertificate({ names: ['127.0.0.1'] });
      tls = { certFile: join(dir, 'node.crt'), keyFile: join(dir, 'node.key') };
      writeFileSync(tls.certFile, cert.certPem);
      writeFileSync(tls.keyFile, cert.keyPem, { mode: 0o600 });
      trust = makeTrust({ pins: [cert.pin] });
    }
    // A heartbeat slower than the pause, so neither end takes the silence for a dead link.
    const wide = await startNode({ apps: [XTERM], node: { outputWindowBytes: 64 * 1024 * 1024, heartbeatMs: 20_000, ...(tls ? { tls } : {}) } });
    expect(wide.url.startsWith(scheme === 'wss' ? 'https:' : 'http:')).toBe(true);
    try {
      const sockets: Array<{ _socket?: Socket }> = [];
      const c = new HoldfastClient({
        brokerUrl: wide.url,
        socketFactory: (url, protocols) => {
          const socket = nodeSocketFactoryWith(trust)(url, protocols);
          sockets.push(socket as never);
          return socket;
        },
        connectTimeoutMs: 5000,
      });
      await c.signIn('ann', 'ann-pw');
      const gui = await launchGui(c, XTERM.id);
      const before = await gui.steady();
      const viewer = gui.viewer;
      const tcp = sockets.at(-1)!._socket!;
      tcp.pause();
      const updates = viewer.updates;
      // One request at a time, each once the last whole frame has left the session for the
      // socket (requests that wait together are answered by one update): 12 frames, about
      // 23 MB, queued behind a client that reads nothing.
      const found = wide.node.ctx.sessions.lookup(gui.stream.view.sessionId!);
      if (found.found !== 'running') throw new Error('the session is not running on this node');
      const frameBytes = viewer.width * viewer.height * 4;
      const start = found.session.outputBytes;
      for (let i = 1; i <= 12; i++) {
        gui.stream.sendViewer(updateRequest(false, 0, 0, viewer.width, viewer.height));
        await waitFor(`whole frame ${i} to leave the session`, () => found.session.outputBytes - start >= i * frameBytes, 15_000);
      }
      tcp.resume();
      await waitFor('the 12 frames to arrive and parse', () => gui.viewer !== viewer || viewer.updates - updates >= 12, 30_000);
      // (Identity as a boolean: a failed toBe would print both viewers, tens of MB of buffers.)
      expect(gui.viewer === viewer, 'the same stream throughout (no resume)').toBe(true);
      const after = await gui.steady();
      expect(after.hash, 'the screen as it was').toBe(before.hash);
      gui.stream.close();
      c.signOut();
    } finally {
      await wide.stop();
    }
  });

  it('ends with the app’s own last words when it crashes', async () => {
    const c = client(node.url);
    await c.signIn('ann', 'ann-pw');
    const stream = c.launch(CRASHER.id, 80, 24);
    new Gui(stream);
    const end = await stream.finished();
    expect(end.exitCode).toBe(3);
    expect(end.reason).toMatch(/^Crasher stopped right after it started \(exit code 3\): “fatal: cannot open the font server”/);
    c.signOut();
  });
});

describe('bad input to a graphical session', () => {
  /** A launched session on a raw protocol socket, for frames the session core would never send. */
  async function rawGui(appId: string) {
    const c = client(node.url);
    await c.signIn('ann', 'ann-pw');
    const token = (c as unknown as { accessToken: string }).accessToken;
    const raw = rawSocket(node.url, bearer(token));
    await raw.opened;
    await raw.next('welcome');
    raw.ws.send(JSON.stringify({ type: 'session.launch', id: 1, appId, cols: 80, rows: 24 }));
    const started = await raw.next('session.started', 15_000);
    return { c, raw, started };
  }

  it('refuses a malformed RFB message with a reason, and the display serves the next client unharmed', async () => {
    const { c, raw, started } = await rawGui(XTERM.id);
    raw.ws.send(encodeRfb(new TextEncoder().encode('RFB 003.008\n')));
    raw.ws.send(encodeRfb(new Uint8Array([1, 1, 99, 0, 0, 0])));
    const error = await raw.next('error');
    expect(error.message).toMatch(/unknown RFB message type 99/);
    expect((await raw.closed).code).toBe(1002);

    // The session lives on: attach to it and work in it.
    const gui = new Gui(c.attach({ sessionId: started.sessionId as string, appId: XTERM.id, appName: XTERM.name, startedAt: 0, attached: false, holdExpiresAt: null }, 80, 24));
    await gui.stream.ready();
    const before = await gui.steady();
    gui.viewer.type('echo still-here\n');
    await waitFor('the display to answer', async () => (await gui.steady()).hash !== before.hash);
    gui.stream.close();
    c.signOut();
  });

  it('refuses input frames that are not exactly one allowed input message', async () => {
    const { c, raw } = await rawGui(XTERM.id);
    raw.ws.send(encodeInput(1, new Uint8Array([...keyEvent(true, 0x61), ...keyEvent(false, 0x61)])));
    expect((await raw.next('error')).message).toMatch(/input 1: an input frame must hold exactly one whole RFB input message/);
    await raw.closed;
    const second = await rawGui(XTERM.id);
    second.raw.ws.send(encodeInput(1, clientCutText('x'.repeat(MAX_CUT_TEXT + 1))));
    expect((await second.raw.next('error')).message).toMatch(/clipboard text of 32769 bytes is over the limit of 32768/);
    c.signOut();
    second.c.signOut();
  });

  it('refuses RFB frames on a terminal session: a terminal has no display to reach', async () => {
    const { c, raw } = await rawGui('cat');
    raw.ws.send(encodeRfb(new TextEncoder().encode('RFB 003.008\n')));
    expect((await raw.next('error')).message).toMatch(/RFB frames are for graphical sessions/);
    c.signOut();
  });
});
