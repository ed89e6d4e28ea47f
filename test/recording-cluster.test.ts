// Session recording survives the death of the node recording it (issue 24's acceptance
// test): three real nodes on real etcd, a recorded shell, its primary killed (kill -9)
// while the person types key by key. The client resumes on the promoted standby, the
// person types on and ends the session; the recording, exported from a surviving node,
// holds every key once, in order, and the command's answer once — no gap, no duplicate —
// and key search finds a word at the time it was typed.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Screen, auditEvents, client, launch, stripAnsi } from '../support/harness.js';
import { sessionOf, signInToken, waitForStatus, whole, type TestCluster } from '../support/cluster-harness.js';
import { waitFor } from '../support/wait.js';
import { clusterPerFile } from './cluster-per-file.js';
import { occurrences, parseCast, recordingsApi } from './recordings.js';

let c: TestCluster;
clusterPerFile({ nodes: 3, tag: 'recording' }, (started) => (c = started));
beforeAll(async () => {
  for (const node of [...c.nodes]) {
    c.editConfig(node.name, (config) => void (config.sessionPolicies = [{ apps: ['shell'], recording: 'on' }]));
    await c.restart(node.name);
  }
}, 60_000);

const KEY_MS = 30;

describe('a recorded session whose primary is killed mid-typing', () => {
  it('is exported whole from the promoted standby’s copy: every key once, in order, the answer once, and key search finds words at their times', async () => {
    const ann = client(c.nodes[0]!.url);
    await ann.signIn('ann', 'ann-pw');
    const stream = await launch(ann, 'shell', 120, 30);
    const screen = new Screen(stream);
    const id = stream.sessionId!;
    expect(stream.view.recorded).toBe(true);
    const primary = sessionOf(await waitForStatus(c, whole(id)), id)!.primary;
    await screen.waitFor('$ ');
    const startedAt = (await ann.listSessions()).find((s) => s.sessionId === id)!.startedAt;
    const states: string[] = [];
    stream.subscribe((view) => states.push(view.status));

    // Typed key by key; the words searched for later are timed as they are typed (s since the session's start).
    const words = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel'];
    const line = `echo ${words.join('-')} | tr a-z A-Z\r`;
    // The words searched for later: when their first key went, and when their last had (s since the session's start).
    const spans = new Map(['alpha', 'hotel'].map((w) => [w, { first: line.indexOf(w), last: line.indexOf(w) + w.length - 1, from: 0, to: 0 }]));
    const since = () => (Date.now() - startedAt) / 1000;
    const killAt = line.indexOf('charlie') + 3;
    let resumedAt = -1;
    for (let i = 0; i < line.length; i++) {
      if (i === killAt) c.signal(primary, 'SIGKILL');
      // A few keys go while the client reconnects (it keeps them and sends them once resumed); then it types on there.
      if (i === killAt + 4) {
        await waitFor('the client resumed on the promoted standby', () => stream.view.status === 'streaming' && stream.view.pendingInputs === 0, 30_000);
        resumedAt = i;
      }
      for (const span of spans.values()) if (i === span.first) span.from = since();
      stream.sendInput(line[i]!);
      await new Promise((r) => setTimeout(r, KEY_MS));
      for (const span of spans.values()) if (i === span.last) span.to = since();
    }
    expect(resumedAt).toBe(killAt + 4);
    const answer = words.join('-').toUpperCase();
    await screen.waitFor(answer, 30_000);
    expect(states).toContain('reconnecting');
    // Whole again before it ends: a new standby, placed after the failover, has replayed the log from its start.
    const after = await waitForStatus(c, (s) => (sessionOf(s, id)?.epoch ?? 0) >= 2 && whole(id)(s), 30_000);
    const promoted = sessionOf(after, id)!.primary;
    expect(promoted).not.toBe(primary);
    const ending = 'exit\r';
    for (const key of ending) {
      stream.sendInput(key);
      await new Promise((r) => setTimeout(r, KEY_MS));
    }
    await stream.finished();
    ann.signOut();

    // Through a surviving node's admin API: the session once, its complete copy.
    const via = c.nodes.find((n) => n.alive && n.name !== promoted)!.url;
    const api = recordingsApi(via, await signInToken(via, 'admin', 'admin-pw'));
    const listed = await waitFor('the recording listed as complete', async () => (await api.list()).filter((r) => r.sessionId === id).find((r) => r.complete), 15_000);
    expect((await api.list()).filter((r) => r.sessionId === id)).toHaveLength(1);
    expect(listed).toMatchObject({ owner: 'ann', appId: 'shell', node: promoted });
    const cast = parseCast(await api.cast(id));
    expect(cast.header).toMatchObject({ width: 120, height: 30, holdfast: { session: id, owner: 'ann', app: 'shell' } });
    // Every key once, in order: those the old primary applied and those the new one did.
    expect(cast.typed).toBe(line + ending);
    // The command's answer once: neither lost with the old primary nor shown again by the new one.
    expect(occurrences(stripAnsi(cast.output), answer)).toBe(1);

    // Key search: each word at a time between just before its first key and just after its last (the entries' stamps are the primary's clock, when it took them).
    for (const [word, at] of spans) {
      const found = await api.search(id, word);
      expect(found.matches, word).toHaveLength(1);
      expect(found.matches[0]!.start, `${word} starts`).toBeGreaterThanOrEqual(at.from - 0.05);
      expect(found.matches[0]!.end, `${word} ends`).toBeLessThanOrEqual(at.to + 0.5);
      expect(found.matches[0]!.end).toBeGreaterThanOrEqual(found.matches[0]!.start);
    }

    // Every surviving node that held a replica has a copy: the new primary's whole; a standby's (one placed after the
    // failover replayed the log from its start) each key once, in order, up to where the session's end dropped it
    // (the last key, applied by the primary, may not have reached it).
    const copies = c.nodes.filter((n) => n.alive && existsSync(join(n.stateDir, 'recordings', `${id}.cast`)));
    expect(copies.map((n) => n.name).sort()).toEqual([promoted, ...sessionOf(after, id)!.standbys].sort());
    for (const node of copies) {
      const typed = parseCast(readFileSync(join(node.stateDir, 'recordings', `${id}.cast`), 'utf8')).typed;
      if (node.name === promoted) expect(typed).toBe(line + ending);
      else expect((line + ending).startsWith(typed) && typed.length >= line.length, `${node.name}: ${JSON.stringify(typed)}`).toBe(true);
    }

    // Audited by each primary: the start by the first, the end by the one that ended it.
    expect(auditEvents(c.node(primary).stateDir, 'recording.start').filter((e) => e.session === id)).toHaveLength(1);
    expect(auditEvents(c.node(promoted).stateDir, 'recording.end').filter((e) => e.session === id)).toHaveLength(1);
  }, 120_000);
});

describe('a recorded session moved by a drain', () => {
  it('moves with it: the copy on the node it moved to holds every key once, before and after the move', async () => {
    for (const node of c.nodes) if (!node.alive) await c.restart(node.name);
    const ann = client(c.nodes[0]!.url);
    await ann.signIn('ann', 'ann-pw');
    const stream = await launch(ann, 'shell', 100, 30);
    const screen = new Screen(stream);
    const id = stream.sessionId!;
    const primary = sessionOf(await waitForStatus(c, whole(id)), id)!.primary;
    await screen.waitFor('$ ');
    const before = 'echo before-the-move | tr a-z A-Z\r';
    stream.sendInput(before);
    await screen.waitFor('BEFORE-THE-MOVE');
    await c.admin('POST', `/api/nodes/${primary}/drain`);
    const moved = await waitForStatus(c, (s) => (sessionOf(s, id)?.primary ?? primary) !== primary, 30_000);
    const to = sessionOf(moved, id)!.primary;
    const afterLine = 'echo after-the-move | tr a-z A-Z\r';
    stream.sendInput(afterLine);
    await screen.waitFor('AFTER-THE-MOVE', 30_000);
    stream.sendInput('exit\r');
    await stream.finished();
    await c.admin('POST', `/api/nodes/${primary}/undrain`);
    ann.signOut();

    const api = recordingsApi(c.nodes[0]!.url, await signInToken(c.nodes[0]!.url, 'admin', 'admin-pw'));
    const listed = await waitFor('the recording listed as complete', async () => (await api.list()).find((r) => r.sessionId === id && r.complete), 15_000);
    expect(listed.node).toBe(to);
    const cast = parseCast(await api.cast(id));
    expect(cast.typed).toBe(before + afterLine + 'exit\r');
    // Each answer once: neither lost with the move nor shown again on the node it moved to.
    for (const answer of ['BEFORE-THE-MOVE', 'AFTER-THE-MOVE']) expect(occurrences(stripAnsi(cast.output), answer), answer).toBe(1);
  }, 120_000);
});
