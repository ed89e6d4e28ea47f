// A broker's key pin as people write it: `sha256/` and the base64 of the SHA-256 of
// its certificate's SubjectPublicKeyInfo (what `holdfast cert dev` prints, what
// Chromium's --ignore-certificate-errors-spki-list takes without the prefix). The
// CLI, the node and the desktop policy all read pins through this.
import { z } from 'zod';

/** `sha256/BASE64`, or the bare base64; null for anything else. */
export function normalizePin(pin: string): string | null {
  const body = pin.trim().replace(/^sha256\//i, '');
  if (!/^[A-Za-z0-9+/]{43}=$/.test(body)) return null;
  return 'sha256/' + body;
}

export const PIN_PROBLEM = 'expected sha256/ followed by 44 characters of base64 (holdfast cert dev prints one)';

export const Pin = z.string().transform((pin, ctx) => {
  const normal = normalizePin(pin);
  if (normal === null) {
    ctx.addIssue({ code: 'custom', message: `"${pin.slice(0, 80)}" is not a pin: ${PIN_PROBLEM}` });
    return z.NEVER;
  }
  return normal;
});
