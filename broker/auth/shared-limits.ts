// Sign-in failures, counted across the cluster. Each node refuses attempts from its
// own memory (no round trip before a password is checked), and every failure it
// counts goes to the control plane as well, where the other nodes see it through a
// watch: five wrong passwords spread over five nodes lock a name at an address as
// surely as five on one node. A success clears the count everywhere.
//   /holdfast/sign-in/<limiter>/<sha256 of the key>  →  {"f": failures, "at": ms of the last}
// Keys are digests: names and addresses do not sit in the control plane in clear.
import { z } from 'zod';
import type { ControlPlane, Watch } from '../control-plane/types.js';
import { PREFIX, parseRecord } from '../control-plane/keys.js';
import type { Logger } from '../log.js';
import type { SignInLimiter } from './rate-limit.js';

export const SIGN_IN = `${PREFIX}sign-in/`;

const Count = z.object({ f: z.number().int().min(1), at: z.number() });

/** Records untouched this long are removed (the longest lockout is a day). */
const FORGET_AFTER_MS = 25 * 60 * 60_000;

export class SharedSignInLimits {
  private watch: Watch | null = null;
  private sweeper: NodeJS.Timeout | undefined;
  /** Writes in flight, chained per record so one node's increments do not race each other. */
  private readonly chains = new Map<string, Promise<void>>();

  constructor(
    private readonly plane: ControlPlane,
    private readonly limiters: Record<string, SignInLimiter>,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    for (const [name, limiter] of Object.entries(this.limiters)) {
      limiter.onFailure = (digest) => {
        const record = `${SIGN_IN}${name}/${digest}`;
        this.chain(record, () => this.increment(record));
      };
      limiter.onSuccess = (digest) => {
        const record = `${SIGN_IN}${name}/${digest}`;
        this.chain(record, () => this.plane.delete(record));
      };
    }
    const apply = (key: string, value: string | null) => {
      const [name, digest] = key.slice(SIGN_IN.length).split('/');
      const limiter = name === undefined ? undefined : this.limiters[name];
      if (!limiter || !digest) return;
      if (value === null) return limiter.forget(digest);
      const count = parseRecord(Count, value);
      if (count) limiter.observe(digest, count.f, count.at);
    };
    this.watch = this.plane.watch(SIGN_IN, (event) => apply(event.key, event.type === 'put' ? event.value : null));
    await this.watch.ready;
    for (const kv of await this.plane.list(SIGN_IN)) apply(kv.key, kv.value);
    this.sweeper = setInterval(() => void this.sweep().catch(() => {}), 10 * 60_000);
    this.sweeper.unref();
  }

  stop(): void {
    this.watch?.close();
    clearInterval(this.sweeper);
  }

  private chain(record: string, work: () => Promise<void>): void {
    const next = (this.chains.get(record) ?? Promise.resolve())
      .then(work)
      .catch((error: unknown) => this.log.warn('sign-in count not shared with the cluster', { error: String(error) }))
      .finally(() => {
        if (this.chains.get(record) === next) this.chains.delete(record);
      });
    this.chains.set(record, next);
  }

  /** One more failure for the record, by compare-and-swap (other nodes may count at the same time). */
  private async increment(record: string): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const kv = await this.plane.get(record);
      const count = kv ? parseRecord(Count, kv.value) : null;
      const next = JSON.stringify({ f: (count?.f ?? 0) + 1, at: Date.now() });
      if ((await this.plane.compareAndSwap(record, kv?.revision ?? 0, next)) !== null) return;
    }
    throw new Error('the count kept changing under five attempts');
  }

  private async sweep(now = Date.now()): Promise<void> {
    for (const kv of await this.plane.list(SIGN_IN)) {
      const count = parseRecord(Count, kv.value);
      if (!count || now - count.at > FORGET_AFTER_MS) await this.plane.compareAndDelete(kv.key, kv.revision);
    }
  }
}
