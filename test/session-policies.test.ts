// Session policies on a real node (issue 22, point 2): an idle timeout and a maximum
// length, each warned before it acts, and a disconnected hold per app — checked as a
// person meets them through the client core: the warning and its words, a key that
// keeps the session, and the end with its reason. Limits are seconds long (fractions of
// a minute), so the whole file takes half a minute.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../broker/auth/password.js';
import { NodeConfig } from '../broker/config/schema.js';
import { silentLogger } from '../broker/log.js';
import { BrokerNode } from '../broker/node.js';
import { Screen, TEST_PROFILE, client, launch, rawSocket } from '../support/harness.js';
import { waitFor } from '../support/wait.js';
import type { SessionStream } from '../shared/core/index.js';

let node: BrokerNode;
let url: string;
let stateDir: string;

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'holdfast-policies-'));
  const config = NodeConfig.parse({
    node: { name: 'test-node', listen: { host: '127.0.0.1', port: 0 }, stateDir, sessionHoldSeconds: 60 },
    users: [{ name: 'ann', passwordHash: await hashPassword('ann-pw', { N: 1024, r: 8, p: 1 }), groups: ['staff'] }],
    apps: [
      { id: 'python', name: 'Python', command: '/usr/bin/python3', args: ['-q'] },
      { id: 'cat', name: 'Cat', command: '/bin/cat' },
      { id: 'shell', name: 'Shell', command: '/bin/bash', args: ['--norc', '--noprofile', '-i'], env: { PS1: '$ ' } },
    ],
    sandboxProfiles: { default: TEST_PROFILE },
    entitlements: [{ groups: ['staff'], apps: ['python', 'cat', 'shell'] }],
    sessionPolicies: [
      // Python: ends after 6 s idle, warned 3 s before.
      { apps: ['python'], groups: ['staff'], idleMinutes: 0.1, warnMinutes: 0.05 },
      // Cat: 6 s at most, warned 3 s before.
      { apps: ['cat'], maxMinutes: 0.1, warnMinutes: 0.05 },
      // Shell: kept 3 s after its client goes.
      { apps: ['shell'], disconnectedMinutes: 0.05 },
    ],
  });
  node = new BrokerNode({ config, webRoot: join(stateDir, 'no-web'), log: silentLogger });
  url = await node.start();
});
afterAll(async () => {
  await node?.stop();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

async function signedIn() {
  const ann = client(url);
  await ann.signIn('ann', 'ann-pw');
  return ann;
}

/** Every warning a stream showed, in order (null: it was lifted). */
function notices(stream: SessionStream): Array<{ kind: string; message: string } | null> {
  const seen: Array<{ kind: string; message: string } | null> = [];
  let last: unknown = null;
  stream.subscribe((view) => {
    if (view.notice === last) return;
    last = view.notice;
    seen.push(view.notice && { kind: view.notice.kind, message: view.notice.message });
  });
  return seen;
}

describe('idle timeout', () => {
  it('warns, lets a key keep the session, and ends it once idle for the whole time — output does not count', async () => {
    const ann = await signedIn();
    const stream = await launch(ann, 'python');
    const screen = new Screen(stream);
    const seen = notices(stream);
    await screen.waitFor('>>> ');
    const warned = await waitFor('the idle warning', () => stream.view.notice, 8000);
    expect(warned.kind).toBe('idle');
    expect(warned.message).toMatch(/^Python ends in [23] seconds because it has been idle — press a key to keep it\.$/);
    expect(warned.endsAt - Date.now()).toBeGreaterThan(1000);
    expect(warned.endsAt - Date.now()).toBeLessThanOrEqual(3100);
    // The person presses keys: the warning goes, the session stays. What they typed
    // prints for ever after — output, which must not keep the session.
    stream.sendInput('import time\r');
    await waitFor('the warning lifted', () => stream.view.notice === null, 3000);
    stream.sendInput('while True: print("tick", flush=True); time.sleep(0.3)\r\r');
    const typedAt = Date.now();
    await screen.waitFor('tick');
    const end = await stream.finished();
    expect(end.reason).toBe('Python ended because it was idle for 6 seconds.');
    expect(Date.now() - typedAt).toBeGreaterThanOrEqual(5500);
    expect(seen.map((n) => n?.kind ?? null)).toEqual(['idle', null, 'idle', null]);
    await waitFor('the session gone from the list', async () => (await ann.listSessions()).length === 0, 3000);
    ann.signOut();
  }, 30_000);

  it('shows a client that comes back after the idle time the warning at once, and a key keeps the session', async () => {
    const ann = await signedIn();
    const first = await launch(ann, 'python');
    await new Screen(first).waitFor('>>> ');
    const sessionId = first.sessionId!;
    first.detach();
    // Away for longer than the idle time: with no client, only the hold counts.
    await new Promise((resolve) => setTimeout(resolve, 7000));
    const [listed] = await ann.listSessions();
    expect(listed).toMatchObject({ sessionId, attached: false, holdExpiresAt: expect.any(Number) });
    const back = ann.attach(listed!, 80, 24);
    const screen = new Screen(back);
    await back.ready();
    const warned = await waitFor('the warning on coming back', () => back.view.notice, 2000);
    expect(warned.message).toMatch(/^Python ends in [23] seconds because it has been idle — press a key to keep it\.$/);
    back.sendInput('6 * 7\r');
    await screen.waitFor('42');
    await waitFor('the warning lifted', () => back.view.notice === null, 2000);
    expect(back.view.status).toBe('streaming');
    back.close();
    ann.signOut();
  }, 30_000);
});

describe('maximum length', () => {
  it('warns, whatever the person types, and ends the session at its length from its start; the launcher lists the end', async () => {
    const ann = await signedIn();
    const before = Date.now();
    const stream = await launch(ann, 'cat');
    const screen = new Screen(stream);
    const [listed] = await ann.listSessions();
    expect(listed!.endsAt! - listed!.startedAt).toBe(6000);
    const warned = await waitFor('the length warning', () => stream.view.notice, 8000);
    expect(warned.message).toMatch(/^Cat ends in [23] seconds: it reaches its maximum length of 6 seconds\. Save your work\.$/);
    stream.sendInput('still here\r');
    await screen.waitFor('still here');
    expect(stream.view.notice?.kind).toBe('max-length');
    const end = await stream.finished();
    expect(end.reason).toBe('Cat ended because it reached its maximum length of 6 seconds.');
    expect(Date.now() - before).toBeGreaterThanOrEqual(5500);
    ann.signOut();
  }, 30_000);
});

describe('disconnected hold per app', () => {
  it('keeps a disconnected Shell for its policy’s 3 s, not the node’s 60, and says so to a client that comes back', async () => {
    const ann = await signedIn();
    const stream = await launch(ann, 'shell');
    const context = (stream as unknown as { actor: { getSnapshot(): { context: { resumeToken: string; holdSeconds: number } } } }).actor.getSnapshot().context;
    expect(context.holdSeconds).toBe(3);
    const sessionId = stream.sessionId!;
    stream.detach();
    const [listed] = await waitFor('the session waiting', async () => {
      const waiting = (await ann.listSessions()).filter((s) => !s.attached);
      return waiting.length > 0 ? waiting : null;
    });
    expect(listed!.holdExpiresAt! - Date.now()).toBeLessThanOrEqual(3000);
    await waitFor('the session gone', async () => (await ann.listSessions()).length === 0, 6000);
    const raw = rawSocket(url);
    await raw.opened;
    raw.ws.send(JSON.stringify({ type: 'session.resume', id: 1, sessionId, resumeToken: context.resumeToken, cols: 80, rows: 24 }));
    expect(await raw.next('error')).toMatchObject({ code: 'session_ended', message: 'Your session ended: no client reconnected within 0:03 (the hold time).' });
    raw.ws.close();
    ann.signOut();
  }, 30_000);
});
