// The node's one authenticated-encryption primitive: AES-256-GCM under keys derived
// (HKDF-SHA256) from the token key, one per purpose. Callers choose how the parts are
// written down (a TOTP secret in the control plane, a cookie value); the cipher is here.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

export const IV_BYTES = 12;
export const TAG_BYTES = 16;

/** A 32-byte key for `label`, derived from the node's token key. */
export function deriveKey(tokenKey: Uint8Array, label: string): Buffer {
  return Buffer.from(hkdfSync('sha256', tokenKey, Buffer.alloc(0), label, 32));
}

export interface Sealed {
  iv: Buffer;
  data: Buffer;
  tag: Buffer;
}

export function seal(key: Buffer, plain: Buffer, aad?: Buffer): Sealed {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  if (aad) cipher.setAAD(aad);
  const data = Buffer.concat([cipher.update(plain), cipher.final()]);
  return { iv, data, tag: cipher.getAuthTag() };
}

/** The plaintext; throws when the parts were altered, or sealed under another key or `aad`. */
export function open(key: Buffer, { iv, data, tag }: Sealed, aad?: Buffer): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  if (aad) decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(data), decipher.final()]);
}
