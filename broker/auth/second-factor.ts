// Each person's second factor, cluster-wide in the control plane: their TOTP secret
// (encrypted with a key derived from the node's token key: etcd alone does not give it
// away), the hashes of their unused recovery codes, and the last step a code was used
// for (a code works once). Every change is a compare-and-swap.
import { deriveKey, open, seal } from './aead.js';
import { z } from 'zod';
import type { ControlPlane } from '../control-plane/types.js';
import { PREFIX, parseRecord } from '../control-plane/keys.js';
import { hashRecoveryCode, matchStep, newRecoveryCodes } from './totp.js';

export const TOTP = `${PREFIX}totp/`;

const Record_ = z.object({ secret: z.string(), recovery: z.array(z.string()), lastStep: z.number().int(), enabledAt: z.number() });
type SecondFactorRecord = z.infer<typeof Record_>;

export type CodeCheck = 'ok' | 'recovery' | 'wrong';

export class SecondFactors {
  private readonly key: Buffer;

  constructor(
    private readonly plane: ControlPlane,
    tokenKey: Uint8Array,
  ) {
    this.key = deriveKey(tokenKey, 'holdfast-totp-secrets');
  }

  async enabled(user: string): Promise<boolean> {
    return (await this.plane.get(TOTP + user)) !== null;
  }

  /** Turns the second factor on with `secret` (already confirmed by a code); returns the recovery codes, shown once. */
  async enable(user: string, secret: string, confirmedStep: number): Promise<string[]> {
    const codes = newRecoveryCodes();
    // The code that turned it on may sign in once more, within its 30 s: a person who
    // turns it on and signs in again at once has only that code to give (it was typed in
    // a signed-in session, so no one else can have replayed it).
    const record: SecondFactorRecord = { secret: this.seal(secret), recovery: codes.map(hashRecoveryCode), lastStep: confirmedStep - 1, enabledAt: Date.now() };
    await this.plane.put(TOTP + user, JSON.stringify(record));
    return codes;
  }

  /**
   * Turns the second factor off (an administrator's reset for someone who lost their
   * phone and their recovery codes); false when it was not on.
   */
  async reset(user: string): Promise<boolean> {
    if (!(await this.enabled(user))) return false;
    await this.plane.delete(TOTP + user);
    return true;
  }

  /** Checks a code (TOTP, or a recovery code, which is then used up). */
  async check(user: string, code: string, now = Date.now()): Promise<CodeCheck> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const kv = await this.plane.get(TOTP + user);
      const record = kv ? parseRecord(Record_, kv.value) : null;
      if (!kv || !record) return 'wrong';
      const step = matchStep(this.open(record.secret), code.trim(), now, record.lastStep);
      let next: SecondFactorRecord | null = null;
      if (step !== null) next = { ...record, lastStep: step };
      else {
        const hash = hashRecoveryCode(code);
        if (record.recovery.includes(hash)) next = { ...record, recovery: record.recovery.filter((h) => h !== hash) };
      }
      if (!next) return 'wrong';
      if ((await this.plane.compareAndSwap(TOTP + user, kv.revision, JSON.stringify(next))) !== null) return step !== null ? 'ok' : 'recovery';
    }
    return 'wrong';
  }

  /** Stored as base64 iv.tag.ciphertext. */
  private seal(secret: string): string {
    const { iv, data, tag } = seal(this.key, Buffer.from(secret, 'utf8'));
    return [iv, tag, data].map((b) => b.toString('base64')).join('.');
  }

  private open(sealed: string): string {
    const [iv, tag, data] = sealed.split('.').map((part) => Buffer.from(part, 'base64'));
    return open(this.key, { iv: iv!, data: data!, tag: tag! }).toString('utf8');
  }
}
