// Sign-in throttling, per user name and per client address: each failure doubles the
// wait before the next attempt is even checked (1 s, 2 s, 4 s… capped), and a success
// clears the user's record. Keys are independent, so an attacker hammering one name
// from one address does not lock the real user out from elsewhere for long.

export interface RateLimitOptions {
  /** Failures allowed before any delay applies. */
  freeFailures: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Records untouched for this long are forgotten. */
  forgetAfterMs: number;
}

const DEFAULTS: RateLimitOptions = { freeFailures: 3, baseDelayMs: 1000, maxDelayMs: 5 * 60_000, forgetAfterMs: 15 * 60_000 };
const MAX_RECORDS = 100_000;

type Entry = { failures: number; blockedUntil: number; touched: number };

export class SignInLimiter {
  private readonly entries = new Map<string, Entry>();
  private readonly options: RateLimitOptions;

  constructor(options: Partial<RateLimitOptions> = {}, private readonly now: () => number = Date.now) {
    this.options = { ...DEFAULTS, ...options };
  }

  /** Milliseconds until these keys may try again (0: go ahead). */
  retryAfter(keys: string[]): number {
    const now = this.now();
    let wait = 0;
    for (const key of keys) {
      const entry = this.entries.get(key);
      if (entry && entry.blockedUntil > now) wait = Math.max(wait, entry.blockedUntil - now);
    }
    return wait;
  }

  recordFailure(keys: string[]): void {
    const now = this.now();
    this.sweep(now);
    for (const key of keys) {
      const entry = this.entries.get(key) ?? { failures: 0, blockedUntil: 0, touched: now };
      entry.failures += 1;
      entry.touched = now;
      const over = entry.failures - this.options.freeFailures;
      if (over > 0) entry.blockedUntil = now + Math.min(this.options.maxDelayMs, this.options.baseDelayMs * 2 ** Math.min(over - 1, 30));
      this.entries.set(key, entry);
    }
  }

  recordSuccess(keys: string[]): void {
    for (const key of keys) this.entries.delete(key);
  }

  private sweep(now: number): void {
    if (this.entries.size < MAX_RECORDS) return;
    for (const [key, entry] of this.entries) {
      if (now - entry.touched > this.options.forgetAfterMs) this.entries.delete(key);
    }
  }
}
