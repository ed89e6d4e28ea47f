// Resume tokens are stored only as their sha256 (in a session's record), so any
// gateway can check one without holding it; checks are constant-time.
//
// A token's life: it is issued at launch to the sign-in (`grant`: the access token's
// id) that launched the session, and replaced on every resume or attach. A resume is
// answered with a new token that is first only *pending*: until the client shows it
// has the answer (it uses the stream), the token it presented still works, so a resume
// whose answer was lost can be retried. Once confirmed, the old token is dead: a copy
// taken before is useless as soon as the real client has resumed. An attach (by the
// signed-in owner) replaces the token outright. A revocation of the person refuses
// every token issued before it; a sign-out retires the tokens of its own sign-in.
import { createHash, timingSafeEqual } from 'node:crypto';

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Constant-time check of a presented resume token against a record's hash. */
export function tokenMatches(presented: string, hash: string): boolean {
  const a = Buffer.from(hashToken(presented), 'hex');
  const b = Buffer.from(hash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** A hash no token has: what a retired token's place holds. */
export const RETIRED = 'retired';

/** The token fields of a session record (cluster/records.ts). */
export interface TokenFields {
  resumeTokenHash: string;
  /** Issued in the last answer to a resume, not yet confirmed by the client using its stream. */
  pendingTokenHash?: string | null | undefined;
  /** When the newest token was issued (ms): a revocation of the owner refuses tokens issued before it. */
  tokenIssuedAt?: number | undefined;
  /** The id of the sign-in (access token) the token was issued to; a sign-out there retires it. */
  grant?: string | undefined;
}

/** Which of the record's tokens `presented` is, if any (both are checked, in constant time). */
export function whichToken(record: TokenFields, presented: string): 'current' | 'pending' | null {
  const current = tokenMatches(presented, record.resumeTokenHash);
  const pending = typeof record.pendingTokenHash === 'string' && tokenMatches(presented, record.pendingTokenHash);
  return pending ? 'pending' : current ? 'current' : null;
}

/**
 * The fields after answering a resume with a new token (`nextHash`). Presenting the
 * pending token confirms it (the one before dies); presenting the current one leaves
 * it valid (its answer may have been lost) and replaces the pending one. A signed-in
 * client's sign-in becomes the token's grant.
 */
export function afterResume(record: TokenFields, presented: 'current' | 'pending', nextHash: string, grant: string | null, now: number): Required<TokenFields> {
  return {
    resumeTokenHash: presented === 'pending' ? record.pendingTokenHash! : record.resumeTokenHash,
    pendingTokenHash: nextHash,
    tokenIssuedAt: now,
    grant: grant ?? record.grant ?? '',
  };
}

/** The fields after the signed-in owner attached: their new token is the only one. */
export function afterAttach(nextHash: string, grant: string | null, now: number): Required<TokenFields> {
  return { resumeTokenHash: nextHash, pendingTokenHash: null, tokenIssuedAt: now, grant: grant ?? '' };
}

/** The fields once the client used the stream it resumed with the pending token `hash`; null if it is no longer pending. */
export function afterConfirm(record: TokenFields, hash: string): Pick<TokenFields, 'resumeTokenHash' | 'pendingTokenHash'> | null {
  return record.pendingTokenHash === hash ? { resumeTokenHash: hash, pendingTokenHash: null } : null;
}

/** The fields after the token's sign-in ended: no token resumes the session (its owner may still attach). */
export function retired(): Pick<TokenFields, 'resumeTokenHash' | 'pendingTokenHash'> {
  return { resumeTokenHash: RETIRED, pendingTokenHash: null };
}
