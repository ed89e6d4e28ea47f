import { describe, expect, it, vi } from 'vitest';
import { ErrorCode, type ServerMessage } from '../../shared/protocol/index.js';
import { SignInLimiter } from '../auth/rate-limit.js';
import { Catalog } from '../catalog.js';
import { NodeConfig } from '../config/schema.js';
import { silentLogger } from '../log.js';
import type { FederatedClaims } from '../auth/tokens.js';
import type { Client } from './client.js';
import type { NodeContext } from './context.js';
import { SignIn } from './sign-in.js';

const hash = 'scrypt$16384$8$1$c2FsdA==$aGFzaA==';
const config = NodeConfig.parse({
  users: [{ name: 'ann', passwordHash: hash }, { name: 'tom', passwordHash: hash }],
  apps: [{ id: 'shell', name: 'Shell', command: '/bin/bash' }],
  entitlements: [],
});

class FakeClient implements Client {
  readonly address = '203.0.113.7';
  user: string | null = null;
  federated: FederatedClaims | undefined = undefined;
  grant: string | null = null;
  closed = false;
  readonly sent: ServerMessage[] = [];
  signedIn(user: string, federated: FederatedClaims | undefined, grant: string): void {
    this.user = user;
    this.federated = federated;
    this.grant = grant;
  }
  signedOut(): void {
    this.user = null;
    this.grant = null;
  }
  keepOpen(): void {}
  onStreamUsed(): void {}
  send(message: ServerMessage): void {
    this.sent.push(message);
  }
  refuse(id: number | null, code: string, message: string, retryAfterMs?: number): void {
    this.send({ type: 'error', id, code, message, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
  }
  close(): void {}
  isOpen(): boolean {
    return true;
  }
  last(): Record<string, unknown> {
    return this.sent.at(-1) as unknown as Record<string, unknown>;
  }
}

/** ann's password is ann-pw, tom's tom-pw; tom also has TOTP on (his code is 123456). */
function setup() {
  const client = new FakeClient();
  const verifyUser = vi.fn(async (name: string, password: string) => `${name}-pw` === password && (name === 'ann' || name === 'tom'));
  const signIns = { inc: vi.fn() };
  const audit = { record: vi.fn(), close: () => {} };
  const ctx = {
    config,
    catalog: new Catalog(config),
    // No free failures on the pair limiter: the first wrong password already slows the next.
    limits: { byPair: new SignInLimiter({ freeFailures: 0 }), byAddress: new SignInLimiter({ freeFailures: 20 }), byUser: new SignInLimiter({ freeFailures: 50 }) },
    metrics: { signIns },
    audit,
    log: silentLogger,
    verifyUser,
    secondFactors: { enabled: async (name: string) => name === 'tom', check: async (_name: string, code: string) => (code === '123456' ? 'totp' : 'wrong') },
    tokens: {
      issue: async () => ({ token: 'access', expiresAt: 1, sid: 's1' }),
      issueRefresh: async () => ({ token: 'refresh', expiresAt: 2, sid: 's1' }),
      issueDevice: async () => ({ token: 'device', expiresAt: 3, sid: 's2' }),
      deviceOf: async (token: string, user: string) => token === `device-of-${user}`,
    },
  } as unknown as NodeContext;
  return { client, signIn: new SignIn(ctx, client), verifyUser, signIns, audit };
}

describe('password sign-in', () => {
  it('signs in with the right password', async () => {
    const { client, signIn } = setup();
    await signIn.withPassword(1, 'ann', 'ann-pw');
    expect(client.user).toBe('ann');
    expect(client.last()).toMatchObject({ type: 'auth.signedIn', id: 1, accessToken: 'access', user: { name: 'ann' }, deviceToken: 'device' });
    expect(client.last().refreshToken).toBeUndefined();
  });

  it('does not hold back a device that signed in as the person before when the name is slowed, and still holds back others', async () => {
    const { client, signIn } = setup();
    // The name is slowed from anywhere (others guessed at it)…
    const { byUser } = (signIn as unknown as { ctx: NodeContext }).ctx.limits;
    for (let i = 0; i < 51; i++) byUser.recordFailure(['ann']);
    await signIn.withPassword(1, 'ann', 'ann-pw');
    expect(client.last()).toMatchObject({ type: 'error', code: 'rate_limited' });
    // …but not on ann's own device, and her sign-in clears the name's count.
    await signIn.withPassword(2, 'ann', 'ann-pw', false, undefined, 'device-of-ann');
    expect(client.last()).toMatchObject({ type: 'auth.signedIn', id: 2 });
    await signIn.withPassword(3, 'ann', 'ann-pw');
    expect(client.last()).toMatchObject({ type: 'auth.signedIn', id: 3 });
  });

  it('counts a wrong password, refuses it with retryAfterMs, and refuses the next try without checking it', async () => {
    const { client, signIn, verifyUser, signIns, audit } = setup();
    await signIn.withPassword(1, 'ann', 'wrong');
    expect(client.user).toBeNull();
    expect(client.last()).toMatchObject({ type: 'error', id: 1, code: ErrorCode.signInFailed, message: 'Sign-in failed: the user name or password is not right.' });
    expect(client.last().retryAfterMs).toBeGreaterThan(0);
    expect(signIns.inc).toHaveBeenCalledWith({ result: 'failed' });
    expect(audit.record).toHaveBeenCalledWith('sign-in.failed', expect.objectContaining({ user: 'ann', address: client.address }));

    await signIn.withPassword(2, 'ann', 'ann-pw');
    expect(verifyUser).toHaveBeenCalledTimes(1);
    expect(client.user).toBeNull();
    expect(client.last()).toMatchObject({ type: 'error', id: 2, code: ErrorCode.rateLimited });
    expect(client.last().retryAfterMs).toBeGreaterThan(0);
  });

  it('gives an unknown name exactly the words a wrong password gets', async () => {
    const known = setup();
    await known.signIn.withPassword(1, 'ann', 'wrong');
    const unknown = setup();
    await unknown.signIn.withPassword(1, 'nobody', 'wrong');
    const { retryAfterMs: _a, ...knownAnswer } = known.client.last();
    const { retryAfterMs: _b, ...unknownAnswer } = unknown.client.last();
    expect(unknownAnswer).toEqual(knownAnswer);
    expect(unknown.verifyUser).toHaveBeenCalledWith('nobody', 'wrong');
  });

  it('asks for the second factor when TOTP is on, and signs in with the code', async () => {
    const { client, signIn, signIns } = setup();
    await signIn.withPassword(1, 'tom', 'tom-pw');
    expect(client.user).toBeNull();
    expect(client.last()).toMatchObject({ type: 'error', id: 1, code: ErrorCode.secondFactor });
    expect(signIns.inc).not.toHaveBeenCalled();

    await signIn.withPassword(2, 'tom', 'tom-pw', false, '000000');
    expect(client.user).toBeNull();
    expect(client.last()).toMatchObject({ type: 'error', id: 2, code: ErrorCode.signInFailed });
    expect(signIns.inc).toHaveBeenCalledWith({ result: 'failed' });

    const fresh = setup();
    await fresh.signIn.withPassword(3, 'tom', 'tom-pw', true, '123456');
    expect(fresh.client.user).toBe('tom');
    expect(fresh.client.last()).toMatchObject({ type: 'auth.signedIn', id: 3, refreshToken: 'refresh' });
  });

  it('confirming TOTP before beginning it is refused', async () => {
    const { client, signIn } = setup();
    await signIn.confirmTotp('ann', 4, '123456');
    expect(client.last()).toMatchObject({ type: 'error', id: 4, code: ErrorCode.badRequest, message: 'Start setting up two-step sign-in first.' });
  });
});
