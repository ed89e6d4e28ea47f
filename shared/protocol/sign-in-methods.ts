// Signing in through the node's identity provider (OIDC), as a client sees it over
// HTTP (docs/protocol.md#sign-in-with-an-identity-provider): which ways of signing in
// a node offers, where a sign-in starts, and the shapes of the values that travel
// through the browser and holdfast:// links. Parsed as unknown wherever they arrive.
import { z } from 'zod';

export const AUTH_METHODS_PATH = '/auth/methods';
export const OIDC_START_PATH = '/auth/oidc/start';
export const OIDC_CALLBACK_PATH = '/auth/oidc/callback';
/** The web client finds the one-time code here after the provider's sign-in: `/#oidc=<code>`. */
export const OIDC_FRAGMENT = 'oidc';

/** GET /auth/methods: ways of signing in this node offers (the sign-in form shows a button for oidc). */
export const AuthMethodsSchema = z.object({
  password: z.boolean(),
  oidc: z.object({ displayName: z.string().min(1).max(64), start: z.string().max(256) }).nullable(),
});
export type AuthMethods = z.infer<typeof AuthMethodsSchema>;

/** A client's random value, given at the start of a sign-in and needed to redeem its code. */
export const HandoffSchema = z.string().regex(/^[A-Za-z0-9_-]{22,128}$/, 'base64url, 22 to 128 characters');
/** A one-time sign-in code, as the broker makes them (32 random bytes, base64url). */
export const SignInCodeSchema = z.string().regex(/^[A-Za-z0-9_-]{20,128}$/, 'base64url, 20 to 128 characters');

/** Where a client sends the person to sign in with the provider (a top-level navigation, or the system browser). */
export function oidcStartUrl(brokerUrl: string, client: 'web' | 'desktop', handoff: string): string {
  const base = brokerUrl.replace(/^ws/i, 'http').replace(/\/+$/, '');
  return `${base}${OIDC_START_PATH}?client=${client}&handoff=${encodeURIComponent(handoff)}`;
}

/**
 * The web client's sign-in kept across a page reload, in an HttpOnly cookie the page
 * cannot read (broker/gateway/kept-sign-in.ts): POST KEEP_PATH after signing in, POST
 * KEEP_RENEW_PATH with {"handoff"} after a reload for a one-time sign-in code, POST
 * KEEP_END_PATH at sign-out. Every call sends KEEP_CLIENT_HEADER: web.
 */
export const KEEP_PATH = '/auth/keep';
export const KEEP_RENEW_PATH = '/auth/keep/renew';
export const KEEP_END_PATH = '/auth/keep/end';
export const KEEP_CLIENT_HEADER = 'x-holdfast-client';
