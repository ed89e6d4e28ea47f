// Session recording on one node (issue 24): a person's shell under a recording policy,
// typed into key by key and ended; the recording, exported through the admin API and
// the CLI, is an asciicast v2 file a player reads, whose output holds what the screen
// showed and whose input holds every key typed, once, in order.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Screen, auditEvents, client, launch, startNode, stripAnsi, type TestNode } from '../support/harness.js';
import { signInToken } from '../support/cluster-harness.js';
import { waitFor } from '../support/wait.js';
import { main } from '../broker/cli/main.js';
import { occurrences, parseCast, recordingsApi } from './recordings.js';

let t: TestNode;
beforeAll(async () => {
  t = await startNode({ admin: true, sessionPolicies: [{ apps: ['shell'], recording: 'on' }] });
});
afterAll(async () => {
  await t?.stop();
});

/** Types `text` one key at a time, as a person does. */
async function typeSlowly(send: (key: string) => void, text: string, ms = 15): Promise<void> {
  for (const key of text) {
    send(key);
    await new Promise((r) => setTimeout(r, ms));
  }
}

describe('a recorded terminal session', () => {
  it('is shown as recorded, and exports as asciicast v2 with the screen’s output and every key typed once', async () => {
    const ann = client(t.url);
    await ann.signIn('ann', 'ann-pw');
    const stream = await launch(ann, 'shell');
    const screen = new Screen(stream);
    const id = stream.sessionId!;
    expect(stream.view.recorded).toBe(true);
    expect((await ann.listSessions()).find((s) => s.sessionId === id)?.recorded).toBe(true);
    await screen.waitFor('$ ');
    const typed = ['echo rec-$((6*7))-done\r', 'cat\r', 'grüße €\r', '\x04', 'exit\r'];
    await typeSlowly((key) => stream.sendInput(key), typed[0]!);
    await screen.waitFor('rec-42-done');
    await typeSlowly((key) => stream.sendInput(key), typed[1]!);
    await typeSlowly((key) => stream.sendInput(key), typed[2]!);
    await screen.waitFor(/grüße €[\s\S]*grüße €/);
    for (const key of typed.slice(3)) await typeSlowly((k) => stream.sendInput(k), key);
    await stream.finished();
    ann.signOut();

    const token = await signInToken(t.url, 'admin', 'admin-pw');
    const api = recordingsApi(t.url, token);
    const listed = await waitFor('the recording listed as complete', async () => (await api.list()).find((r) => r.sessionId === id && r.complete));
    expect(listed).toMatchObject({ owner: 'ann', appId: 'shell', node: 'test-node', problem: null });
    const text = await api.cast(id);
    expect(listed.bytes).toBe(Buffer.byteLength(text));
    const cast = parseCast(text);
    expect(cast.header).toMatchObject({ version: 2, width: 80, height: 24, title: 'Shell', holdfast: { session: id, owner: 'ann', app: 'shell' } });
    // Every key once, in order: the input log's entries, as the app got them.
    expect(cast.typed).toBe(typed.join(''));
    // What the screen showed: the echo's result once (the command line shows it as typed), the cat'ed line twice (the tty's echo, cat's copy).
    const shown = stripAnsi(cast.output);
    expect(occurrences(shown, 'rec-42-done')).toBe(1);
    expect(occurrences(shown, 'grüße €')).toBe(2);
    expect(cast.output).not.toContain('\ufffd');
    // The client saw the whole stream from the app's start (no resume replaced it): the recording is that very stream.
    expect(screen.resets).toBe(0);
    expect(cast.output).toBe(screen.text);
    expect(listed.seconds).toBeCloseTo(cast.events.at(-1)![0], 3);

    // Key search: "grüße" was typed after "cat", in one place.
    const found = await api.search(id, 'grüße');
    expect(found.matches).toHaveLength(1);
    const catAt = cast.events.find((e) => e[1] === 'i' && e[2] === 'c')![0];
    expect(found.matches[0]!.start).toBeGreaterThanOrEqual(catAt);
    expect(found.matches[0]!.end).toBeGreaterThanOrEqual(found.matches[0]!.start);
    expect((await api.search(id, 'not typed')).matches).toEqual([]);

    // The CLI writes the same file.
    const dir = mkdtempSync(join(tmpdir(), 'recording-export-'));
    try {
      process.env.HOLDFAST_PASSWORD = 'admin-pw';
      expect(await main(['recording', 'export', id, '--broker', t.url, '--out', join(dir, 'out.cast')])).toBe(0);
      expect(readFileSync(join(dir, 'out.cast'), 'utf8')).toBe(text);
    } finally {
      delete process.env.HOLDFAST_PASSWORD;
      rmSync(dir, { recursive: true, force: true });
    }

    // Audited on the primary: its start and its end.
    expect(auditEvents(t.stateDir, 'recording.start')).toEqual([expect.objectContaining({ user: 'ann', session: id, app: 'shell' })]);
    expect(auditEvents(t.stateDir, 'recording.end')).toEqual([expect.objectContaining({ user: 'ann', session: id, app: 'shell' })]);
  }, 60_000);

  it('is not recorded where no policy says so, and an administrator alone may read recordings', async () => {
    const ann = client(t.url);
    await ann.signIn('ann', 'ann-pw');
    const stream = await launch(ann, 'cat');
    expect(stream.view.recorded).toBe(false);
    const id = stream.sessionId!;
    stream.close();
    await stream.finished();
    const token = await signInToken(t.url, 'ann', 'ann-pw');
    await expect(recordingsApi(t.url, token).list()).rejects.toThrow(/HTTP 403/);
    const admin = recordingsApi(t.url, await signInToken(t.url, 'admin', 'admin-pw'));
    expect((await admin.list()).some((r) => r.sessionId === id)).toBe(false);
    await expect(admin.cast(id)).rejects.toThrow(/HTTP 404/);
    ann.signOut();
  }, 30_000);
});
