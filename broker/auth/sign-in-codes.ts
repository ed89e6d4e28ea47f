// One-time sign-in codes: what an identity provider's sign-in leaves the client with
// (in a URL fragment or a holdfast:// link) instead of a token. Each is random, lives
// at most 60 s, works once, on any node of the cluster (kept in the control plane,
// under its SHA-256 only), and only for the client that started the sign-in: it must
// present the `handoff` value it gave /auth/oidc/start.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { ControlPlane } from '../control-plane/types.js';
import { PREFIX, parseRecord } from '../control-plane/keys.js';

export const SIGN_IN_CODES = `${PREFIX}sign-in-codes/`;
export const CODE_TTL_MS = 60_000;

const CodeRecord = z.object({
  user: z.string(),
  federated: z.object({ displayName: z.string(), groups: z.array(z.string()) }).optional(),
  handoff: z.string(),
  expiresAt: z.number(),
});
export type SignInGrant = Omit<z.infer<typeof CodeRecord>, 'handoff' | 'expiresAt'>;

const keyOf = (code: string) => SIGN_IN_CODES + createHash('sha256').update(code).digest('hex');

export class SignInCodes {
  constructor(
    private readonly plane: ControlPlane,
    private readonly now: () => number = Date.now,
  ) {}

  /** A new code for `grant`, redeemable once within CODE_TTL_MS by the holder of `handoff`. */
  async issue(grant: SignInGrant, handoff: string): Promise<string> {
    await this.sweep().catch(() => {});
    const code = randomBytes(32).toString('base64url');
    const record: z.infer<typeof CodeRecord> = { ...grant, handoff, expiresAt: this.now() + CODE_TTL_MS };
    await this.plane.put(keyOf(code), JSON.stringify(record));
    return code;
  }

  /**
   * The grant, once: the record is deleted by compare-and-delete before anything else
   * is looked at, so two nodes redeeming the same code at once cannot both win, and a
   * wrong handoff uses the code up too. Null for unknown, used, expired or not yours.
   */
  async redeem(code: string, handoff: string): Promise<SignInGrant | null> {
    const key = keyOf(code);
    const kv = await this.plane.get(key);
    if (!kv || !(await this.plane.compareAndDelete(key, kv.revision))) return null;
    const record = parseRecord(CodeRecord, kv.value);
    if (!record || record.expiresAt <= this.now() || !sameText(record.handoff, handoff)) return null;
    return { user: record.user, ...(record.federated ? { federated: record.federated } : {}) };
  }

  /** Codes nobody redeemed: gone once expired (checked whenever a code is issued). */
  private async sweep(): Promise<void> {
    const now = this.now();
    for (const kv of await this.plane.list(SIGN_IN_CODES)) {
      const record = parseRecord(CodeRecord, kv.value);
      if (!record || record.expiresAt <= now) await this.plane.compareAndDelete(kv.key, kv.revision);
    }
  }
}

function sameText(a: string, b: string): boolean {
  const [x, y] = [Buffer.from(a), Buffer.from(b)];
  return x.length === y.length && timingSafeEqual(x, y);
}
