// Short-lived secrets the browser carries for the node between two requests (the OIDC
// flow's state, nonce and PKCE verifier, from /auth/oidc/start to the callback). Sealed
// with AES-256-GCM under a key derived from the node's token key (HKDF), so any node
// of a cluster opens what another sealed, and nobody else can read, forge or alter it.
// Each seal is bound to its cookie's name and carries its own expiry.
import { IV_BYTES, TAG_BYTES, deriveKey, open, seal } from './aead.js';

const VERSION = 'v1.';

export class CookieSealer {
  private readonly key: Buffer;

  constructor(tokenKey: Uint8Array, purpose: string) {
    this.key = deriveKey(tokenKey, `holdfast-sealed-cookie:${purpose}`);
  }

  /** `value` as an opaque cookie value for the cookie `name`, good for `ttlMs`. */
  seal(name: string, value: unknown, ttlMs: number, now = Date.now()): string {
    const { iv, data, tag } = seal(this.key, Buffer.from(JSON.stringify({ e: now + ttlMs, v: value }), 'utf8'), Buffer.from(name, 'utf8'));
    return VERSION + Buffer.concat([iv, data, tag]).toString('base64url');
  }

  /** What seal() was given, or null for anything expired, altered, sealed under another key or for another name. */
  open(name: string, text: string, now = Date.now()): unknown {
    if (!text.startsWith(VERSION) || text.length > 8192) return null;
    const bytes = Buffer.from(text.slice(VERSION.length), 'base64url');
    if (bytes.length < IV_BYTES + TAG_BYTES) return null;
    try {
      const parts = { iv: bytes.subarray(0, IV_BYTES), data: bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES), tag: bytes.subarray(bytes.length - TAG_BYTES) };
      const plain = open(this.key, parts, Buffer.from(name, 'utf8'));
      const { e, v } = JSON.parse(plain.toString('utf8')) as { e?: unknown; v?: unknown };
      return typeof e === 'number' && now < e ? (v ?? null) : null;
    } catch {
      return null;
    }
  }
}

export interface CookieOptions {
  path: string;
  /** 0 deletes the cookie. */
  maxAgeSeconds: number;
  /** Sent only over https: set when the person reached the node over https. */
  secure: boolean;
}

/** A Set-Cookie value: HttpOnly and SameSite=Lax always (the IdP's redirect back is a top-level GET). */
export function setCookie(name: string, value: string, options: CookieOptions): string {
  return [`${name}=${value}`, `Path=${options.path}`, `Max-Age=${options.maxAgeSeconds}`, 'HttpOnly', 'SameSite=Lax', ...(options.secure ? ['Secure'] : [])].join('; ');
}

/** The value of cookie `name` in a Cookie header, or null. */
export function readCookie(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim();
  }
  return null;
}
