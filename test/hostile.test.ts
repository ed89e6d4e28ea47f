// A broker facing a hostile network: a thousand wrong passwords, a client flooding its
// connection, a person over their session limit, a page from another site, and the
// audit log that records all of it. Real node, real sockets, real sandboxes.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloseCode, SUBPROTOCOL } from '../shared/protocol/index.js';
import { Screen, bearer, client, launch, rawSocket, startNode, type TestNode } from '../support/harness.js';
import { attempt as attackAttempt, hammer as attackHammer } from '../support/sign-in-attack.js';

let t: TestNode;
beforeAll(async () => {
  t = await startNode({ node: { limits: { sessionsPerUser: 2, lockoutAfter: 5, lockoutMinutes: 15 } } });
});
afterAll(async () => {
  await t?.stop();
});

const attempt = (from: string, user: string, password: string) => attackAttempt(t.url, from, user, password);
const hammer = (from: string, user: string, count: number) => attackHammer(t.url, from, user, count);

function audit(): Array<Record<string, unknown>> {
  return readFileSync(join(t.stateDir, 'audit.log'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('brute force', () => {
  it('slows 1,000 wrong passwords, then locks the name from that address only; the person signs in from theirs', async () => {
    const answers = await hammer('127.0.0.1', 'ann', 1000);
    const checked = answers.filter((a) => a.code === 'sign_in_failed');
    expect(checked).toHaveLength(5);
    expect(answers.filter((a) => a.code === 'rate_limited').length).toBeGreaterThanOrEqual(994);
    const locked = answers.at(-1)!;
    expect(locked.code).toBe('rate_limited');
    expect(String(locked.message)).toMatch(/sign-in is locked here until \d\d:\d\d UTC\. Try again then, or ask your administrator\./);
    expect(Number(locked.retryAfterMs)).toBeGreaterThan(14 * 60_000);
    // Locked means locked: the right password from that address is refused too, in the same words as a name that does not exist.
    const right = (await attempt('127.0.0.1', 'ann', 'ann-pw')).reply;
    expect(right.code).toBe('rate_limited');
    const nobody = (await hammer('127.0.0.1', 'nobody', 10)).at(-1)!;
    const words = (m: unknown) => String(m).replace(/\d\d:\d\d/, 'HH:MM');
    expect(words(nobody.message)).toBe(words(right.message));
    // The real person, from their own address, is not locked out by someone else's guessing.
    const ok = (await attempt('127.0.0.2', 'ann', 'ann-pw')).reply;
    expect(ok.type).toBe('auth.signedIn');
    // The audit log has every checked failure and the refusals, with the address.
    const lines = audit().filter((l) => l.user === 'ann');
    expect(lines.filter((l) => l.event === 'sign-in.failed' && l.address === '127.0.0.1')).toHaveLength(5);
    expect(lines.filter((l) => l.event === 'sign-in.refused' && l.detail === 'locked').length).toBeGreaterThan(900);
    expect(lines.some((l) => l.event === 'sign-in.ok' && l.address === '127.0.0.2')).toBe(true);
  }, 60_000);
});

describe('limits', () => {
  it('closes a connection that floods requests, and the node serves everyone else', async () => {
    const bystander = client(t.url);
    await bystander.signIn('bob', 'bob-pw');
    const stream = await launch(bystander, 'python');
    const screen = new Screen(stream);
    // Signed in: before sign-in a connection may send far less (test/anonymous-flood.test.ts).
    const flood = rawSocket(t.url, bearer(bystander.apiToken!), { localAddress: '127.0.0.3' });
    await flood.opened;
    for (let i = 0; i < 2000; i++) flood.ws.send(JSON.stringify({ type: 'ping', id: i }));
    const closed = await flood.closed;
    expect(closed.code).toBe(CloseCode.policyViolation);
    expect(flood.messages.find((m) => m.type === 'error')).toMatchObject({ code: 'rate_limited', message: expect.stringMatching(/more than 50 requests a second and was closed; reconnect and send less often/) });
    expect(flood.messages.filter((m) => m.type === 'pong').length).toBeLessThan(400);
    stream.sendInput('print(6 * 7)\r');
    await screen.waitFor('42');
    stream.close();
    bystander.signOut();
  });

  it('refuses a launch over the person’s session limit, saying what to do', async () => {
    const bob = client(t.url);
    await bob.signIn('bob', 'bob-pw');
    const first = await launch(bob, 'python');
    const second = await launch(bob, 'python');
    const third = bob.launch('python', 80, 24);
    const refused = await third.finished();
    expect(refused.status).toBe('failed');
    expect(refused.reason).toBe('You have 2 sessions running, the most allowed (2). End one you no longer need — the launcher lists them — and launch again.');
    first.close();
    await first.finished();
    const fourth = await launch(bob, 'python');
    expect(fourth.sessionId).toBeTruthy();
    second.close();
    fourth.close();
    bob.signOut();
    expect(audit().some((l) => l.event === 'session.launch-refused' && l.user === 'bob' && l.detail === '2 sessions running')).toBe(true);
    expect(audit().filter((l) => l.event === 'session.launch' && l.user === 'bob' && l.app === 'python').length).toBeGreaterThanOrEqual(3);
  });
});

describe('origin', () => {
  it('refuses a WebSocket opened by a page from another site, and takes pages of its own and clients without a page', async () => {
    const evil = rawSocket(t.url, [SUBPROTOCOL], { origin: 'https://evil.example' });
    await expect(evil.opened).rejects.toThrow(/HTTP 403/);
    const own = rawSocket(t.url, [SUBPROTOCOL], { origin: t.url });
    await own.opened;
    expect((await own.next('welcome')).type).toBe('welcome');
    own.ws.close();
    const desktop = rawSocket(t.url, [SUBPROTOCOL], { origin: 'holdfast-app://renderer' });
    await desktop.opened;
    desktop.ws.close();
    const cli = rawSocket(t.url);
    await cli.opened;
    cli.ws.close();
    expect(audit().some((l) => l.event === 'connection.refused' && l.detail === 'page origin https://evil.example')).toBe(true);
  });

  it('refuses a page whose name was rebound to this node (DNS rebinding): its Host is not a name the node answers to', async () => {
    // evil.example's page, its name now resolving to 127.0.0.1: Origin and Host agree, and both are the attacker's.
    const port = new URL(t.url).port;
    const rebound = rawSocket(t.url, [SUBPROTOCOL], { origin: `http://evil.example:${port}`, headers: { host: `evil.example:${port}` } });
    await expect(rebound.opened).rejects.toThrow(/HTTP 403/);
    // The names it does answer to: its address, localhost.
    for (const name of [`127.0.0.1:${port}`, `localhost:${port}`]) {
      const own = rawSocket(t.url, [SUBPROTOCOL], { origin: `http://${name}`, headers: { host: name } });
      await own.opened;
      expect((await own.next('welcome')).type).toBe('welcome');
      own.ws.close();
    }
  });
});

describe('anonymous connections', () => {
  it('close 10 s after connecting without a sign-in, and 10 s after signing out (issue 21, item 12)', async () => {
    const fresh = rawSocket(t.url);
    await fresh.opened;
    // bob, from an address of its own: the tests above guessed at ann's password.
    const { reply, socket: out } = await attempt('127.0.0.77', 'bob', 'bob-pw');
    expect(reply.type, JSON.stringify(reply)).toBe('auth.signedIn');
    out.ws.send(JSON.stringify({ type: 'auth.signOut', id: 7, tokens: [reply.accessToken] }));
    const signedOutAt = Date.now();
    const [freshClose, outClose] = await Promise.all([fresh.closed, out.closed]);
    expect(freshClose.code).toBe(CloseCode.authTimeout);
    expect(outClose.code).toBe(CloseCode.authTimeout);
    expect(outClose.reason).toMatch(/sign in/);
    expect(Date.now() - signedOutAt).toBeGreaterThan(9_000);
    expect(out.messages.some((m) => m.type === 'auth.signedOut')).toBe(true);
  }, 30_000);
});
