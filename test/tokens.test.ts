// Tokens a hostile client might present, and taking sign-ins back: expired, tampered,
// foreign and wrong-audience tokens are refused alike; signing out revokes the token on
// the broker; an administrator's `holdfast user revoke` ends every sign-in of a person
// at once, cluster-wide, while their sessions wait for them.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloseCode } from '../shared/protocol/index.js';
import { bearer, client, launch, rawSocket, startNode, type TestNode } from '../support/harness.js';

const CLI = resolve(import.meta.dirname, '..', 'dist', 'broker', 'cli.js');
/** The CLI as an operator runs it (asynchronously: the node under test runs in this process). */
const holdfast = (args: string[], password: string) => promisify(execFile)(process.execPath, [CLI, ...args], { env: { ...process.env, HOLDFAST_PASSWORD: password }, encoding: 'utf8' });
const REFUSED = { code: CloseCode.unauthenticated, reason: 'your sign-in has expired or is not valid; sign in again' };

let t: TestNode;
beforeAll(async () => {
  t = await startNode({ admin: true });
});
afterAll(async () => {
  await t?.stop();
});

/** What the node does with a connection that presents `token` at the upgrade. */
async function present(token: string): Promise<{ code: number; reason: string } | 'welcome'> {
  const raw = rawSocket(t.url, bearer(token));
  await raw.opened;
  const outcome = await Promise.race([raw.closed, raw.next('welcome', 3000).then(() => 'welcome' as const)]);
  raw.ws.close();
  return outcome;
}

const sign = (claims: { sub: string; aud: string; exp: number }, key: Uint8Array) =>
  new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(claims.sub).setIssuer('holdfast').setAudience(claims.aud).setIssuedAt().setExpirationTime(claims.exp).sign(key);

describe('tokens', () => {
  it('refuses expired, tampered, foreign and wrong-audience tokens alike, and takes a good one', async () => {
    const ann = client(t.url);
    await ann.signIn('ann', 'ann-pw');
    const good = ann.apiToken!;
    expect(await present(good)).toBe('welcome');
    const key = t.node.ctx.tokens.key;
    const now = Math.floor(Date.now() / 1000);
    const expired = await sign({ sub: 'ann', aud: 'holdfast-client', exp: now - 10 }, key);
    const foreign = await sign({ sub: 'ann', aud: 'holdfast-client', exp: now + 600 }, randomBytes(32));
    const wrongAudience = (await t.node.ctx.tokens.issueRefresh('ann')).token;
    const tampered = good.slice(0, -2) + (good.endsWith('AA') ? 'BB' : 'AA');
    const forged = good.split('.')[0] + '.' + Buffer.from(JSON.stringify({ sub: 'bob', aud: 'holdfast-client', iss: 'holdfast', exp: now + 600 })).toString('base64url') + '.' + good.split('.')[2];
    for (const token of [expired, foreign, wrongAudience, tampered, forged]) expect(await present(token)).toEqual(REFUSED);
    ann.signOut();
  });

  it('revokes the token on the broker when a person signs out', async () => {
    const ann = client(t.url);
    await ann.signIn('ann', 'ann-pw');
    const token = ann.apiToken!;
    expect(await present(token)).toBe('welcome');
    ann.signOut();
    await expect.poll(() => present(token), { timeout: 5000 }).toEqual(REFUSED);
    const audit = readFileSync(join(t.stateDir, 'audit.log'), 'utf8');
    expect(audit).toMatch(/"event":"sign-out","user":"ann","address":"127\.0\.0\.1","detail":"1 token revoked"/);
  });

  it('`holdfast user revoke` ends every sign-in of a person at once; their session waits for them', async () => {
    const ann = client(t.url);
    await ann.signIn('ann', 'ann-pw');
    const token = ann.apiToken!;
    const stream = await launch(ann, 'cat');
    const id = stream.sessionId!;
    stream.detach();
    const live = rawSocket(t.url, bearer(token));
    await live.opened;
    await live.next('welcome');
    const { stdout: out } = await holdfast(['user', 'revoke', 'ann', '--broker', t.url, '--user', 'admin'], 'admin-pw');
    expect(out).toContain("ann's sign-ins are revoked on every node; they must sign in again.");
    // The open connection is closed, saying why; the token opens nothing any more.
    expect(await live.closed).toEqual({ code: CloseCode.unauthenticated, reason: 'your sign-in was revoked; sign in again' });
    expect(live.messages.find((m) => m.type === 'error')).toMatchObject({ code: 'unauthenticated', message: 'An administrator ended your sign-in; sign in again.' });
    expect(await present(token)).toEqual(REFUSED);
    // Signing in again works, and the session is there, as it was.
    const again = client(t.url);
    await again.signIn('ann', 'ann-pw');
    expect((await again.listSessions()).map((s) => s.sessionId)).toContain(id);
    again.signOut();
    ann.signOut();
    // Only administrators may revoke.
    await expect(holdfast(['user', 'revoke', 'bob', '--broker', t.url, '--user', 'ann'], 'ann-pw')).rejects.toThrow(/Only members of the "admins" group/);
  });
});
