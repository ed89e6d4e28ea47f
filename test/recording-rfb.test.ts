// Recording a graphical session on one node (issue 24): xterm on its Xvnc under a
// recording policy, typed into and ended; the recording, fetched through the admin API
// and exported with the CLI, is an RFB recording: a header, the display's RFB stream
// from its version string through updates a viewer decodes, and every key typed, once.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../broker/cli/main.js';
import { parseRfbRecording, typedText } from '../shared/protocol/index.js';
import { client, startNode, type TestNode } from '../support/harness.js';
import { signInToken } from '../support/cluster-harness.js';
import { waitFor } from '../support/wait.js';
import { launchGui } from './gui.js';
import { recordingsApi, updatesIn } from './recordings.js';

const XTERM = { id: 'gui-xterm', name: 'GUI XTerm', display: 'rfb', geometry: '640x400', command: '/usr/bin/xterm', args: ['-fa', 'DejaVu Sans Mono', '-fs', '11'] };

let t: TestNode;
beforeAll(async () => {
  t = await startNode({ admin: true, apps: [XTERM], sessionPolicies: [{ apps: ['gui-xterm'], recording: 'on' }] });
});
afterAll(async () => {
  await t?.stop();
});

describe('a recorded graphical session', () => {
  it('records the display’s RFB stream and every key typed; the admin API lists, serves and searches it, and the CLI exports it as it is', async () => {
    const ann = client(t.url);
    await ann.signIn('ann', 'ann-pw');
    const gui = await launchGui(ann, XTERM.id);
    const id = gui.stream.sessionId!;
    expect(gui.stream.view.recorded).toBe(true);
    const before = await gui.steady();
    const typed = 'echo rec-$((6*7))-done\n';
    gui.viewer.type(typed);
    await waitFor('the echo to show', async () => {
      const now = await gui.steady();
      return now.hash !== before.hash && gui.stream.view.pendingInputs === 0 ? now : null;
    });
    gui.viewer.type('exit\n');
    await gui.stream.finished();
    ann.signOut();

    const token = await signInToken(t.url, 'admin', 'admin-pw');
    const api = recordingsApi(t.url, token);
    const listed = await waitFor('the recording listed as complete', async () => (await api.list()).find((r) => r.sessionId === id && r.complete));
    expect(listed).toMatchObject({ kind: 'rfb', owner: 'ann', appId: 'gui-xterm', node: 'test-node', problem: null });
    const { bytes, type, disposition } = await api.file(id);
    expect(type).toBe('application/x-holdfast-rfb');
    expect(disposition).toContain(`${id}.rfbrec`);
    expect(listed.bytes).toBe(bytes.length);
    const file = parseRfbRecording(bytes);
    expect(file.truncated).toBe(false);
    expect(file.header).toMatchObject({ format: 'holdfast-rfb', version: 1, session: id, owner: 'ann', app: 'gui-xterm', appName: 'GUI XTerm', node: 'test-node' });
    expect(listed.seconds).toBeCloseTo(file.durationMs / 1000, 3);
    // The stream from its first byte: the display's version string, then whole updates a viewer decodes.
    const server = file.records.filter((r) => r.kind === 'server');
    expect(new TextDecoder().decode(server[0]!.bytes.subarray(0, 12))).toBe('RFB 003.008\n');
    expect(await updatesIn(file.records)).toBeGreaterThanOrEqual(3);
    // Every key once, in order, as the log applied it.
    expect(typedText(file.records).text).toBe(typed + 'exit\n');
    const keys = file.records.filter((r) => r.kind === 'input');
    expect(keys).toHaveLength(2 * (typed.length + 'exit\n'.length));
    // The echo's picture came after the keys that made it.
    const lastKeyAt = keys.at(-1)!.t;
    expect(server.some((r) => r.t > keys[0]!.t && r.t < lastKeyAt)).toBe(true);

    // Key search over the keysyms, as text.
    const found = await api.search(id, 'rec-$((6*7))');
    expect(found.matches).toHaveLength(1);
    expect(found.matches[0]!.start * 1000).toBeCloseTo(keys[2 * 'echo '.length]!.t, 0);
    expect((await api.search(id, 'not typed')).matches).toEqual([]);

    // The CLI writes the same bytes.
    const dir = mkdtempSync(join(tmpdir(), 'rfb-recording-export-'));
    try {
      const out = join(dir, 'session.rfbrec');
      process.env.HOLDFAST_PASSWORD = 'admin-pw';
      expect(await main(['recording', 'export', id, '--broker', t.url, '--user', 'admin', '--out', out])).toBe(0);
      expect(Buffer.compare(readFileSync(out), Buffer.from(bytes))).toBe(0);
    } finally {
      delete process.env.HOLDFAST_PASSWORD;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
