// Sign-in throttling. Each failure past the free ones doubles the wait before the
// next attempt is even checked (1 s, 2 s, 4 s… capped); with `lockoutAfter`, that many
// failures lock the key for `lockoutMs`. A refused attempt checks no password and
// counts for nothing, so hammering costs the attacker time, not the node work. The
// node keys a tight limiter by (name, address) — an attacker locks a name out from
// their own address only, and the real person signs in from theirs — and looser ones
// by address alone (many names from one place) and by name alone (one name from many).

import { createHash } from 'node:crypto';

export interface RateLimitOptions {
  /** Failures allowed before any delay applies. */
  freeFailures: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Records untouched for this long are forgotten. */
  forgetAfterMs: number;
  /** This many failures lock the key for lockoutMs (0: never; only the doubling waits). */
  lockoutAfter: number;
  lockoutMs: number;
}

const DEFAULTS: RateLimitOptions = { freeFailures: 3, baseDelayMs: 1000, maxDelayMs: 5 * 60_000, forgetAfterMs: 15 * 60_000, lockoutAfter: 0, lockoutMs: 15 * 60_000 };

/** Why an attempt may not be checked now, and until when. */
export interface Refusal {
  waitMs: number;
  /** True when the key is locked out (not merely slowed down). */
  locked: boolean;
}
const MAX_RECORDS = 100_000;

type Entry = { failures: number; blockedUntil: number; locked: boolean; touched: number };

export class SignInLimiter {
  private readonly entries = new Map<string, Entry>();
  private readonly options: RateLimitOptions;
  /**
   * Told of every failure and success here, by the key's digest (keys are kept only
   * as digests), with the count: a cluster shares them (shared-limits.ts).
   */
  onFailure: (digest: string, failures: number) => void = () => {};
  onSuccess: (digest: string) => void = () => {};

  constructor(options: Partial<RateLimitOptions> = {}, private readonly now: () => number = Date.now) {
    this.options = { ...DEFAULTS, ...options };
  }

  /** Milliseconds until these keys may try again (0: go ahead). */
  retryAfter(keys: string[]): number {
    return this.refusal(keys)?.waitMs ?? 0;
  }

  /** Null when these keys may try now; else how long to wait, and whether that is a lockout. */
  refusal(keys: string[]): Refusal | null {
    const now = this.now();
    let refusal: Refusal | null = null;
    for (const key of keys) {
      const entry = this.entries.get(digest(key));
      if (!entry || entry.blockedUntil <= now) continue;
      const waitMs = entry.blockedUntil - now;
      if (!refusal || waitMs > refusal.waitMs) refusal = { waitMs, locked: entry.locked };
    }
    return refusal;
  }

  recordFailure(keys: string[]): void {
    const now = this.now();
    this.sweep(now);
    for (const key of keys.map(digest)) {
      const known = this.entries.get(key);
      // Quiet for forgetAfterMs and not blocked: the count starts again, so failures
      // spread over days never add up to a wait.
      const stale = known !== undefined && now - known.touched > this.options.forgetAfterMs && known.blockedUntil <= now;
      const entry = known && !stale ? known : { failures: 0, blockedUntil: 0, locked: false, touched: now };
      this.block(entry, entry.failures + 1, now);
      this.entries.set(key, entry);
      this.onFailure(key, entry.failures);
    }
  }

  recordSuccess(keys: string[]): void {
    for (const key of keys.map(digest)) {
      this.entries.delete(key);
      this.onSuccess(key);
    }
  }

  /**
   * Another node counted `failures` for the key with this digest, the last at `at`
   * (ms): this node refuses the key as if they had happened here. Counts only grow.
   */
  observe(keyDigest: string, failures: number, at: number): void {
    const entry = this.entries.get(keyDigest) ?? { failures: 0, blockedUntil: 0, locked: false, touched: at };
    if (failures <= entry.failures) return;
    this.block(entry, failures, at);
    this.entries.set(keyDigest, entry);
  }

  /** Another node saw the key with this digest succeed: its count starts again. */
  forget(keyDigest: string): void {
    this.entries.delete(keyDigest);
  }

  private block(entry: Entry, failures: number, at: number): void {
    entry.failures = failures;
    entry.touched = Math.max(entry.touched, at);
    const over = failures - this.options.freeFailures;
    let until = 0;
    if (this.options.lockoutAfter > 0 && failures >= this.options.lockoutAfter) {
      until = at + this.options.lockoutMs;
      entry.locked = true;
    } else if (over > 0) until = at + Math.min(this.options.maxDelayMs, this.options.baseDelayMs * 2 ** Math.min(over - 1, 30));
    entry.blockedUntil = Math.max(entry.blockedUntil, until);
  }

  private sweep(now: number): void {
    if (this.entries.size < MAX_RECORDS) return;
    for (const [key, entry] of this.entries) {
      if (now - entry.touched > this.options.forgetAfterMs && entry.blockedUntil <= now) this.entries.delete(key);
    }
  }
}

/** What a limiter keeps of a key (a name, an address, or both): its SHA-256, base64url. */
export function digest(key: string): string {
  return createHash('sha256').update(key).digest('base64url');
}
