// The life of one session as a person sees it, with no sockets and no UI: launching,
// streaming, reconnecting (attempt, next try, hold time left), ended (why), failed
// (why). The actors that touch the network are named here and supplied by
// session-stream.ts; tests supply fakes and a SimulatedClock.
import { assign, fromCallback, fromPromise, setup } from 'xstate';

export interface Opened {
  sessionId: string;
  resumeToken: string;
  holdSeconds: number;
}

export type OpenMode = 'launch' | 'attach' | 'resume';

export interface OpenInput {
  mode: OpenMode;
  sessionId: string | null;
  resumeToken: string | null;
}

/** What an open/resume failure carries: a code from the broker, and words for people. */
export interface OpenError {
  code: string;
  message: string;
}

export type SessionEvent =
  /** `atOnce`: the session moved on purpose and waits on another node: resume without backing off. */
  | { type: 'link.lost'; reason: string; atOnce?: boolean }
  | { type: 'link.exited'; message: string; exitCode: number }
  | { type: 'link.displaced'; message: string }
  | { type: 'retry' }
  | { type: 'close' };

export interface SessionContext {
  mode: 'launch' | 'attach';
  sessionId: string | null;
  resumeToken: string | null;
  holdSeconds: number;
  /** Reconnect attempts since the link was lost (0 while streaming). */
  attempt: number;
  /** When the link was lost; the hold time runs from here. */
  lostAt: number | null;
  nextTryAt: number | null;
  /** The next attempt goes without backoff (set by a planned move). */
  atOnce: boolean;
  lastError: string | null;
  /** Why the session ended or failed, for people. */
  reason: string | null;
  exitCode: number | null;
  /** When the session was opened from another client, taking it from this one (ms since the epoch). */
  displacedAt: number | null;
  now: () => number;
  random: () => number;
}

export interface SessionInput {
  mode: 'launch' | 'attach';
  sessionId?: string;
  now?: () => number;
  random?: () => number;
}

/**
 * The first attempt after a lost link goes within this, spread evenly over it (a
 * node's clients do not all come back in the same instant): a killed node's standby is
 * promoted about 75 ms after the kill, and a gateway holds a resume that comes sooner
 * until the promotion, so waiting longer only adds to what the person waits.
 */
const FIRST_RETRY_MAX_MS = 100;

/** Jittered exponential backoff: the first attempt within FIRST_RETRY_MAX_MS, then 250 ms doubling to a 5 s cap, each wait 50–100 % of that. */
export function backoffMs(attempt: number, random: () => number): number {
  if (attempt <= 1) return Math.round(FIRST_RETRY_MAX_MS * random());
  const ceiling = Math.min(5000, 250 * 2 ** (attempt - 2));
  return Math.round(ceiling * (0.5 + random() * 0.5));
}

/** Codes that mean the session is gone for good: stop trying. */
const FINAL_CODES = new Set(['no_session', 'session_ended', 'unknown_app', 'not_entitled', 'unauthenticated', 'launch_failed', 'session_busy', 'limit_reached', 'link_refused', 'shadow_denied']);
/** After the hold time (plus this grace) a session cannot be waiting any more. */
const HOLD_GRACE_MS = 15_000;

function errorOf(error: unknown): OpenError {
  if (typeof error === 'object' && error !== null && 'message' in error) {
    const code = 'code' in error && typeof error.code === 'string' ? error.code : 'unreachable';
    return { code, message: String(error.message) };
  }
  return { code: 'unreachable', message: String(error) };
}

export const sessionMachine = setup({
  types: {
    context: {} as SessionContext,
    events: {} as SessionEvent,
    input: {} as SessionInput,
  },
  actors: {
    open: fromPromise<Opened, OpenInput>(async () => {
      throw new Error('open: not provided');
    }),
    link: fromCallback<SessionEvent>(() => () => {}),
  },
  delays: {
    retryDelay: ({ context }) => Math.max(0, (context.nextTryAt ?? context.now()) - context.now()),
  },
  guards: {
    isFinal: (_, params: { error: unknown }) => FINAL_CODES.has(errorOf(params.error).code),
    holdPassed: ({ context }) => context.lostAt !== null && context.now() - context.lostAt > context.holdSeconds * 1000 + HOLD_GRACE_MS,
  },
}).createMachine({
  id: 'session',
  context: ({ input }) => ({
    mode: input.mode,
    sessionId: input.sessionId ?? null,
    resumeToken: null,
    holdSeconds: 0,
    attempt: 0,
    lostAt: null,
    nextTryAt: null,
    atOnce: false,
    lastError: null,
    reason: null,
    exitCode: null,
    displacedAt: null,
    now: input.now ?? Date.now,
    random: input.random ?? Math.random,
  }),
  initial: 'launching',
  states: {
    launching: {
      invoke: {
        src: 'open',
        input: ({ context }) => ({ mode: context.mode, sessionId: context.sessionId, resumeToken: null }),
        onDone: {
          target: 'streaming',
          actions: assign(({ event }) => ({ ...event.output })),
        },
        onError: {
          target: 'failed',
          actions: assign({ reason: ({ event }) => errorOf(event.error).message }),
        },
      },
    },
    streaming: {
      entry: assign({ attempt: 0, lostAt: null, nextTryAt: null, lastError: null }),
      invoke: { src: 'link' },
      on: {
        'link.lost': {
          target: 'reconnecting',
          actions: assign({ lostAt: ({ context }) => context.now(), lastError: ({ event }) => event.reason, atOnce: ({ event }) => event.atOnce === true }),
        },
        'link.exited': { target: 'ended', actions: assign({ reason: ({ event }) => event.message, exitCode: ({ event }) => event.exitCode }) },
        'link.displaced': { target: 'ended', actions: assign({ reason: ({ event }) => event.message, displacedAt: ({ context }) => context.now() }) },
        close: { target: 'ended', actions: assign({ reason: 'You ended the session.' }) },
      },
    },
    reconnecting: {
      entry: assign(({ context }) => ({
        attempt: context.attempt + 1,
        nextTryAt: context.now() + (context.atOnce ? 0 : backoffMs(context.attempt + 1, context.random)),
        atOnce: false,
      })),
      always: {
        guard: 'holdPassed',
        target: 'ended',
        actions: assign({ reason: 'The session’s hold time passed while the broker could not be reached.' }),
      },
      after: { retryDelay: 'resuming' },
      on: {
        retry: 'resuming',
        close: { target: 'ended', actions: assign({ reason: 'You closed the session while it was reconnecting.' }) },
      },
    },
    resuming: {
      entry: assign({ nextTryAt: null }),
      invoke: {
        src: 'open',
        input: ({ context }) => ({ mode: 'resume' as const, sessionId: context.sessionId, resumeToken: context.resumeToken }),
        onDone: { target: 'streaming', actions: assign(({ event }) => ({ ...event.output })) },
        onError: [
          {
            guard: { type: 'isFinal', params: ({ event }) => ({ error: event.error }) },
            target: 'ended',
            actions: assign({ reason: ({ event }) => errorOf(event.error).message }),
          },
          { target: 'reconnecting', actions: assign({ lastError: ({ event }) => errorOf(event.error).message }) },
        ],
      },
      on: {
        close: { target: 'ended', actions: assign({ reason: 'You closed the session while it was reconnecting.' }) },
      },
    },
    ended: { type: 'final' },
    failed: { type: 'final' },
  },
});
