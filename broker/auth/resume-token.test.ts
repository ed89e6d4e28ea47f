import { describe, expect, it } from 'vitest';
import { RETIRED, afterAttach, afterConfirm, afterResume, hashToken, retired, whichToken } from './resume-token.js';

describe('resume token lifecycle', () => {
  const a = hashToken('token-a');
  const b = hashToken('token-b');
  const c = hashToken('token-c');

  it('tells the current token from the pending one, and refuses any other', () => {
    const record = { resumeTokenHash: a, pendingTokenHash: b };
    expect(whichToken(record, 'token-a')).toBe('current');
    expect(whichToken(record, 'token-b')).toBe('pending');
    expect(whichToken(record, 'token-c')).toBeNull();
    expect(whichToken({ resumeTokenHash: RETIRED }, 'retired')).toBeNull();
  });

  it('a resume with the current token keeps it valid and replaces the pending one (its answer may have been lost)', () => {
    const next = afterResume({ resumeTokenHash: a, pendingTokenHash: b, grant: 'g1' }, 'current', c, null, 5);
    expect(next).toEqual({ resumeTokenHash: a, pendingTokenHash: c, tokenIssuedAt: 5, grant: 'g1' });
  });

  it('a resume with the pending token confirms it: the token before dies', () => {
    const next = afterResume({ resumeTokenHash: a, pendingTokenHash: b }, 'pending', c, 'g2', 7);
    expect(next).toEqual({ resumeTokenHash: b, pendingTokenHash: c, tokenIssuedAt: 7, grant: 'g2' });
    expect(whichToken(next, 'token-a')).toBeNull();
  });

  it('using the stream confirms the pending token; an old confirmation changes nothing', () => {
    expect(afterConfirm({ resumeTokenHash: a, pendingTokenHash: b }, b)).toEqual({ resumeTokenHash: b, pendingTokenHash: null });
    expect(afterConfirm({ resumeTokenHash: a, pendingTokenHash: c }, b)).toBeNull();
  });

  it('an attach or a retirement leaves no other token', () => {
    expect(afterAttach(c, 'g3', 9)).toEqual({ resumeTokenHash: c, pendingTokenHash: null, tokenIssuedAt: 9, grant: 'g3' });
    expect(retired()).toEqual({ resumeTokenHash: RETIRED, pendingTokenHash: null });
  });
});
