// Signing in through the broker's identity provider, the renderer's part: which ways
// of signing in the broker offers, the random handoff value a sign-in starts with (kept
// in sessionStorage: the web client leaves the page for the provider and comes back),
// and the one-time code the web client finds in its URL fragment on the way back.
import { AUTH_METHODS_PATH, AuthMethodsSchema, OIDC_FRAGMENT, SignInCodeSchema, type AuthMethods } from '../../shared/protocol/index.js';

const HANDOFF_KEY = 'holdfast.oidc.handoff';

/** GET /auth/methods on the broker; null when it does not answer or says nothing usable (then only the password form shows). */
export async function fetchAuthMethods(brokerUrl: string): Promise<AuthMethods | null> {
  try {
    const reply = await fetch(brokerUrl.replace(/^ws/i, 'http').replace(/\/+$/, '') + AUTH_METHODS_PATH, { cache: 'no-store' });
    if (!reply.ok) return null;
    const parsed = AuthMethodsSchema.safeParse(await reply.json());
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** A new handoff value (24 random bytes, base64url), kept for this tab until the sign-in finishes. */
export function beginHandoff(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  const handoff = btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  sessionStorage.setItem(HANDOFF_KEY, handoff);
  return handoff;
}

/** The handoff value this tab started a sign-in with, once (null: it started none). */
export function takeHandoff(): string | null {
  const handoff = sessionStorage.getItem(HANDOFF_KEY);
  sessionStorage.removeItem(HANDOFF_KEY);
  return handoff;
}

let returned: string | 'invalid' | null = null;

/**
 * The web client's way back from the provider: `#oidc=<code>`. Called first thing at
 * start: the fragment leaves the address bar (and this history entry) at once, so the
 * code is never bookmarked, shared or left behind.
 */
export function captureReturnedCode(): void {
  const hash = window.location.hash;
  const prefix = `#${OIDC_FRAGMENT}=`;
  if (!hash.startsWith(prefix)) return;
  window.history.replaceState(window.history.state, '', window.location.pathname + window.location.search);
  const code = SignInCodeSchema.safeParse(hash.slice(prefix.length));
  returned = code.success ? code.data : 'invalid';
}

/** Whether a code came back from the provider and waits to be used (a kept sign-in then waits its turn). */
export function returnedCodeWaiting(): boolean {
  return returned !== null;
}

/** The code captured at start, once ('invalid' when the fragment held something else). */
export function takeReturnedCode(): string | 'invalid' | null {
  const code = returned;
  returned = null;
  return code;
}
