// Sign-in through an OpenID Connect identity provider (openid-client): the
// authorization code flow with PKCE (S256), state and nonce. The provider's metadata is
// discovered on first use and kept; a failed discovery is tried again next time, so a
// provider that was down is used as soon as it is back. What the provider says about
// a person becomes a Holdfast person by personFor(), by the config's policy alone.
import * as oidc from 'openid-client';
import type { OidcConfig } from '../config/schema.js';
import type { Catalog } from '../catalog.js';
import type { SignInGrant } from './sign-in-codes.js';

/** What the browser carries (sealed) from the start of a sign-in to its callback. */
export interface OidcFlow {
  state: string;
  nonce: string;
  verifier: string;
  /** Where the one-time code goes afterwards: the web client (a URL fragment) or the desktop app (a holdfast:// link). */
  client: 'web' | 'desktop';
  /** The client's own random value; only it can redeem the code (sign-in-codes.ts). */
  handoff: string;
}

/** The provider could not be reached, or did not answer as a provider does. */
export class ProviderUnavailable extends Error {}
/** The provider answered, but the sign-in is not good (refused, tampered with, or not verifiable). */
export class SignInRejected extends Error {}

const DISCOVERY_TIMEOUT_SECONDS = 10;

export class IdentityProvider {
  private discovered: Promise<oidc.Configuration> | null = null;

  constructor(
    readonly settings: OidcConfig,
    /** The client secret (from the config or its file); undefined for a public client. */
    private readonly secret: string | undefined,
    /** Where the provider sends people back (registered with it); known once the node listens. */
    private readonly redirect: () => string,
  ) {}

  get displayName(): string {
    return this.settings.displayName;
  }

  get redirectUrl(): string {
    return this.redirect();
  }

  /** The authorization URL to send the person to, and what their browser must bring back. */
  async begin(client: OidcFlow['client'], handoff: string): Promise<{ url: URL; flow: OidcFlow }> {
    const config = await this.configuration();
    const flow: OidcFlow = { state: oidc.randomState(), nonce: oidc.randomNonce(), verifier: oidc.randomPKCECodeVerifier(), client, handoff };
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: this.redirectUrl,
      scope: this.settings.scopes,
      code_challenge: await oidc.calculatePKCECodeChallenge(flow.verifier),
      code_challenge_method: 'S256',
      state: flow.state,
      nonce: flow.nonce,
    });
    return { url, flow };
  }

  /**
   * Exchanges the code in the callback URL and checks the ID token (signature, issuer,
   * audience, expiry, nonce); returns its claims, completed from the userinfo endpoint
   * when the ID token lacks the user name or groups claim.
   */
  async finish(callback: URL, flow: OidcFlow): Promise<Record<string, unknown>> {
    const config = await this.configuration();
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce, idTokenExpected: true });
    } catch (error) {
      if (unreachable(error)) throw new ProviderUnavailable(describe(error));
      throw new SignInRejected(describe(error));
    }
    const claims: Record<string, unknown> = { ...tokens.claims() };
    const { usernameClaim, groupsClaim } = this.settings;
    const missing = claims[usernameClaim] === undefined || (groupsClaim !== undefined && claims[groupsClaim] === undefined);
    if (missing && config.serverMetadata().userinfo_endpoint && typeof claims.sub === 'string') {
      try {
        return { ...(await oidc.fetchUserInfo(config, tokens.access_token, claims.sub)), ...claims };
      } catch (error) {
        if (unreachable(error)) throw new ProviderUnavailable(describe(error));
        throw new SignInRejected(describe(error));
      }
    }
    return claims;
  }

  private configuration(): Promise<oidc.Configuration> {
    this.discovered ??= this.discover().catch((error: unknown) => {
      this.discovered = null;
      throw error;
    });
    return this.discovered;
  }

  private async discover(): Promise<oidc.Configuration> {
    const { issuer, clientId, clientAuth } = this.settings;
    const auth = this.secret === undefined ? oidc.None() : clientAuth === 'client_secret_post' ? oidc.ClientSecretPost(this.secret) : oidc.ClientSecretBasic(this.secret);
    // The schema allows http:// only on loopback (a test provider on this machine).
    const insecure = new URL(issuer).protocol === 'http:';
    try {
      return await oidc.discovery(new URL(issuer), clientId, undefined, auth, { timeout: DISCOVERY_TIMEOUT_SECONDS, ...(insecure ? { execute: [oidc.allowInsecureRequests] } : {}) });
    } catch (error) {
      throw new ProviderUnavailable(describe(error));
    }
  }
}

/** No answer at all (refused, reset, timed out), as opposed to an answer that was wrong. */
function unreachable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return (error instanceof TypeError && /fetch failed/i.test(error.message)) || error.name === 'TimeoutError' || error.name === 'AbortError';
}

/** One line for the log: the error and its cause (undici hides the useful part there). */
export function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  const detail = 'error_description' in error && typeof error.error_description === 'string' ? ` (${error.error_description})` : '';
  return `${error.message}${detail}${cause}`;
}

export type PersonResult = { ok: true; grant: SignInGrant; idpName: string } | { ok: false; idpName: string | null; message: string; detail: string };

const IDENT = /^[a-z][a-z0-9_-]{0,63}$/;

/**
 * The Holdfast person for a provider's claims, by the config's policy: a name under
 * users: signs in as that user (allowListed); anyone else only with allowUnlisted, as
 * themselves with the groups of groupsClaim. A refusal reads the same whether or not
 * the name is under users:, so it tells nobody which names exist.
 */
export function personFor(claims: Record<string, unknown>, settings: OidcConfig, catalog: Catalog): PersonResult {
  const raw = claims[settings.usernameClaim];
  if (typeof raw !== 'string' || raw.trim() === '') {
    return { ok: false, idpName: null, message: `${settings.displayName} did not say who you are (no "${settings.usernameClaim}" in its answer). Ask your administrator to check the identity provider's settings for Holdfast.`, detail: `no ${settings.usernameClaim} claim` };
  }
  const name = raw.trim().toLowerCase();
  const refused = { ok: false as const, idpName: name, message: `${settings.displayName} signed you in as “${raw.trim().slice(0, 64)}”, but that account may not use Holdfast here. Ask your administrator for access.` };
  if (catalog.user(name)) {
    if (settings.allowListed) return { ok: true, grant: { user: name }, idpName: name };
    return { ...refused, detail: 'listed users may not sign in with oidc (allowListed: false)' };
  }
  if (!settings.allowUnlisted) return { ...refused, detail: 'not under users: (allowUnlisted: false)' };
  if (!IDENT.test(name)) return { ...refused, detail: 'the user name is not usable in Holdfast (lowercase letters, digits, "-", "_", starting with a letter)' };
  // Only groups that mean something here: a directory's hundreds of others would only swell every token.
  const inUse = catalog.groupsInUse();
  const groups = groupsOf(settings.groupsClaim ? claims[settings.groupsClaim] : undefined).filter((g) => inUse.has(g));
  const displayName = typeof claims.name === 'string' && claims.name.trim() !== '' ? claims.name.trim().slice(0, 128) : name;
  return { ok: true, grant: { user: name, federated: { displayName, groups } }, idpName: name };
}

/** Group names from a claim: an array of strings, a leading "/" dropped (Keycloak gives paths), unusable names left out. */
function groupsOf(raw: unknown): string[] {
  if (!Array.isArray(raw)) return [];
  const names = raw.filter((g): g is string => typeof g === 'string').map((g) => g.replace(/^\//, '').toLowerCase());
  return [...new Set(names.filter((g) => IDENT.test(g)))];
}
