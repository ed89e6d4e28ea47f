// The output rule, at unit level: what the replicator says may be committed (and so applied and shown).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Replicator } from './replicator.js';
import { decodePeerFrame, type LogEntry } from './peer-protocol.js';
import type { ReplicatedLog } from './replicator.js';

function setup() {
  const log: LogEntry[] = [];
  const committed: number[] = [];
  const clocks = new Map<number, number>();
  const replicated: ReplicatedLog = {
    id: 's',
    epoch: 2,
    log: { get length() { return log.length; }, get appliedIndex() { return log.length; }, entriesAfter: (i: number) => log.slice(i) },
    processClocks: () => clocks,
  };
  const sent: Array<{ to: string; frame: Uint8Array }> = [];
  // What the replicator returns is what its owner commits through.
  const commit = (through: number) => committed.push(through);
  const replicator = new Replicator(replicated, (to, frame) => sent.push({ to, frame }));
  const append = (index: number) => {
    const entry: LogEntry = { index, seq: index, data: Buffer.from('x'), cols: 0, rows: 0 };
    log.push(entry);
    return replicator.append(entry);
  };
  return { replicator, committed, commit, sent, append, clocks };
}

afterEach(() => vi.useRealTimers());

describe('Replicator', () => {
  it('commits an entry only once every voting standby holds it', () => {
    const { replicator, committed, commit, append } = setup();
    replicator.add('b', true);
    replicator.add('c', true);
    expect(append(1)).toBe(true);
    expect(append(2)).toBe(true);
    commit(replicator.acked('b', 2));
    expect(committed.at(-1) ?? 0).toBe(0);
    commit(replicator.acked('c', 1));
    expect(committed.at(-1)).toBe(1);
    commit(replicator.acked('c', 2));
    expect(committed.at(-1)).toBe(2);
  });

  it('does not wait for a learner, but sends it every entry', () => {
    const { replicator, committed, commit, sent, append } = setup();
    replicator.add('learner', false);
    expect(append(1)).toBe(false);
    expect(sent.map((s) => s.to)).toEqual(['learner']);
    commit(replicator.setVoting('learner'));
    expect(committed.at(-1)).toBe(0);
    commit(replicator.acked('learner', 1));
    expect(committed.at(-1)).toBe(1);
  });

  it('stops waiting for a standby once it is removed', () => {
    const { replicator, committed, commit, append } = setup();
    replicator.add('b', true);
    append(1);
    commit(replicator.remove('b'));
    expect(committed.at(-1)).toBe(1);
    expect(append(2)).toBe(false);
  });

  it('sends a fast-forwarding standby the process clocks that changed, with the index they were read at, and no one else', () => {
    vi.useFakeTimers();
    const { replicator, sent, append, clocks } = setup();
    replicator.add('first', true);
    replicator.add('replacement', false, 0, true);
    append(1);
    sent.length = 0;
    clocks.set(1, 5_000_000).set(7, 6_000_000);
    vi.advanceTimersByTime(30);
    expect(sent.map((s) => [s.to, decodePeerFrame(Buffer.from(s.frame))])).toEqual([['replacement', { type: 'clocks', sessionId: 's', epoch: 2, index: 1, clocks: [[1, 5_000_000], [7, 6_000_000]] }]]);
    // Nothing changed: nothing sent. Then only pid 7's clock moved.
    vi.advanceTimersByTime(30);
    clocks.set(7, 6_500_000);
    append(2);
    vi.advanceTimersByTime(30);
    expect(sent.slice(1).filter((s) => s.frame[0] === 0x13).map((s) => decodePeerFrame(Buffer.from(s.frame)))).toEqual([{ type: 'clocks', sessionId: 's', epoch: 2, index: 2, clocks: [[7, 6_500_000]] }]);
    // Once no standby fast-forwards, the clocks are no longer read.
    replicator.remove('replacement');
    clocks.set(7, 9_000_000);
    const before = sent.length;
    vi.advanceTimersByTime(100);
    expect(sent.length).toBe(before);
  });
});
