// The output rule, at unit level: what the replicator says may be committed (and so applied and shown).
import { describe, expect, it } from 'vitest';
import { Replicator } from './replicator.js';
import type { LogEntry } from './peer-protocol.js';
import type { ReplicatedLog } from './replicator.js';

function setup() {
  const log: LogEntry[] = [];
  const committed: number[] = [];
  const replicated: ReplicatedLog = { id: 's', epoch: 2, log: { get length() { return log.length; }, entriesAfter: (i: number) => log.slice(i) } };
  const sent: Array<{ to: string }> = [];
  // What the replicator returns is what its owner commits through.
  const commit = (through: number) => committed.push(through);
  const replicator = new Replicator(replicated, (to) => sent.push({ to }));
  const append = (index: number) => {
    const entry: LogEntry = { index, seq: index, data: Buffer.from('x'), cols: 0, rows: 0 };
    log.push(entry);
    return replicator.append(entry);
  };
  return { replicator, committed, commit, sent, append };
}

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
});
