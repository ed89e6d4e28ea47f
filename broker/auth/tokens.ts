// Access tokens: HS256 JWTs (jose) naming the user, with issuer, audience and expiry.
// A connection presents one at WebSocket upgrade; the node checks it before any frame.
// Refresh tokens ("remember me") are JWTs for another audience with a longer life: they
// sign in again (auth.signInWithToken) and are never accepted where an access token is.
// A person the identity provider let in without an entry under users: carries their
// display name and groups in their tokens (`fed`), as the provider gave them at sign-in.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import { SignJWT, jwtVerify } from 'jose';

const ISSUER = 'holdfast';
const AUDIENCE = 'holdfast-client';
const REFRESH_AUDIENCE = 'holdfast-refresh';
/** A device that signed in as a person: it proves nothing else and opens nothing. */
const DEVICE_AUDIENCE = 'holdfast-device';
const DEVICE_TTL_SECONDS = 90 * 86_400;

/** Who an IdP user not under users: is, as their sign-in said: kept in their tokens. */
export interface FederatedClaims {
  displayName: string;
  groups: string[];
}

export interface TokenClaims {
  user: string;
  /** Set for a person the identity provider let in who is not under users:. */
  federated?: FederatedClaims;
  /** The token's own id (a sign-out revokes it by this). */
  jti?: string;
  /**
   * The sign-in it belongs to: one id for the access and refresh tokens of one sign-in,
   * kept when they are renewed, so what was given to that sign-in (a session's resume
   * token) ends with it at sign-out.
   */
  sid?: string;
  /** When it expires, ms. */
  expiresAt?: number;
}

export interface IssuedToken {
  token: string;
  expiresAt: number;
  /** The sign-in it belongs to (TokenClaims.sid). */
  sid: string;
}

/** What decides whether an otherwise good token was revoked (broker/auth/revocations.ts). */
export interface RevocationCheck {
  revoked(user: string, issuedAt: number, jti: string | undefined): boolean;
}

export class TokenService {
  constructor(
    /** Also keys the HMAC that nodes of one cluster present to each other. */
    readonly key: Uint8Array,
    private readonly ttlSeconds: number,
    private readonly refreshTtlSeconds = 30 * 86_400,
    /** The node's revocations, once it has joined its cluster (null until then: nothing is revoked). */
    private readonly revocations: () => RevocationCheck | null = () => null,
  ) {}

  /** Reads the node's key, creating it (mode 0600) when the file is missing. */
  static fromKeyFile(file: string | undefined, ttlSeconds: number, refreshTtlSeconds?: number, revocations?: () => RevocationCheck | null): TokenService {
    if (!file) return new TokenService(randomBytes(32), ttlSeconds, refreshTtlSeconds, revocations);
    let key: Buffer;
    try {
      key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
    } catch {
      key = randomBytes(32);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, key.toString('base64') + '\n', { mode: 0o600 });
    }
    if (key.length < 32) throw new Error(`${file}: token key must be at least 32 bytes of base64`);
    return new TokenService(key, ttlSeconds, refreshTtlSeconds, revocations);
  }

  /** An access token; `sid` continues a sign-in (a renewal), else a new sign-in begins. */
  issue(user: string, federated?: FederatedClaims, sid?: string): Promise<IssuedToken> {
    return this.sign(user, AUDIENCE, this.ttlSeconds, federated, sid);
  }

  /** Returns the claims, or null for anything expired, tampered or foreign. */
  verify(token: string): Promise<TokenClaims | null> {
    return this.check(token, AUDIENCE);
  }

  /** A refresh token: each carries a random id, so a rotated one differs from its predecessor. */
  issueRefresh(user: string, federated?: FederatedClaims, sid?: string): Promise<IssuedToken> {
    return this.sign(user, REFRESH_AUDIENCE, this.refreshTtlSeconds, federated, sid);
  }

  /** Proof that this device signed in as `user` (sign-in throttling exempts it from the per-name limit). */
  issueDevice(user: string): Promise<IssuedToken> {
    return this.sign(user, DEVICE_AUDIENCE, DEVICE_TTL_SECONDS);
  }

  /** Whether `token` is a device token of `user` (names compared as sign-in compares them). */
  async deviceOf(token: string, user: string): Promise<boolean> {
    const claims = await this.check(token, DEVICE_AUDIENCE);
    return claims !== null && claims.user.toLowerCase() === user.toLowerCase();
  }

  verifyRefresh(token: string): Promise<TokenClaims | null> {
    return this.check(token, REFRESH_AUDIENCE);
  }

  /** A refresh token's claims whether or not it was revoked (to tell a copied, already rotated one): signature, audience and expiry still hold. */
  inspectRefresh(token: string): Promise<TokenClaims | null> {
    return this.check(token, REFRESH_AUDIENCE, false);
  }

  /** An access or a refresh token (a sign-out revokes whichever the client holds). */
  async verifyEither(token: string): Promise<TokenClaims | null> {
    return (await this.check(token, AUDIENCE)) ?? (await this.check(token, REFRESH_AUDIENCE));
  }

  private async sign(user: string, audience: string, ttlSeconds: number, federated?: FederatedClaims, sid = randomBytes(12).toString('base64url')): Promise<IssuedToken> {
    const expiresAt = Date.now() + ttlSeconds * 1000;
    // `t`: issued-at in ms (iat is whole seconds), so a revocation cuts exactly between tokens.
    const fed = federated ? { fed: { dn: federated.displayName, grp: federated.groups } } : {};
    const builder = new SignJWT({ t: Date.now(), sid, ...fed }).setProtectedHeader({ alg: 'HS256' }).setSubject(user).setIssuer(ISSUER).setAudience(audience).setIssuedAt();
    builder.setJti(randomBytes(16).toString('base64url'));
    const token = await builder.setExpirationTime(Math.floor(expiresAt / 1000)).sign(this.key);
    return { token, expiresAt, sid };
  }

  private async check(token: string, audience: string, honourRevocations = true): Promise<TokenClaims | null> {
    try {
      const { payload } = await jwtVerify(token, this.key, { issuer: ISSUER, audience, algorithms: ['HS256'] });
      if (typeof payload.sub !== 'string') return null;
      const issuedAt = typeof payload.t === 'number' ? payload.t : (payload.iat ?? 0) * 1000;
      if (honourRevocations && this.revocations()?.revoked(payload.sub, issuedAt, payload.jti)) return null;
      const federated = federatedOf(payload.fed);
      if (federated === null) return null;
      const sid = typeof payload.sid === 'string' ? payload.sid : undefined;
      return { user: payload.sub, jti: payload.jti, ...(sid ? { sid } : {}), expiresAt: payload.exp !== undefined ? payload.exp * 1000 : undefined, ...(federated ? { federated } : {}) };
    } catch {
      return null;
    }
  }
}

/** The `fed` claim: undefined when absent, null when malformed (the token is refused). */
function federatedOf(raw: unknown): FederatedClaims | undefined | null {
  if (raw === undefined) return undefined;
  if (typeof raw !== 'object' || raw === null) return null;
  const { dn, grp } = raw as { dn?: unknown; grp?: unknown };
  if (typeof dn !== 'string' || !Array.isArray(grp) || !grp.every((g): g is string => typeof g === 'string')) return null;
  return { displayName: dn, groups: grp };
}
