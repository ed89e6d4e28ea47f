// The output rule, at unit level: a fake session records what it may apply.
import { describe, expect, it } from 'vitest';
import { Replicator } from './replicator.js';
import type { LogEntry } from './peer-protocol.js';
import type { Session } from '../session.js';

function setup() {
  const log: LogEntry[] = [];
  const committed: number[] = [];
  const session = { id: 's', epoch: 2, log, commitThrough: (index: number) => committed.push(index), entriesAfter: (i: number) => log.slice(i) };
  const sent: Array<{ to: string }> = [];
  const replicator = new Replicator(session as unknown as Session, (to) => sent.push({ to }));
  const append = (index: number) => {
    const entry: LogEntry = { index, seq: index, data: Buffer.from('x'), cols: 0, rows: 0 };
    log.push(entry);
    return replicator.append(entry);
  };
  return { replicator, committed, sent, append };
}

describe('Replicator', () => {
  it('commits an entry only once every voting standby holds it', () => {
    const { replicator, committed, append } = setup();
    replicator.add('b', true);
    replicator.add('c', true);
    expect(append(1)).toBe(true);
    expect(append(2)).toBe(true);
    replicator.acked('b', 2);
    expect(committed.at(-1) ?? 0).toBe(0);
    replicator.acked('c', 1);
    expect(committed.at(-1)).toBe(1);
    replicator.acked('c', 2);
    expect(committed.at(-1)).toBe(2);
  });

  it('does not wait for a learner, but sends it every entry', () => {
    const { replicator, committed, sent, append } = setup();
    replicator.add('learner', false);
    expect(append(1)).toBe(false);
    expect(sent.map((s) => s.to)).toEqual(['learner']);
    replicator.setVoting('learner');
    expect(committed.at(-1)).toBe(0);
    replicator.acked('learner', 1);
    expect(committed.at(-1)).toBe(1);
  });

  it('stops waiting for a standby once it is removed', () => {
    const { replicator, committed, append } = setup();
    replicator.add('b', true);
    append(1);
    replicator.remove('b');
    expect(committed.at(-1)).toBe(1);
    expect(append(2)).toBe(false);
  });
});
