// Revoked tokens, cluster-wide. Two kinds, both in the control plane so every node
// refuses the same tokens at once:
//   /holdfast/revoked/users/NAME  → {"before": ms}   every token NAME was given before
//                                                     (`holdfast user revoke NAME`)
//   /holdfast/revoked/tokens/JTI  → {"until": ms}    one token (a sign-out), kept
//                                                     until it would have expired anyway
// Each node keeps both in memory, fed by a watch, so checking a token costs no round trip.
import { z } from 'zod';
import type { ControlPlane, Watch } from '../control-plane/types.js';
import { PREFIX, parseRecord } from '../control-plane/keys.js';

export const REVOKED = `${PREFIX}revoked/`;
const USERS = `${REVOKED}users/`;
const TOKENS = `${REVOKED}tokens/`;

const UserRevocation = z.object({ before: z.number() });
/** `rotated`: a refresh token exchanged for a new one; seeing it again means it was copied. */
const TokenRevocation = z.object({ until: z.number(), rotated: z.boolean().optional(), at: z.number().optional() });

export class Revocations {
  private readonly users = new Map<string, number>();
  private readonly tokens = new Map<string, number>();
  /** Revoked tokens that were refresh tokens used up by rotation (a subset of `tokens`), and when. */
  private readonly rotated = new Map<string, number>();
  private watch: Watch | null = null;
  private sweeper: NodeJS.Timeout | undefined;
  constructor(
    private readonly plane: ControlPlane,
    /** Called when a user's tokens are revoked (here or on another node): their connections close. */
    private readonly onUserRevoked: (user: string) => void = () => {},
  ) {}

  async start(): Promise<void> {
    this.watch = this.plane.watch(REVOKED, (event) => {
      if (event.type === 'put') this.apply(event.key, event.value);
      else if (event.key.startsWith(TOKENS)) {
        this.tokens.delete(event.key.slice(TOKENS.length));
        this.rotated.delete(event.key.slice(TOKENS.length));
      }
      else if (event.key.startsWith(USERS)) this.users.delete(event.key.slice(USERS.length));
    });
    await this.watch.ready;
    for (const kv of await this.plane.list(REVOKED)) this.apply(kv.key, kv.value, false);
    // Token revocations are only needed until the token would have expired.
    this.sweeper = setInterval(() => void this.sweep().catch(() => {}), 10 * 60_000);
    this.sweeper.unref();
  }

  stop(): void {
    this.watch?.close();
    clearInterval(this.sweeper);
  }

  /** Is a token of `user` (issued at `issuedAt` ms, id `jti`) revoked? */
  revoked(user: string, issuedAt: number, jti: string | undefined): boolean {
    const before = this.users.get(user);
    if (before !== undefined && issuedAt <= before) return true;
    return jti !== undefined && this.tokens.has(jti);
  }

  /** Revokes every token `user` holds now; resolves once the control plane has it. */
  async revokeUser(user: string): Promise<void> {
    const before = Date.now();
    await this.plane.put(USERS + user, JSON.stringify({ before }));
    this.users.set(user, before);
    this.onUserRevoked(user);
  }

  /** Revokes one token (a sign-out, or a refresh token `rotated` into a new one) until it would expire anyway. */
  async revokeToken(jti: string, until: number, rotated = false): Promise<void> {
    const at = Date.now();
    await this.plane.put(TOKENS + jti, JSON.stringify(rotated ? { until, rotated, at } : { until }));
    this.tokens.set(jti, until);
    if (rotated) this.rotated.set(jti, at);
  }

  /** When this refresh token was exchanged for a new one (ms), or null: whoever shows it again copied it. */
  rotatedAt(jti: string): number | null {
    return this.rotated.get(jti) ?? null;
  }

  private apply(key: string, value: string, announce = true): void {
    if (key.startsWith(USERS)) {
      const record = parseRecord(UserRevocation, value);
      const user = key.slice(USERS.length);
      if (!record) return;
      const known = this.users.get(user);
      this.users.set(user, record.before);
      if (announce && known !== record.before) this.onUserRevoked(user);
    } else if (key.startsWith(TOKENS)) {
      const record = parseRecord(TokenRevocation, value);
      if (!record) return;
      this.tokens.set(key.slice(TOKENS.length), record.until);
      if (record.rotated) this.rotated.set(key.slice(TOKENS.length), record.at ?? 0);
    }
  }

  private async sweep(): Promise<void> {
    const now = Date.now();
    for (const [jti, until] of this.tokens) {
      if (until < now) {
        this.tokens.delete(jti);
        this.rotated.delete(jti);
        await this.plane.delete(TOKENS + jti);
      }
    }
  }
}
