// Password hashes: scrypt from node:crypto, in a self-describing string so the cost
// can be raised later without breaking old hashes: scrypt$N$r$p$salt$hash (base64).
import { createHash, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const KEY_LENGTH = 32;
const DEFAULT = { N: 2 ** 15, r: 8, p: 1 };

function derive(password: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFC'), salt, KEY_LENGTH, { ...options, maxmem: 256 * 1024 * 1024 }, (error, key) =>
      error ? reject(error) : resolve(key),
    ),
  );
}

export async function hashPassword(password: string, cost = DEFAULT): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, cost);
  return ['scrypt', cost.N, cost.r, cost.p, salt.toString('base64'), key.toString('base64')].join('$');
}

/** Constant-time check; false for a malformed hash rather than throwing. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const parts = encoded.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number);
  if (!N || !r || !p) return false;
  const salt = Buffer.from(parts[4]!, 'base64');
  const expected = Buffer.from(parts[5]!, 'base64');
  const key = await derive(password, salt, { N, r, p });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** scrypt's cost in an encoded hash, as "N$r$p"; null for a malformed hash. */
export function hashCost(encoded: string): string | null {
  const parts = encoded.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt' || !parts.slice(1, 4).every((n) => /^[1-9]\d*$/.test(n))) return null;
  return parts.slice(1, 4).join('$');
}

/** One decoy per cost: checking a password against it costs what a real hash of that cost does. */
const decoys = new Map<string, Promise<string>>();

/**
 * The hash a name that does not exist (or has no password) is checked against, so a
 * miss costs what a wrong password for a real person costs: a decoy with the cost of
 * one of the configured hashes, picked by the name (the same name always costs the
 * same, as a real person does), so for any mix of costs in a config an unknown name
 * looks like a person with one of them.
 */
export function decoyFor(name: string, configured: string[]): Promise<string> {
  const costs = configured.map(hashCost).filter((c): c is string => c !== null);
  const pick = costs.length > 0 ? costs[createHash('sha256').update(name).digest().readUInt32BE(0) % costs.length]! : `${DEFAULT.N}$${DEFAULT.r}$${DEFAULT.p}`;
  let decoy = decoys.get(pick);
  if (!decoy) {
    const [N, r, p] = pick.split('$').map(Number) as [number, number, number];
    decoy = hashPassword(randomBytes(16).toString('hex'), { N, r, p });
    decoys.set(pick, decoy);
  }
  return decoy;
}
