// "Remember me" against a real node: a sign-in with remember: true also gets a refresh
// token; it signs in again later (without the password) and is replaced each time; it
// is never an access token, and an access token is never a refresh token.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloseCode } from '../shared/protocol/index.js';
import { HoldfastClient, type ProtocolError, type RefreshGrant } from '../shared/core/index.js';
import { nodeSocketFactory } from '../broker/cli/connect.js';
import { bearer, rawSocket, startNode, type TestNode } from '../support/harness.js';
import { waitFor } from './demo-node.js';

let t: TestNode;
beforeAll(async () => {
  t = await startNode({ node: { refreshTokenTtlDays: 7, refreshTokenReuseGraceSeconds: 1 } });
});
afterAll(() => t?.stop());

function rememberingClient(grants: RefreshGrant[]): HoldfastClient {
  return new HoldfastClient({ brokerUrl: t.url, socketFactory: nodeSocketFactory, connectTimeoutMs: 5000, onRefreshToken: (grant) => grants.push(grant) });
}

describe('remember me', () => {
  it('a sign-in without remember gets no refresh token', async () => {
    const grants: RefreshGrant[] = [];
    const client = rememberingClient(grants);
    await client.signIn('ann', 'ann-pw');
    expect(grants).toEqual([]);
    client.signOut();
  });

  it('a remembered sign-in comes back with the refresh token alone, and the token is rotated each time', async () => {
    const grants: RefreshGrant[] = [];
    const first = rememberingClient(grants);
    await first.signIn('ann', 'ann-pw', { remember: true });
    expect(grants).toHaveLength(1);
    expect(grants[0]).toMatchObject({ brokerUrl: t.url, user: 'ann' });
    const lifetimeDays = (grants[0]!.expiresAt - Date.now()) / 86_400_000;
    expect(lifetimeDays).toBeGreaterThan(6.9);
    expect(lifetimeDays).toBeLessThanOrEqual(7);
    first.signOut();

    // Later, another run of the app: no password, just the kept token.
    const later = rememberingClient(grants);
    expect(await later.signInWithToken(grants[0]!.refreshToken)).toMatchObject({ name: 'ann' });
    expect(grants).toHaveLength(2);
    expect(grants[1]!.refreshToken).not.toBe(grants[0]!.refreshToken);
    expect((await later.listApps()).map((app) => app.id)).toContain('python');
    later.signOut();
  });

  it('a refresh token works once; shown again (it was copied), it ends every sign-in of that person', async () => {
    const grants: RefreshGrant[] = [];
    const first = rememberingClient(grants);
    await first.signIn('ann', 'ann-pw', { remember: true });
    first.signOut();
    const desk = rememberingClient(grants);
    await desk.signInWithToken(grants[0]!.refreshToken);
    expect(grants).toHaveLength(2);
    const deskToken = desk.apiToken!;

    // Within the grace period a used token is only refused (the same client retrying)…
    const retry = (await rememberingClient([]).signInWithToken(grants[0]!.refreshToken).catch((e: ProtocolError) => e)) as ProtocolError;
    expect(retry.message).toBe('Your saved sign-in has expired or is no longer valid; sign in again.');
    expect((await desk.listApps()).length).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 1100));
    // …after it, it is a copy: refused, and everything of ann's is revoked.
    const thief = (await rememberingClient([]).signInWithToken(grants[0]!.refreshToken).catch((e: ProtocolError) => e)) as ProtocolError;
    expect(thief.code).toBe('sign_in_failed');
    expect(thief.message).toBe('This saved sign-in was already used, so it may have been copied. To be safe, every sign-in of yours has been ended; sign in again with your password.');
    const rotated = (await rememberingClient([]).signInWithToken(grants[1]!.refreshToken).catch((e: ProtocolError) => e)) as ProtocolError;
    expect(rotated.message).toBe('Your saved sign-in has expired or is no longer valid; sign in again.');
    // The access token the desk client holds opens nothing any more.
    const live = rawSocket(t.url, bearer(deskToken));
    expect((await live.closed).code).toBe(CloseCode.unauthenticated);
    // The password still works.
    const again = rememberingClient([]);
    await expect(again.signIn('ann', 'ann-pw')).resolves.toMatchObject({ name: 'ann' });
    again.signOut();
    const audit = readFileSync(join(t.stateDir, 'audit.log'), 'utf8');
    expect(audit).toMatch(/"event":"sign-in\.refresh-reused","user":"ann"/);
  });

  it('refuses a tampered token and an access token, with a message that says to sign in again', async () => {
    const grants: RefreshGrant[] = [];
    const client = rememberingClient(grants);
    await client.signIn('bob', 'bob-pw', { remember: true });
    const access = await bearerToken('bob', 'bob-pw');
    client.signOut();
    for (const token of [grants[0]!.refreshToken.slice(0, -3) + 'AAA', access]) {
      const error = (await rememberingClient([]).signInWithToken(token).catch((e: ProtocolError) => e)) as ProtocolError;
      expect(error.code).toBe('sign_in_failed');
      expect(error.message).toBe('Your saved sign-in has expired or is no longer valid; sign in again.');
    }
  });

  it('a refresh token does not open a connection as an access token would', async () => {
    const grants: RefreshGrant[] = [];
    const client = rememberingClient(grants);
    await client.signIn('ann', 'ann-pw', { remember: true });
    client.signOut();
    const socket = rawSocket(t.url, bearer(grants[0]!.refreshToken));
    expect((await socket.closed).code).toBe(CloseCode.unauthenticated);
  });
});

describe('renewing a refused sign-in', () => {
  /** A node restarted on the same port with a fresh token key: every access and refresh token it issued before is refused. */
  async function restartWithNewKey(node: TestNode): Promise<TestNode> {
    const port = Number(new URL(node.url).port);
    await node.node.stop();
    return startNode({ node: { listen: { host: '127.0.0.1', port } } });
  }

  it('a kiosk whose access token the broker no longer accepts signs in again with its stored secret', async () => {
    let node = await startNode();
    const renewals: number[] = [];
    const client = new HoldfastClient({
      brokerUrl: node.url,
      socketFactory: nodeSocketFactory,
      connectTimeoutMs: 2000,
      renewSignIn: async () => (renewals.push(Date.now()), { user: 'ann', password: 'ann-pw' }),
    });
    try {
      await client.signIn('ann', 'ann-pw');
      node = await restartWithNewKey(node);
      await waitFor('the client to be signed in again', async () => (await client.listApps().catch(() => [])).length > 0);
      expect(renewals.length).toBeGreaterThanOrEqual(1);
      expect(client.state).toMatchObject({ status: 'online', user: { name: 'ann' } });
    } finally {
      client.signOut();
      await node.stop();
    }
  });

  it('a remembered token from before the key changed is refused: the client stays offline and says why', async () => {
    let node = await startNode();
    const grants: RefreshGrant[] = [];
    const client = new HoldfastClient({
      brokerUrl: node.url,
      socketFactory: nodeSocketFactory,
      connectTimeoutMs: 2000,
      onRefreshToken: (grant) => grants.push(grant),
      renewSignIn: async () => ({ refreshToken: grants.at(-1)!.refreshToken }),
    });
    try {
      await client.signIn('ann', 'ann-pw', { remember: true });
      node = await restartWithNewKey(node);
      await expect(client.listApps()).rejects.toMatchObject({ code: 'sign_in_failed' });
      expect(client.state.status).toBe('offline');
      expect(client.state.statusDetail).toMatch(/saved sign-in has expired or is no longer valid/);
    } finally {
      client.signOut();
      await node.stop();
    }
  });
});

async function bearerToken(user: string, password: string): Promise<string> {
  const socket = rawSocket(t.url);
  await socket.opened;
  socket.ws.send(JSON.stringify({ type: 'auth.signIn', id: 1, user, password }));
  const reply = await socket.next('auth.signedIn');
  socket.ws.close();
  return reply.accessToken as string;
}
