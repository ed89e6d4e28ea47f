// The session machine without a UI or a network: fake actors, a simulated clock.
import { describe, expect, it } from 'vitest';
import { SimulatedClock, createActor, fromCallback, fromPromise } from 'xstate';
import { backoffMs, sessionMachine, type OpenInput, type Opened, type SessionEvent } from './session-machine.js';

const opened: Opened = { sessionId: 's1', resumeToken: 'tok', holdSeconds: 180 };

function harness(openResults: Array<Opened | { code: string; message: string }>) {
  const clock = new SimulatedClock();
  const calls: OpenInput[] = [];
  let sendLink: ((event: SessionEvent) => void) | null = null;
  const machine = sessionMachine.provide({
    actors: {
      open: fromPromise<Opened, OpenInput>(async ({ input }) => {
        calls.push(input);
        const next = openResults.shift();
        if (!next) throw Object.assign(new Error('unreachable'), { code: 'unreachable' });
        if ('code' in next) throw Object.assign(new Error(next.message), { code: next.code });
        return next;
      }),
      link: fromCallback<SessionEvent>(({ sendBack }) => {
        sendLink = sendBack;
        return () => (sendLink = null);
      }),
    },
  });
  const actor = createActor(machine, { clock, input: { mode: 'launch', now: () => clock.now(), random: () => 1 } });
  actor.start();
  const settle = () => new Promise((r) => setTimeout(r, 0));
  return { actor, clock, calls, settle, link: (event: SessionEvent) => sendLink!(event) };
}

describe('session machine', () => {
  it('launches, streams, and ends when the app exits', async () => {
    const { actor, settle, link } = harness([opened]);
    expect(actor.getSnapshot().value).toBe('launching');
    await settle();
    expect(actor.getSnapshot().value).toBe('streaming');
    expect(actor.getSnapshot().context.resumeToken).toBe('tok');
    link({ type: 'link.exited', message: 'Python exited.', exitCode: 0 });
    expect(actor.getSnapshot().value).toBe('ended');
    expect(actor.getSnapshot().context.reason).toBe('Python exited.');
  });

  it('fails with the broker’s words when the launch is refused', async () => {
    const { actor, settle } = harness([{ code: 'not_entitled', message: 'You are not entitled to launch "Shell".' }]);
    await settle();
    expect(actor.getSnapshot().value).toBe('failed');
    expect(actor.getSnapshot().context.reason).toBe('You are not entitled to launch "Shell".');
  });

  it('reconnects with jittered, capped backoff and resumes with the resume token', async () => {
    const { actor, clock, calls, settle, link } = harness([opened]);
    await settle();
    link({ type: 'link.lost', reason: 'connection lost' });
    let snap = actor.getSnapshot();
    expect(snap.value).toBe('reconnecting');
    expect(snap.context.attempt).toBe(1);
    expect(snap.context.nextTryAt).toBe(100);
    clock.increment(99);
    expect(actor.getSnapshot().value).toBe('reconnecting');
    clock.increment(1);
    expect(actor.getSnapshot().value).toBe('resuming');
    expect(calls.at(-1)).toEqual({ mode: 'resume', sessionId: 's1', resumeToken: 'tok' });
    await settle(); // unreachable: back to reconnecting, waiting longer
    snap = actor.getSnapshot();
    expect(snap.value).toBe('reconnecting');
    expect(snap.context.attempt).toBe(2);
    expect(snap.context.nextTryAt! - clock.now()).toBe(250);
    const waits = [3, 4, 5, 6, 7].map((n) => backoffMs(n, () => 1));
    expect(waits).toEqual([500, 1000, 2000, 4000, 5000]);
    // The first attempt is spread over 0–100 ms, so a dead node's clients do not all come back at once.
    expect([0, 0.5, 1].map((r) => backoffMs(1, () => r))).toEqual([0, 50, 100]);
    expect(backoffMs(7, () => 0)).toBe(2500);
  });

  it('resumes without backing off after a planned move, and backs off again if that attempt fails', async () => {
    const { actor, clock, calls, settle, link } = harness([opened]);
    await settle();
    link({ type: 'link.lost', reason: 'the session moved to another node; resume it there', atOnce: true });
    clock.increment(0);
    expect(actor.getSnapshot().value).toBe('resuming');
    expect(calls.at(-1)).toEqual({ mode: 'resume', sessionId: 's1', resumeToken: 'tok' });
    await settle(); // unreachable: the next wait is the usual backoff
    const snap = actor.getSnapshot();
    expect(snap.value).toBe('reconnecting');
    expect(snap.context.nextTryAt! - clock.now()).toBe(250);
  });

  it('retries at once on "Reconnect now" and goes back to streaming', async () => {
    const { actor, settle, link } = harness([opened, { ...opened }]);
    await settle();
    link({ type: 'link.lost', reason: 'connection lost' });
    actor.send({ type: 'retry' });
    expect(actor.getSnapshot().value).toBe('resuming');
    await settle();
    expect(actor.getSnapshot().value).toBe('streaming');
    expect(actor.getSnapshot().context.attempt).toBe(0);
    expect(actor.getSnapshot().context.lostAt).toBeNull();
  });

  it('stops trying when the broker says the session has ended, and says why', async () => {
    const { actor, settle, link } = harness([opened, { code: 'session_ended', message: 'Your session ended: no client reconnected within 3:00 (the hold time).' }]);
    await settle();
    link({ type: 'link.lost', reason: 'connection lost' });
    actor.send({ type: 'retry' });
    await settle();
    expect(actor.getSnapshot().value).toBe('ended');
    expect(actor.getSnapshot().context.reason).toMatch(/hold time/);
  });

  it('gives up on its own once the hold time has surely passed', async () => {
    const { actor, clock, settle, link } = harness([opened]);
    await settle();
    link({ type: 'link.lost', reason: 'connection lost' });
    for (let i = 0; i < 60 && actor.getSnapshot().value !== 'ended'; i += 1) {
      clock.increment(5000);
      await settle();
    }
    expect(actor.getSnapshot().value).toBe('ended');
    expect(actor.getSnapshot().context.reason).toMatch(/hold time passed/);
    expect(clock.now()).toBeGreaterThan(180_000);
  });

  it('ends when another client takes the session over', async () => {
    const { actor, settle, link } = harness([opened]);
    await settle();
    link({ type: 'link.displaced', message: 'This session was opened from another client.' });
    expect(actor.getSnapshot().value).toBe('ended');
  });
});
