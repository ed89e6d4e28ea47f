// Resume tokens, as an attacker who copied one would try them: a token dies with the
// sign-in it came from (an administrator's revocation, a sign-out), and rotates on
// every resume, so a copy is useless once the real client has resumed. A resume whose
// answer was lost may still be retried with the token the client holds.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SUBPROTOCOL, encodeInput } from '../shared/protocol/index.js';
import { rawSocket, startNode, type TestNode } from '../support/harness.js';

let t: TestNode;
beforeAll(async () => {
  t = await startNode();
});
afterAll(async () => {
  await t?.stop();
});

type Raw = ReturnType<typeof rawSocket>;
let nextId = 1;

async function open(): Promise<Raw> {
  const raw = rawSocket(t.url, [SUBPROTOCOL]);
  await raw.opened;
  await raw.next('welcome');
  return raw;
}

async function request(raw: Raw, message: Record<string, unknown>): Promise<Record<string, unknown>> {
  const id = nextId++;
  raw.ws.send(JSON.stringify({ ...message, id }));
  const deadline = Date.now() + 8000;
  for (;;) {
    const reply = raw.messages.find((m) => m.id === id);
    if (reply) return reply;
    if (Date.now() > deadline) throw new Error(`no answer to ${String(message.type)}; got ${JSON.stringify(raw.messages)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** ann signs in on a fresh socket and launches cat there: the stream, its session and token, and her access token. */
async function launchCat(): Promise<{ raw: Raw; sessionId: string; token: string; accessToken: string }> {
  const raw = await open();
  const signedIn = await request(raw, { type: 'auth.signIn', user: 'ann', password: 'ann-pw' });
  expect(signedIn.type).toBe('auth.signedIn');
  const started = await request(raw, { type: 'session.launch', appId: 'cat', cols: 80, rows: 24 });
  expect(started.type).toBe('session.started');
  return { raw, sessionId: String(started.sessionId), token: String(started.resumeToken), accessToken: String(signedIn.accessToken) };
}

/** An anonymous socket resumes with `token`: the answer, and the socket (still open on success). */
async function resume(sessionId: string, token: string): Promise<{ reply: Record<string, unknown>; raw: Raw }> {
  const raw = await open();
  const reply = await request(raw, { type: 'session.resume', sessionId, resumeToken: token, cols: 80, rows: 24 });
  return { reply, raw };
}

async function drop(raw: Raw): Promise<void> {
  raw.ws.close();
  await raw.closed;
}

const REFUSED = { type: 'error', code: 'no_session', message: 'There is no such session, or it is not yours.' };

describe('resume tokens', () => {
  it('rotate on every resume: a copied token is refused once the real client has resumed and used its stream', async () => {
    const { raw, sessionId, token } = await launchCat();
    await drop(raw);
    const real = await resume(sessionId, token);
    expect(real.reply.type).toBe('session.resumed');
    const rotated = String(real.reply.resumeToken);
    expect(rotated).not.toBe(token);
    // The real client types: the stream is in use, so it has the new token.
    real.raw.ws.send(encodeInput(1, Buffer.from('hi\r')));
    await expect.poll(() => t.node.ctx.sessions.record(sessionId).then((r) => r?.record.pendingTokenHash ?? null), { timeout: 5000 }).toBeNull();
    await drop(real.raw);
    // The copy (the token before rotation) opens nothing; the new one does.
    expect((await resume(sessionId, token)).reply).toMatchObject(REFUSED);
    const again = await resume(sessionId, rotated);
    expect(again.reply.type).toBe('session.resumed');
    await drop(again.raw);
  });

  it('a resume whose answer was lost can be retried with the token the client still holds', async () => {
    const { raw, sessionId, token } = await launchCat();
    await drop(raw);
    // The answer (with a new token) is sent, but the network drops before the client uses the stream.
    const lost = await resume(sessionId, token);
    expect(lost.reply.type).toBe('session.resumed');
    await drop(lost.raw);
    const retried = await resume(sessionId, token);
    expect(retried.reply.type).toBe('session.resumed');
    await drop(retried.raw);
  });

  it('die when an administrator revokes the person: a kept token resumes nothing', async () => {
    const { raw, sessionId, token } = await launchCat();
    await drop(raw);
    await t.node.ctx.revocations.revokeUser('ann');
    expect((await resume(sessionId, token)).reply).toMatchObject(REFUSED);
    // Signing in again, ann finds the session and attaches as its owner.
    const back = await open();
    expect((await request(back, { type: 'auth.signIn', user: 'ann', password: 'ann-pw' })).type).toBe('auth.signedIn');
    expect((await request(back, { type: 'session.attach', sessionId, cols: 80, rows: 24 })).type).toBe('session.resumed');
    await drop(back);
  });

  it('die with the sign-in they came from when the person signs out there; another sign-in’s sessions keep theirs', async () => {
    const first = await launchCat();
    const other = await launchCat();
    await drop(other.raw);
    // Signing out of the first sign-in (with its access token) ends its resume tokens.
    const out = await request(first.raw, { type: 'auth.signOut', tokens: [first.accessToken] });
    expect(out.type).toBe('auth.signedOut');
    await drop(first.raw);
    expect((await resume(first.sessionId, first.token)).reply).toMatchObject(REFUSED);
    const kept = await resume(other.sessionId, other.token);
    expect(kept.reply.type).toBe('session.resumed');
    await drop(kept.raw);
  });

  it('prove the owner on the resumed connection: it shares its session, as the one it resumed from could', async () => {
    // The client resumes without its access token (the token is the proof): a network
    // blip must not leave the owner unable to make, change or revoke a share link.
    const { raw, sessionId, token } = await launchCat();
    await drop(raw);
    const back = await resume(sessionId, token);
    expect(back.reply.type).toBe('session.resumed');
    const made = await request(back.raw, { type: 'session.share.create', mode: 'view' });
    expect(made.type).toBe('session.sharing');
    const shareId = String((made.shares as { id: string }[])[0]!.id);
    expect((await request(back.raw, { type: 'session.share.update', shareId, mode: 'type' })).type).toBe('session.sharing');
    expect((await request(back.raw, { type: 'session.share.revoke', shareId })).type).toBe('session.sharing');
    // What needs a person still does: the resume token opens this session, nothing else.
    expect(await request(back.raw, { type: 'apps.list' })).toMatchObject({ type: 'error', code: 'unauthenticated' });
    await drop(back.raw);
  });
});
