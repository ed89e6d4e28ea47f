// The web client's sign-in kept across a reload, at the HTTP level: it needs the
// client header (a page of another site cannot send it without a preflight), its cookie
// is HttpOnly and SameSite=Strict, rotates on every renewal (the one before is dead),
// trades for a one-time code the WebSocket redeems, and dies at sign-out.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEEP_CLIENT_HEADER, KEEP_END_PATH, KEEP_PATH, KEEP_RENEW_PATH, SUBPROTOCOL } from '../shared/protocol/index.js';
import { client, rawSocket, startNode, type TestNode } from '../support/harness.js';

let t: TestNode;
beforeAll(async () => {
  t = await startNode();
});
afterAll(async () => {
  await t?.stop();
});

const HANDOFF = 'abcdefghijklmnopqrstuvwxyz0123';

async function post(path: string, options: { cookie?: string; bearer?: string; header?: boolean; body?: unknown } = {}) {
  const reply = await fetch(t.url + path, {
    method: 'POST',
    headers: {
      ...(options.header === false ? {} : { [KEEP_CLIENT_HEADER]: 'web' }),
      ...(options.cookie ? { Cookie: `holdfast-keep=${options.cookie}` } : {}),
      ...(options.bearer ? { Authorization: `Bearer ${options.bearer}` } : {}),
      ...(options.body ? { 'Content-Type': 'application/json' } : {}),
    },
    body: options.body ? JSON.stringify(options.body) : undefined,
  });
  const setCookie = reply.headers.get('set-cookie') ?? '';
  return { status: reply.status, setCookie, cookie: /^holdfast-keep=([^;]*)/.exec(setCookie)?.[1] ?? null, body: reply.status === 200 ? ((await reply.json()) as { code?: string }) : null };
}

describe('the kept sign-in', () => {
  it('is kept in an HttpOnly, SameSite=Strict cookie, rotates on every renewal, trades for a one-time code, and ends at sign-out', async () => {
    const ann = client(t.url);
    await ann.signIn('ann', 'ann-pw');
    // Without the client header (a form or an image of another site): refused.
    expect((await post(KEEP_PATH, { bearer: ann.apiToken!, header: false })).status).toBe(400);
    expect((await post(KEEP_PATH)).status).toBe(401);
    const kept = await post(KEEP_PATH, { bearer: ann.apiToken! });
    expect(kept.status).toBe(204);
    expect(kept.setCookie).toMatch(/HttpOnly/);
    expect(kept.setCookie).toMatch(/SameSite=Strict/);
    expect(kept.setCookie).toMatch(/Path=\/auth\/keep/);
    const first = kept.cookie!;
    const renewed = await post(KEEP_RENEW_PATH, { cookie: first, body: { handoff: HANDOFF } });
    expect(renewed.status).toBe(200);
    expect(renewed.cookie).not.toBe(first);
    // The cookie before is used up: a copy of it gets nothing.
    expect((await post(KEEP_RENEW_PATH, { cookie: first, body: { handoff: HANDOFF } })).status).toBe(401);
    // The code signs in on the WebSocket, once, for that handoff.
    const raw = rawSocket(t.url, [SUBPROTOCOL]);
    await raw.opened;
    await raw.next('welcome');
    raw.ws.send(JSON.stringify({ type: 'auth.signInWithCode', id: 1, code: renewed.body!.code, handoff: HANDOFF }));
    expect(await raw.next('auth.signedIn')).toMatchObject({ user: { name: 'ann' } });
    raw.ws.close();
    // Sign-out ends it: the cookie is cleared, and the token in it renews nothing.
    const ended = await post(KEEP_END_PATH, { cookie: renewed.cookie! });
    expect(ended.status).toBe(204);
    expect(ended.setCookie).toMatch(/Max-Age=0/);
    expect((await post(KEEP_RENEW_PATH, { cookie: renewed.cookie!, body: { handoff: HANDOFF } })).status).toBe(401);
    ann.signOut();
  });
});
