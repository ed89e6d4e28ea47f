// Sign-in throttling. Each failure past the free ones doubles the wait before the
// next attempt is even checked (1 s, 2 s, 4 s… capped); with `lockoutAfter`, that many
// failures lock the key for `lockoutMs`. A refused attempt checks no password and
// counts for nothing, so hammering costs the attacker time, not the node work. The
// node keys a tight limiter by (name, address) — an attacker locks a name out from
// their own address only, and the real person signs in from theirs — and looser ones
// by address alone (many names from one place) and by name alone (one name from many).

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
      const entry = this.entries.get(key);
      if (!entry || entry.blockedUntil <= now) continue;
      const waitMs = entry.blockedUntil - now;
      if (!refusal || waitMs > refusal.waitMs) refusal = { waitMs, locked: entry.locked };
    }
    return refusal;
  }

  recordFailure(keys: string[]): void {
    const now = this.now();
    this.sweep(now);
    for (const key of keys) {
      const entry = this.entries.get(key) ?? { failures: 0, blockedUntil: 0, locked: false, touched: now };
      entry.failures += 1;
      entry.touched = now;
      const over = entry.failures - this.options.freeFailures;
      if (this.options.lockoutAfter > 0 && entry.failures >= this.options.lockoutAfter) {
        entry.blockedUntil = now + this.options.lockoutMs;
        entry.locked = true;
      } else if (over > 0) entry.blockedUntil = now + Math.min(this.options.maxDelayMs, this.options.baseDelayMs * 2 ** Math.min(over - 1, 30));
      this.entries.set(key, entry);
    }
  }

  recordSuccess(keys: string[]): void {
    for (const key of keys) this.entries.delete(key);
  }

  private sweep(now: number): void {
    if (this.entries.size < MAX_RECORDS) return;
    for (const [key, entry] of this.entries) {
      if (now - entry.touched > this.options.forgetAfterMs && entry.blockedUntil <= now) this.entries.delete(key);
    }
  }
}
