// A graphical session's recording through the death of the node recording it (issue 24):
// three real nodes on real etcd, a recorded xedit, its primary killed (kill -9) while
// the person types key by key. Every replica records its own display's RFB stream, so
// the promoted standby's copy covers the whole session: the listing serves it,
// complete, with every key once, in order, and a stream a viewer decodes from its start.
import { beforeAll, describe, expect, it } from 'vitest';
import { keysymsFor, parseRfbRecording, typedText } from '../shared/protocol/index.js';
import { client } from '../support/harness.js';
import { sessionOf, signInToken, waitForStatus, whole, type TestCluster } from '../support/cluster-harness.js';
import { waitFor } from '../support/wait.js';
import { clusterPerFile } from './cluster-per-file.js';
import { launchGui } from './gui.js';
import { recordingsApi, updatesIn } from './recordings.js';

let c: TestCluster;
clusterPerFile({ nodes: 3, tag: 'recording-rfb' }, (started) => (c = started));
beforeAll(async () => {
  for (const node of [...c.nodes]) {
    c.editConfig(node.name, (config) => void (config.sessionPolicies = [{ apps: ['gui-editor'], recording: 'on' }]));
    await c.restart(node.name);
  }
}, 60_000);

const KEY_MS = 40;

describe('a recorded graphical session whose primary is killed mid-typing', () => {
  it('is served whole from the promoted standby’s copy: every key once, in order, and a stream that decodes from its start', async () => {
    const ann = client(c.nodes[0]!.url);
    await ann.signIn('ann', 'ann-pw');
    const gui = await launchGui(ann, 'gui-editor');
    const id = gui.stream.sessionId!;
    expect(gui.stream.view.recorded).toBe(true);
    const primary = sessionOf(await waitForStatus(c, whole(id)), id)!.primary;
    await gui.steady();
    const states: string[] = [];
    gui.stream.subscribe((view) => states.push(view.status));

    const text = 'alpha bravo charlie delta echo foxtrot';
    const killAt = text.indexOf('charlie') + 3;
    for (let i = 0; i < text.length; i++) {
      if (i === killAt) c.signal(primary, 'SIGKILL');
      if (i === killAt + 4) await waitFor('the client resumed on the promoted standby', () => gui.stream.view.status === 'streaming' && gui.stream.view.pendingInputs === 0, 30_000);
      gui.viewer.type(text[i]!);
      await new Promise((r) => setTimeout(r, KEY_MS));
    }
    await waitFor('every key applied', () => gui.stream.view.status === 'streaming' && gui.stream.view.pendingInputs === 0, 30_000);
    const after = await waitForStatus(c, (s) => (sessionOf(s, id)?.epoch ?? 0) >= 2, 30_000);
    const promoted = sessionOf(after, id)!.primary;
    expect(promoted).not.toBe(primary);
    expect(states).toContain('reconnecting');
    await gui.steady();
    await ann.endSession((await ann.listSessions()).find((s) => s.sessionId === id)!);
    ann.signOut();

    const via = c.nodes.find((n) => n.alive && n.name !== promoted)!.url;
    const api = recordingsApi(via, await signInToken(via, 'admin', 'admin-pw'));
    // Complete once the promoted replica has written the end and closed its files, and the listing reached the node asked: seconds under CI's load.
    const listed = await waitFor('the recording listed as complete', async () => (await api.list()).filter((r) => r.sessionId === id).find((r) => r.complete), 45_000);
    expect((await api.list()).filter((r) => r.sessionId === id)).toHaveLength(1);
    expect(listed).toMatchObject({ kind: 'rfb', owner: 'ann', appId: 'gui-editor', node: promoted });
    const file = parseRfbRecording((await api.file(id)).bytes);
    expect(file.truncated).toBe(false);
    expect(file.header).toMatchObject({ session: id, node: promoted });
    // Every key once, in order: those the old primary applied and those the new one did.
    expect(typedText(file.records).text).toBe(text);
    expect(file.records.filter((r) => r.kind === 'input')).toHaveLength(2 * keysymsFor(text).length);
    // The promoted replica's own display, from its start: its version string, then updates a viewer decodes, through the end.
    const server = file.records.filter((r) => r.kind === 'server');
    expect(new TextDecoder().decode(server[0]!.bytes.subarray(0, 12))).toBe('RFB 003.008\n');
    expect(await updatesIn(file.records)).toBeGreaterThanOrEqual(5);
    const lastKey = file.records.filter((r) => r.kind === 'input').at(-1)!.t;
    expect(server.at(-1)!.t, 'the display’s picture after the last key').toBeGreaterThanOrEqual(lastKey);
  }, 120_000);
});
