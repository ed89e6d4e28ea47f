// Checking a share link against a session's record, at unit level: only the right
// secret opens it; a guessed or revoked link gets the one answer that says nothing of
// the session; an expired link or an ended session says so, once the secret is right.
import { describe, expect, it } from 'vitest';
import type { SessionRecord } from '../cluster/records.js';
import { LINK_REFUSED, checkShareLink, hashSecret } from './session-sharing.js';

const now = Date.UTC(2026, 11, 7, 20, 0);
const record = (over: Partial<SessionRecord> = {}): SessionRecord => ({
  id: 's1',
  owner: 'ann',
  appId: 'python',
  appName: 'Python',
  epoch: 1,
  primary: 'node-1',
  standbys: [],
  failover: 'lockstep',
  resumeTokenHash: 'x',
  startedAt: now - 60_000,
  attached: true,
  holdExpiresAt: null,
  state: 'running',
  endMessage: null,
  endedAt: null,
  shares: [{ id: 'sh1', hash: hashSecret('the-secret-of-the-link'), mode: 'view', expiresAt: now + 60_000, createdAt: now - 1000 }],
  ...over,
});

describe('checkShareLink', () => {
  it('opens with the right secret, and gives the same answer for every wrong one', () => {
    expect(checkShareLink(record(), 'sh1', 'the-secret-of-the-link', now)).toEqual({ share: expect.objectContaining({ id: 'sh1', mode: 'view' }) });
    for (const [shareId, secret] of [['sh1', 'a-guessed-secret-xxxxx'], ['nosuch', 'the-secret-of-the-link'], ['sh1', '']]) {
      expect(checkShareLink(record(), shareId!, secret!, now)).toEqual({ refused: LINK_REFUSED });
    }
    expect(checkShareLink(null, 'sh1', 'the-secret-of-the-link', now)).toEqual({ refused: LINK_REFUSED });
    // Revoked: gone from the record.
    expect(checkShareLink(record({ shares: [] }), 'sh1', 'the-secret-of-the-link', now)).toEqual({ refused: LINK_REFUSED });
  });

  it('says an expired link expired, and an ended session ended — only to someone with the secret', () => {
    expect(checkShareLink(record(), 'sh1', 'the-secret-of-the-link', now + 60_000)).toEqual({ refused: 'This link expired at 20:01 UTC. Ask whoever shared it for a new link.' });
    expect(checkShareLink(record({ state: 'ended', endMessage: 'Python exited.' }), 'sh1', 'the-secret-of-the-link', now)).toEqual({ refused: 'The session this link shared has ended: Python exited.' });
    expect(checkShareLink(record({ state: 'ended' }), 'sh1', 'wrong-secret-xxxxxxxx', now)).toEqual({ refused: LINK_REFUSED });
  });
});
