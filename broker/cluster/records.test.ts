import { describe, expect, it } from 'vitest';
import { SessionRecord } from './records.js';

const previous = {
  id: 's',
  owner: 'ann',
  appId: 'python',
  appName: 'Python',
  epoch: 2,
  primary: 'node-2',
  standbys: [],
  failover: 'lockstep',
  resumeTokenHash: 'h',
  startedAt: 1,
  attached: false,
  holdExpiresAt: 2,
  state: 'running',
  endMessage: null,
  endedAt: null,
};

describe('session records', () => {
  it('read a record of the previous version (no limits, no endsAt) during a rolling upgrade', () => {
    expect(SessionRecord.parse(previous)).toEqual(previous);
  });

  it('carry the limits a session was launched with, for the node that takes it over', () => {
    const limits = { holdSeconds: 3600, idleSeconds: 1800, maxSeconds: null, warnSeconds: 300 };
    expect(SessionRecord.parse({ ...previous, limits, endsAt: null }).limits).toEqual(limits);
  });
});
