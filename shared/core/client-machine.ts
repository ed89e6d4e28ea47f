// The client as a person sees it before any session: signed out, signing in, ready.
// Sign-in is a named actor (supplied by client.ts; tests supply a fake). Sessions have
// their own machine (session-machine.ts), one per tab.
import { assign, fromPromise, setup } from 'xstate';
import type { UserInfo } from '../protocol/index.js';

/**
 * A password (optionally asking for a refresh token: "remember me"), a refresh token kept
 * from before, or the one-time code an identity provider's sign-in left (with the
 * handoff value this client started that sign-in with).
 */
export type SignInInput =
  | { user: string; password: string; remember?: boolean; code?: string }
  | { refreshToken: string }
  | { oidcCode: string; handoff: string; remember?: boolean };
export type ClientEvent = ({ type: 'signIn' } & SignInInput) | { type: 'signOut' };

export interface ClientContext {
  user: UserInfo | null;
  /** Why the last sign-in failed, for people. */
  error: string | null;
}

export const clientMachine = setup({
  types: { context: {} as ClientContext, events: {} as ClientEvent },
  actors: {
    signIn: fromPromise<UserInfo, SignInInput>(async () => {
      throw new Error('signIn: not provided');
    }),
  },
}).createMachine({
  id: 'client',
  context: { user: null, error: null },
  initial: 'signedOut',
  states: {
    signedOut: {
      entry: assign({ user: null }),
      on: { signIn: 'signingIn' },
    },
    signingIn: {
      entry: assign({ error: null }),
      invoke: {
        src: 'signIn',
        input: ({ event }): SignInInput => {
          if (event.type !== 'signIn') return { user: '', password: '' };
          const { type: _type, ...input } = event;
          return input;
        },
        onDone: { target: 'ready', actions: assign({ user: ({ event }) => event.output }) },
        onError: {
          target: 'signedOut',
          actions: assign({ error: ({ event }) => (event.error instanceof Error ? event.error.message : String(event.error)) }),
        },
      },
      on: { signOut: 'signedOut' },
    },
    ready: {
      on: { signOut: 'signedOut', signIn: 'signingIn' },
    },
  },
});
