// Who may open yet another connection that has not signed in: per address, at most
// `perAddress` such connections at once and `perSecond` new ones a second (twice that
// in a burst). Signed-in connections (a bearer token at the upgrade) do not pass here.
// The buckets are kept for addresses seen lately only, so a spray of addresses costs
// memory in proportion to what it sent, at most MAX_ADDRESSES.
import { TokenBucket } from './token-bucket.js';

const MAX_ADDRESSES = 10_000;

export interface AnonymousLimits {
  anonymousPerAddress: number;
  anonymousConnectionsPerSecond: number;
}

export class AnonymousGate {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly limits: () => AnonymousLimits,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Null to let a new anonymous connection from `address` in (`open`: how many it has now); else why not. */
  admit(address: string, open: number): string | null {
    const { anonymousPerAddress, anonymousConnectionsPerSecond } = this.limits();
    if (open >= anonymousPerAddress) return `${anonymousPerAddress} connections from your address are waiting to sign in; sign in on one of them, or try again in a few seconds`;
    let bucket = this.buckets.get(address);
    if (!bucket) {
      if (this.buckets.size >= MAX_ADDRESSES) this.buckets.delete(this.buckets.keys().next().value!);
      bucket = new TokenBucket(anonymousConnectionsPerSecond, anonymousConnectionsPerSecond * 2, this.now);
      this.buckets.set(address, bucket);
    } else {
      // Most recently used last: the first key is the one to forget.
      this.buckets.delete(address);
      this.buckets.set(address, bucket);
    }
    return bucket.take() ? null : `more than ${anonymousConnectionsPerSecond} new connections a second came from your address; wait a moment`;
  }
}
