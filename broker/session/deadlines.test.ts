import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Deadlines, type DeadlineNotice } from './deadlines.js';
import type { EndReason } from './end-reason.js';
import type { SessionLimits } from './session-policy.js';

const limits = (over: Partial<SessionLimits>): SessionLimits => ({ holdSeconds: 60, idleSeconds: null, maxSeconds: null, warnSeconds: 300, ...over });

function make(over: Partial<SessionLimits>) {
  const said: Array<DeadlineNotice | 'cleared'> = [];
  const ended: Array<EndReason['kind'] | `hold ${number}`> = [];
  const words: string[] = [];
  const deadlines = new Deadlines(limits(over), Date.now(), 'Shell', {
    warn: (notice, message) => (said.push({ ...notice }), words.push(message)),
    cleared: () => said.push('cleared'),
    ended: (reason) => ended.push(reason.kind === 'hold-expired' ? `hold ${reason.holdSeconds}` : reason.kind),
  });
  return { deadlines, said, ended, words };
}

const MIN = 60_000;

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(1_000_000);
});
afterEach(() => vi.useRealTimers());

describe('the hold', () => {
  it('ends the session when no client comes back within the hold time, and not when one does', () => {
    const { deadlines, ended } = make({ holdSeconds: 60 });
    deadlines.start();
    deadlines.hold();
    expect(deadlines.holdExpiresAt).toBe(1_000_000 + MIN);
    vi.advanceTimersByTime(MIN - 1);
    deadlines.attach();
    expect(deadlines.holdExpiresAt).toBeNull();
    vi.advanceTimersByTime(10 * MIN);
    expect(ended).toEqual([]);
    // Left again: a whole hold time from now.
    deadlines.detach();
    deadlines.hold();
    vi.advanceTimersByTime(MIN - 1);
    expect(ended).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(ended).toEqual(['hold 60']);
  });

  it('is over when the session stops', () => {
    const { deadlines, ended } = make({ holdSeconds: 60 });
    deadlines.hold();
    deadlines.stop();
    expect(deadlines.holdExpiresAt).toBeNull();
    vi.advanceTimersByTime(2 * MIN);
    expect(ended).toEqual([]);
  });
});

describe('idle timeout', () => {
  it('warns warnSeconds before, lifts the warning on input, and ends after a full idle time with none', () => {
    const { deadlines, said, ended, words } = make({ idleSeconds: 30 * 60 });
    deadlines.start();
    deadlines.attach();
    vi.advanceTimersByTime(25 * MIN - 1);
    expect(said).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(said).toEqual([{ kind: 'idle', endsAt: 1_000_000 + 30 * MIN }]);
    expect(words).toEqual(['Shell ends in 5 minutes because it has been idle — press a key to keep it.']);
    expect(deadlines.endsAt).toBe(1_000_000 + 30 * MIN);
    vi.advanceTimersByTime(2 * MIN);
    deadlines.input();
    expect(said.at(-1)).toBe('cleared');
    expect(deadlines.notice).toBeNull();
    // A full idle time from the key, not from the start.
    vi.advanceTimersByTime(30 * MIN - 1);
    expect(ended).toEqual([]);
    expect(said.at(-1)).toEqual({ kind: 'idle', endsAt: 1_000_000 + 57 * MIN });
    vi.advanceTimersByTime(1);
    expect(ended).toEqual(['idle']);
  });

  it('counts input, not time alone: keys before the warning push it back without a word to the client', () => {
    const { deadlines, said, ended } = make({ idleSeconds: 10 * 60 });
    deadlines.start();
    deadlines.attach();
    for (let i = 0; i < 5; i++) {
      vi.advanceTimersByTime(4 * MIN);
      deadlines.input();
    }
    expect(said).toEqual([]);
    vi.advanceTimersByTime(10 * MIN);
    expect(said).toHaveLength(1);
    expect(ended).toEqual(['idle']);
  });

  it('does not run while no client is attached; a client coming back after the limit gets the warning time to press a key', () => {
    const { deadlines, said, ended } = make({ idleSeconds: 10 * 60, warnSeconds: 60 });
    deadlines.start();
    deadlines.attach();
    deadlines.detach();
    vi.advanceTimersByTime(60 * MIN);
    expect(ended).toEqual([]);
    expect(said).toEqual([]);
    deadlines.attach();
    expect(said).toEqual([{ kind: 'idle', endsAt: Date.now() + MIN }]);
    deadlines.input();
    expect(said.at(-1)).toBe('cleared');
    vi.advanceTimersByTime(9 * MIN);
    expect(said.at(-1)).toEqual({ kind: 'idle', endsAt: Date.now() + MIN });
    vi.advanceTimersByTime(MIN);
    expect(ended).toEqual(['idle']);
  });

  it('acts only once started (a standby, until promoted), and then at once if the end has passed', () => {
    const { deadlines, said, ended } = make({ maxSeconds: 60 * 60 });
    deadlines.input();
    vi.advanceTimersByTime(2 * 60 * MIN);
    expect(ended).toEqual([]);
    deadlines.start();
    expect(ended).toEqual(['max-length']);
    expect(said).toEqual([]);
  });
});

describe('maximum length', () => {
  it('warns before the end counted from the session’s start, whatever the person does, and to each client that attaches', () => {
    const startedAt = Date.now() - 7 * 60 * MIN;
    const said: Array<DeadlineNotice | 'cleared'> = [];
    const ended: Array<EndReason['kind']> = [];
    // A promoted standby: the session started hours ago on another node.
    const deadlines = new Deadlines(limits({ maxSeconds: 8 * 3600, warnSeconds: 600 }), startedAt, 'Shell', { warn: (n) => said.push({ ...n }), cleared: () => said.push('cleared'), ended: (reason) => ended.push(reason.kind) });
    deadlines.start();
    expect(deadlines.endsAt).toBe(startedAt + 8 * 60 * MIN);
    vi.advanceTimersByTime(50 * MIN);
    expect(said).toEqual([]);
    deadlines.attach();
    vi.advanceTimersByTime(1);
    expect(deadlines.notice).toEqual({ kind: 'max-length', endsAt: startedAt + 8 * 60 * MIN });
    expect(said).toHaveLength(1);
    deadlines.input();
    expect(said).toHaveLength(1);
    deadlines.detach();
    deadlines.attach();
    expect(said).toHaveLength(2);
    expect(said[1]).toEqual(said[0]);
    vi.advanceTimersByTime(10 * MIN);
    expect(ended).toEqual(['max-length']);
  });

  it('names the earlier of two ends', () => {
    const { deadlines, said, ended } = make({ maxSeconds: 20 * 60, idleSeconds: 30 * 60, warnSeconds: 60 });
    deadlines.start();
    deadlines.attach();
    vi.advanceTimersByTime(19 * MIN);
    expect(said).toEqual([{ kind: 'max-length', endsAt: 1_000_000 + 20 * MIN }]);
    vi.advanceTimersByTime(MIN);
    expect(ended).toEqual(['max-length']);
  });

  it('stops when the session ends', () => {
    const { deadlines, ended } = make({ maxSeconds: 60 });
    deadlines.start();
    deadlines.stop();
    vi.advanceTimersByTime(10 * MIN);
    expect(ended).toEqual([]);
  });
});
