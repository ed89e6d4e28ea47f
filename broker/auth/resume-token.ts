// Resume tokens are stored only as their sha256 (in a session's record), so any
// gateway can check one without holding it; checks are constant-time.
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
