// The node's HTTP side of signing in through an identity provider:
//   GET /auth/methods        which ways of signing in this node offers (JSON, any origin)
//   GET /auth/oidc/start     seals state, nonce and PKCE verifier into a cookie; off to the provider
//   GET /auth/oidc/callback  checks all that, exchanges the code, maps the person, and hands
//                            the client a one-time sign-in code — never a token in a URL
// Anything that goes wrong is a page in words (never a stack trace), and the password
// form keeps working whatever state the provider is in.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TLSSocket } from 'node:tls';
import { z } from 'zod';
import { AUTH_METHODS_PATH, HandoffSchema, OIDC_CALLBACK_PATH, OIDC_FRAGMENT, OIDC_START_PATH, type AuthMethods } from '../../shared/protocol/index.js';
import { ProviderUnavailable, SignInRejected, personFor, type IdentityProvider, type OidcFlow } from '../auth/oidc.js';
import { CookieSealer, readCookie, setCookie } from '../auth/sealed-cookie.js';
import type { SignInCodes } from '../auth/sign-in-codes.js';
import type { NodeContext } from './context.js';
import { SECURITY_HEADERS } from './static-files.js';

/** The person has this long at the provider (signing in, perhaps registering a passkey). */
const FLOW_TTL_MS = 10 * 60_000;
const COOKIE_PATH = '/auth/oidc';
const cookieName = (state: string) => `holdfast-oidc-${state}`;

const FlowSchema = z.object({ state: z.string(), nonce: z.string(), verifier: z.string(), client: z.enum(['web', 'desktop']), handoff: z.string() });
const StateSchema = z.string().regex(/^[A-Za-z0-9_-]{16,128}$/);

export class OidcRoutes {
  private readonly sealer: CookieSealer;

  constructor(
    private readonly ctx: NodeContext,
    private readonly provider: IdentityProvider | null,
    private readonly codes: () => SignInCodes,
  ) {
    this.sealer = new CookieSealer(ctx.tokens.key, 'oidc-flow');
  }

  /** True when `path` is one of these routes (GET only). */
  static handles(path: string): boolean {
    return path === AUTH_METHODS_PATH || path === OIDC_START_PATH || path === OIDC_CALLBACK_PATH;
  }

  async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://node');
    try {
      if (url.pathname === AUTH_METHODS_PATH) return this.methods(response);
      if (!this.provider) return page(response, 404, 'Not offered here', ['This Holdfast node does not offer sign-in with an identity provider. Sign in with your user name and password.'], 'web');
      if (url.pathname === OIDC_START_PATH) return await this.start(this.provider, request, url, response);
      return await this.callback(this.provider, request, url, response);
    } catch (error) {
      this.ctx.log.error('oidc route failed', { path: url.pathname, error: error instanceof Error ? error.stack : String(error) });
      page(response, 500, 'Sign-in failed', ['Holdfast hit an internal error finishing this sign-in. Start again from the sign-in page; if it keeps happening, tell your administrator.'], 'web');
    }
  }

  private methods(response: ServerResponse): void {
    const body: AuthMethods = { password: true, oidc: this.provider ? { displayName: this.provider.displayName, start: OIDC_START_PATH } : null };
    // Public and harmless (a button's label): any origin may read it, the desktop app's included.
    response.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', 'Access-Control-Allow-Origin': '*', 'Cross-Origin-Resource-Policy': 'cross-origin' });
    response.end(JSON.stringify(body) + '\n');
  }

  private async start(provider: IdentityProvider, request: IncomingMessage, url: URL, response: ServerResponse): Promise<void> {
    const client = url.searchParams.get('client') === 'desktop' ? 'desktop' : 'web';
    const handoff = HandoffSchema.safeParse(url.searchParams.get('handoff'));
    if (!handoff.success) {
      return page(response, 400, 'Start from the sign-in page', [`To sign in with ${provider.displayName}, use the button on Holdfast’s sign-in page: this address cannot be used on its own.`], client);
    }
    let begun: Awaited<ReturnType<IdentityProvider['begin']>>;
    try {
      begun = await provider.begin(client, handoff.data);
    } catch (error) {
      if (!(error instanceof ProviderUnavailable)) throw error;
      this.ctx.log.warn('identity provider unavailable', { issuer: provider.settings.issuer, error: error.message });
      return page(response, 502, `${provider.displayName} is not answering`, [`Holdfast cannot reach ${provider.displayName} to sign you in right now. Try again in a few minutes, or sign in with your Holdfast user name and password if you have one.`], client);
    }
    const name = cookieName(begun.flow.state);
    const sealed = this.sealer.seal(name, begun.flow, FLOW_TTL_MS);
    response.writeHead(302, {
      ...SECURITY_HEADERS,
      'Set-Cookie': setCookie(name, sealed, { path: COOKIE_PATH, maxAgeSeconds: FLOW_TTL_MS / 1000, secure: this.secure(request, provider) }),
      Location: begun.url.href,
      'Cache-Control': 'no-store',
    });
    response.end();
  }

  private async callback(provider: IdentityProvider, request: IncomingMessage, url: URL, response: ServerResponse): Promise<void> {
    const address = request.socket.remoteAddress ?? 'unknown';
    const state = StateSchema.safeParse(url.searchParams.get('state'));
    const name = state.success ? cookieName(state.data) : null;
    const raw = name ? readCookie(request.headers.cookie, name) : null;
    const parsed = name && raw ? FlowSchema.safeParse(this.sealer.open(name, raw)) : null;
    const flow: OidcFlow | null = parsed?.success && parsed.data.state === state.data ? parsed.data : null;
    // The flow is good once, whatever happens next.
    if (name) response.setHeader('Set-Cookie', setCookie(name, '', { path: COOKIE_PATH, maxAgeSeconds: 0, secure: this.secure(request, provider) }));
    const refuse = (status: number, title: string, text: string[], detail: string, user: string | null = null) => {
      this.ctx.metrics.signIns.inc({ result: 'failed' });
      this.ctx.audit.record('sign-in.failed', { user, address, method: 'oidc', detail });
      this.ctx.log.info('oidc sign-in failed', { user, address, detail });
      page(response, status, title, text, flow?.client ?? 'web');
    };
    if (!flow) {
      return refuse(400, 'This sign-in cannot be finished', [
        'This sign-in link is not valid here: it was changed, it was already used, it is more than 10 minutes old, or it was opened in another browser than the one that started it.',
        'Start again from the sign-in page.',
      ], state.success ? 'no sealed flow for this state (missing, expired or tampered cookie)' : 'missing or malformed state');
    }
    const idpError = url.searchParams.get('error');
    if (idpError) {
      const said = (url.searchParams.get('error_description') ?? idpError).slice(0, 300);
      return refuse(401, 'You were not signed in', [`${provider.displayName} did not sign you in: ${said}.`, 'Start again from the sign-in page.'], `provider error: ${idpError.slice(0, 100)}`);
    }
    let claims: Record<string, unknown>;
    try {
      claims = await provider.finish(this.callbackUrl(provider, url), flow);
    } catch (error) {
      if (error instanceof ProviderUnavailable) {
        this.ctx.log.warn('identity provider unavailable', { issuer: provider.settings.issuer, error: error.message });
        return refuse(502, `${provider.displayName} is not answering`, [`Holdfast could not reach ${provider.displayName} to finish signing you in. Try again in a few minutes.`], `provider unavailable: ${error.message}`);
      }
      if (error instanceof SignInRejected) {
        return refuse(400, 'This sign-in cannot be finished', [`${provider.displayName}’s answer could not be verified, so you are not signed in. Start again from the sign-in page; if it keeps happening, tell your administrator.`], `not verified: ${error.message}`);
      }
      throw error;
    }
    const person = personFor(claims, provider.settings, this.ctx.catalog);
    if (!person.ok) return refuse(403, 'No access to Holdfast', [person.message], person.detail, person.idpName);
    let code: string;
    try {
      code = await this.codes().issue(person.grant, flow.handoff);
    } catch (error) {
      this.ctx.log.error('cannot keep a sign-in code', { error: String(error) });
      return refuse(503, 'Sign-in failed', ['Holdfast could not finish your sign-in just now (its cluster state is not answering). Start again in a moment.'], 'control plane unavailable', person.idpName);
    }
    this.ctx.log.info('oidc sign-in: code issued', { user: person.grant.user, address, client: flow.client, unlisted: person.grant.federated !== undefined });
    if (flow.client === 'web') {
      response.writeHead(303, { ...SECURITY_HEADERS, Location: `/#${OIDC_FRAGMENT}=${code}`, 'Cache-Control': 'no-store' });
      return void response.end();
    }
    const link = `holdfast://oidc?code=${code}&broker=${encodeURIComponent(new URL(this.callbackUrl(provider, url)).origin)}`;
    page(response, 200, 'Signed in', ['You are signed in. Going back to the Holdfast app…', 'You can close this browser tab.'], 'desktop', link);
  }

  /** The callback as the provider sent the browser to it: the registered redirect URL with this request's query. */
  private callbackUrl(provider: IdentityProvider, url: URL): URL {
    const callback = new URL(provider.redirectUrl);
    callback.search = url.search;
    return callback;
  }

  private secure(request: IncomingMessage, provider: IdentityProvider): boolean {
    return request.socket instanceof TLSSocket || request.headers['x-forwarded-proto'] === 'https' || provider.redirectUrl.startsWith('https:');
  }
}

const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * A small page in words for the person in the browser. `back` says where they go next:
 * the web client's sign-in page, or (desktop) back to the app; `open` a holdfast://
 * link to follow at once (the desktop app's hand-off), with a button if the browser asks.
 */
function page(response: ServerResponse, status: number, title: string, paragraphs: string[], back: 'web' | 'desktop', open?: string): void {
  const next = open
    ? `<p><a class="button" href="${escape(open)}">Open Holdfast</a></p>`
    : back === 'web'
      ? '<p><a class="button" href="/">Back to sign-in</a></p>'
      : '<p>Go back to the Holdfast app to try again.</p>';
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
${open ? `<meta http-equiv="refresh" content="0;url=${escape(open)}">` : ''}<title>${escape(title)} — Holdfast</title>
<style>body{font:16px/1.5 system-ui,sans-serif;background:#0f172a;color:#e2e8f0;display:grid;place-items:center;min-height:100vh;margin:0}
main{background:#1e293b;padding:2rem 2.5rem;border-radius:12px;max-width:32rem}h1{font-size:1.4rem;margin-top:0}
a.button{display:inline-block;background:#3b82f6;color:#fff;padding:.5rem 1rem;border-radius:6px;text-decoration:none}</style>
</head><body><main><h1>${escape(title)}</h1>${paragraphs.map((p) => `<p>${escape(p)}</p>`).join('')}${next}</main></body></html>
`;
  response.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
  response.end(html);
}
