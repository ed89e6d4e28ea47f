// "Remember me" against a real node: a sign-in with remember: true also gets a refresh
// token; it signs in again later (without the password) and is replaced each time; it
// is never an access token, and an access token is never a refresh token.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloseCode } from '../shared/protocol/index.js';
import { HoldfastClient, type ProtocolError, type RefreshGrant } from '../shared/core/index.js';
import { nodeSocketFactory } from '../broker/cli/connect.js';
import { bearer, rawSocket, startNode, type TestNode } from './harness.js';

let t: TestNode;
beforeAll(async () => {
  t = await startNode({ node: { refreshTokenTtlDays: 7 } });
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

async function bearerToken(user: string, password: string): Promise<string> {
  const socket = rawSocket(t.url);
  await socket.opened;
  socket.ws.send(JSON.stringify({ type: 'auth.signIn', id: 1, user, password }));
  const reply = await socket.next('auth.signedIn');
  socket.ws.close();
  return reply.accessToken as string;
}
