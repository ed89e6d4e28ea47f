// The web client's sign-in across a page reload. A browser tab cannot keep a secret
// that page scripts cannot read, so the secret lives in a cookie they cannot: after a
// sign-in the client asks the node to keep it, and after a reload asks it for a
// one-time sign-in code (the same codes an identity provider's sign-in leaves:
// auth/sign-in-codes.ts), which it redeems on the WebSocket as `auth.signInWithCode`.
//   POST /auth/keep          Authorization: Bearer <access token> — sets the cookie
//   POST /auth/keep/renew    {"handoff": …} — a code for that handoff; the cookie rotates
//   POST /auth/keep/end      at sign-out — the token in the cookie is revoked, the cookie cleared
// The cookie holds a refresh token (JWT, audience holdfast-refresh): HttpOnly,
// SameSite=Strict, Path=/auth/keep, Secure over TLS, rotated on every renewal (the one
// presented is revoked). Every route needs the X-Holdfast-Client header, which a page of
// another site cannot send without a CORS preflight that the node never grants, and a
// renewal that fails counts against the address like a failed sign-in.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TLSSocket } from 'node:tls';
import { z } from 'zod';
import { HandoffSchema, KEEP_CLIENT_HEADER, KEEP_END_PATH, KEEP_PATH, KEEP_RENEW_PATH } from '../../shared/protocol/index.js';
import { readCookie } from '../auth/sealed-cookie.js';
import type { NodeContext } from './context.js';
import { readJsonBody } from './request-body.js';
import { SECURITY_HEADERS } from './static-files.js';

const COOKIE = 'holdfast-keep';
const MAX_BODY = 1024;
const RenewBody = z.object({ handoff: HandoffSchema });

export class KeptSignIn {
  constructor(private readonly ctx: NodeContext) {}

  static handles(path: string): boolean {
    return path === KEEP_PATH || path === KEEP_RENEW_PATH || path === KEEP_END_PATH;
  }

  async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? '').split('?')[0];
    if (request.method !== 'POST') return answer(response, 405, { error: 'Use POST.' });
    if (request.headers[KEEP_CLIENT_HEADER] !== 'web') return answer(response, 400, { error: `Send the ${KEEP_CLIENT_HEADER}: web header.` });
    const address = request.socket.remoteAddress ?? 'unknown';
    if (path === KEEP_PATH) return this.keep(request, response, address);
    if (path === KEEP_RENEW_PATH) return this.renew(request, response, address);
    return this.end(request, response, address);
  }

  /** After a sign-in: a refresh token of the same sign-in, into the cookie. */
  private async keep(request: IncomingMessage, response: ServerResponse, address: string): Promise<void> {
    const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    const claims = bearer ? await this.ctx.tokens.verify(bearer) : null;
    if (!claims || !this.ctx.catalog.identify(claims.user, claims.federated)) return answer(response, 401, { error: 'Sign in first.' });
    const refresh = await this.ctx.tokens.issueRefresh(claims.user, claims.federated, claims.sid);
    this.ctx.audit.record('sign-in.kept', { user: claims.user, address });
    answer(response, 204, null, cookie(request, refresh.token, Math.floor((refresh.expiresAt - Date.now()) / 1000)));
  }

  /** After a reload: the kept sign-in, for a one-time code; the cookie gets a new token. */
  private async renew(request: IncomingMessage, response: ServerResponse, address: string): Promise<void> {
    const { byAddress } = this.ctx.limits;
    const wait = byAddress.retryAfter([address]);
    if (wait > 0) return answer(response, 429, { error: `Too many failed sign-ins. Try again in ${Math.ceil(wait / 1000)} s.` });
    const read = await readJsonBody(request, MAX_BODY);
    const body = RenewBody.safeParse(read.ok ? read.value : undefined);
    if (!body.success) return answer(response, 400, { error: 'Send {"handoff": …}: a base64url value of 22 to 128 characters.' });
    const presented = readCookie(request.headers.cookie, COOKIE);
    const claims = presented ? await this.ctx.tokens.verifyRefresh(presented) : null;
    const person = claims && this.ctx.catalog.identify(claims.user, claims.federated);
    if (!claims || !person) {
      // No cookie is no failure (a first visit); a bad one counts like a bad password.
      if (presented) byAddress.recordFailure([address]);
      return answer(response, 401, { error: 'No kept sign-in: sign in.' }, cookie(request, '', 0));
    }
    // Rotation: the token presented is used up before its successor exists.
    if (claims.jti) await this.ctx.revocations.revokeToken(claims.jti, claims.expiresAt ?? Date.now() + 86_400_000, true);
    const next = await this.ctx.tokens.issueRefresh(claims.user, claims.federated, claims.sid);
    const code = await this.ctx.signInCodes.issue({ user: claims.user, ...(claims.federated ? { federated: claims.federated } : {}) }, body.data.handoff);
    this.ctx.audit.record('sign-in.kept-renewed', { user: claims.user, address });
    answer(response, 200, { code }, cookie(request, next.token, Math.floor((next.expiresAt - Date.now()) / 1000)));
  }

  /** Sign-out: the kept token is revoked and the cookie cleared. */
  private async end(request: IncomingMessage, response: ServerResponse, address: string): Promise<void> {
    const presented = readCookie(request.headers.cookie, COOKIE);
    const claims = presented ? await this.ctx.tokens.verifyRefresh(presented) : null;
    if (claims?.jti) {
      await this.ctx.revocations.revokeToken(claims.jti, claims.expiresAt ?? Date.now() + 86_400_000);
      this.ctx.audit.record('sign-in.kept-ended', { user: claims.user, address });
    }
    answer(response, 204, null, cookie(request, '', 0));
  }
}

function cookie(request: IncomingMessage, value: string, maxAgeSeconds: number): string {
  const secure = request.socket instanceof TLSSocket;
  return [`${COOKIE}=${value}`, `Path=${KEEP_PATH}`, `Max-Age=${Math.max(0, maxAgeSeconds)}`, 'HttpOnly', 'SameSite=Strict', ...(secure ? ['Secure'] : [])].join('; ');
}

function answer(response: ServerResponse, status: number, body: unknown, setCookie?: string): void {
  response.writeHead(status, {
    ...SECURITY_HEADERS,
    'Cache-Control': 'no-store',
    ...(body === null ? {} : { 'Content-Type': 'application/json' }),
    ...(setCookie !== undefined ? { 'Set-Cookie': setCookie } : {}),
  });
  response.end(body === null ? undefined : JSON.stringify(body));
}
