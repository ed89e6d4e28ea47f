// Access tokens: HS256 JWTs (jose) naming the user, with issuer, audience and expiry.
// A connection presents one at WebSocket upgrade; the node checks it before any frame.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import { SignJWT, jwtVerify } from 'jose';

const ISSUER = 'holdfast';
const AUDIENCE = 'holdfast-client';

export interface TokenClaims {
  user: string;
}

export class TokenService {
  constructor(
    /** Also keys the HMAC that nodes of one cluster present to each other. */
    readonly key: Uint8Array,
    private readonly ttlSeconds: number,
  ) {}

  /** Reads the node's key, creating it (mode 0600) when the file is missing. */
  static fromKeyFile(file: string | undefined, ttlSeconds: number): TokenService {
    if (!file) return new TokenService(randomBytes(32), ttlSeconds);
    let key: Buffer;
    try {
      key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
    } catch {
      key = randomBytes(32);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, key.toString('base64') + '\n', { mode: 0o600 });
    }
    if (key.length < 32) throw new Error(`${file}: token key must be at least 32 bytes of base64`);
    return new TokenService(key, ttlSeconds);
  }

  async issue(user: string): Promise<{ token: string; expiresAt: number }> {
    const expiresAt = Date.now() + this.ttlSeconds * 1000;
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(user)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(Math.floor(expiresAt / 1000))
      .sign(this.key);
    return { token, expiresAt };
  }

  /** Returns the claims, or null for anything expired, tampered or foreign. */
  async verify(token: string): Promise<TokenClaims | null> {
    try {
      const { payload } = await jwtVerify(token, this.key, { issuer: ISSUER, audience: AUDIENCE, algorithms: ['HS256'] });
      return typeof payload.sub === 'string' ? { user: payload.sub } : null;
    } catch {
      return null;
    }
  }
}
