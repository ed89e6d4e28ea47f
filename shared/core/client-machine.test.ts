import { describe, expect, it } from 'vitest';
import { createActor, fromPromise } from 'xstate';
import type { UserInfo } from '../protocol/index.js';
import { clientMachine, type SignInInput } from './client-machine.js';

const ann: UserInfo = { name: 'ann', displayName: 'Ann', groups: [] };

function start(result: UserInfo | Error, expected: SignInInput = { user: 'ann', password: 'pw' }) {
  const machine = clientMachine.provide({
    actors: {
      signIn: fromPromise<UserInfo, SignInInput>(async ({ input }) => {
        if (result instanceof Error) throw result;
        expect(input).toEqual(expected);
        return result;
      }),
    },
  });
  return createActor(machine).start();
}

const settle = () => new Promise((r) => setTimeout(r, 0));

describe('client machine', () => {
  it('goes signed out → signing in → ready, and back on sign-out', async () => {
    const actor = start(ann);
    expect(actor.getSnapshot().value).toBe('signedOut');
    actor.send({ type: 'signIn', user: 'ann', password: 'pw' });
    expect(actor.getSnapshot().value).toBe('signingIn');
    await settle();
    expect(actor.getSnapshot().value).toBe('ready');
    expect(actor.getSnapshot().context.user).toEqual(ann);
    actor.send({ type: 'signOut' });
    expect(actor.getSnapshot().value).toBe('signedOut');
    expect(actor.getSnapshot().context.user).toBeNull();
  });

  it('returns to signed out with the broker’s words when sign-in fails', async () => {
    const actor = start(new Error('Sign-in failed: the user name or password is not right.'));
    actor.send({ type: 'signIn', user: 'ann', password: 'pw' });
    await settle();
    expect(actor.getSnapshot().value).toBe('signedOut');
    expect(actor.getSnapshot().context.error).toBe('Sign-in failed: the user name or password is not right.');
  });

  it('signs in with a kept refresh token the same way (remember me)', async () => {
    const actor = start(ann, { refreshToken: 'kept-token' });
    actor.send({ type: 'signIn', refreshToken: 'kept-token' });
    await settle();
    expect(actor.getSnapshot().value).toBe('ready');
  });

  it('signs in with an identity provider’s one-time code and the handoff value the same way', async () => {
    const actor = start(ann, { oidcCode: 'one-time', handoff: 'mine', remember: true });
    actor.send({ type: 'signIn', oidcCode: 'one-time', handoff: 'mine', remember: true });
    await settle();
    expect(actor.getSnapshot().value).toBe('ready');
  });
});
