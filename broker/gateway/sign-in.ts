// Signing in and the second factor: password sign-in under the three sign-in limiters,
// refresh-token ("remember me") and identity-provider-code sign-in, sign-out, and
// setting up TOTP. Unknown names and wrong passwords get the same work, words and
// limits; a failed sign-in always counts before it is answered.
import QRCode from 'qrcode';
import { ErrorCode } from '../../shared/protocol/index.js';
import { matchStep, newSecret, otpauthUri } from '../auth/totp.js';
import type { Client } from './client.js';
import type { NodeContext } from './context.js';

export class SignIn {
  /** A TOTP secret shown to this person, waiting for its first code. */
  private pendingTotp: string | null = null;

  constructor(
    private readonly ctx: NodeContext,
    private readonly client: Client,
  ) {}

  /** A new access token for the signed-in person, if the catalog still has them. */
  refresh(user: string, id: number): Promise<void> | void {
    const person = this.ctx.catalog.identify(user, this.client.federated);
    if (!person) return this.client.refuse(id, ErrorCode.signInFailed, 'You are no longer a user of this node; ask your administrator.');
    return Promise.all([this.ctx.tokens.issue(user, this.client.federated, this.client.grant ?? undefined), this.ctx.secondFactors.enabled(user)]).then(([{ token, expiresAt }, twoStep]) =>
      this.client.send({ type: 'auth.signedIn', id, accessToken: token, expiresAt, user: person, twoStep }),
    );
  }

  /**
   * Password sign-in. Unknown names get exactly what wrong passwords get (the same
   * work, the same words, the same limits), so nobody learns which names exist.
   */
  async withPassword(id: number, name: string, password: string, remember = false, code?: string, device?: string): Promise<void> {
    const { byPair, byAddress, byUser } = this.ctx.limits;
    const keys = { pair: [`${name.toLowerCase()}|${this.client.address}`], address: [this.client.address], user: [name.toLowerCase()] };
    // A device that signed in as this person before is not held back by the per-name
    // limit, which others' guessing from anywhere can trip: it keeps its per-address and
    // per-(name, address) limits, so it cannot be used to guess faster either.
    const knownDevice = device !== undefined && (await this.ctx.tokens.deviceOf(device, name));
    const refusal = () =>
      [byPair.refusal(keys.pair), byAddress.refusal(keys.address), knownDevice ? null : byUser.refusal(keys.user)]
        .filter((r) => r !== null)
        .sort((a, b) => b.waitMs - a.waitMs)[0];
    const before = refusal();
    if (before) {
      this.ctx.metrics.signIns.inc({ result: 'rate_limited' });
      this.ctx.audit.record('sign-in.refused', { user: name, address: this.client.address, detail: before.locked ? 'locked' : `wait ${Math.ceil(before.waitMs / 1000)} s` });
      return this.client.refuse(id, ErrorCode.rateLimited, before.locked ? lockedMessage(before.waitMs) : `Too many failed sign-ins. Try again in ${Math.ceil(before.waitMs / 1000)} s.`, before.waitMs);
    }
    const fail = (what: string, detail?: string) => {
      byPair.recordFailure(keys.pair);
      byAddress.recordFailure(keys.address);
      byUser.recordFailure(keys.user);
      this.ctx.metrics.signIns.inc({ result: 'failed' });
      this.ctx.log.info('sign-in failed', { user: name, address: this.client.address, detail });
      this.ctx.audit.record('sign-in.failed', { user: name, address: this.client.address, detail });
      const now = refusal();
      const more = now?.locked ? ` ${lockedMessage(now.waitMs)}` : '';
      this.client.refuse(id, ErrorCode.signInFailed, `Sign-in failed: ${what}${more}`, now?.waitMs);
    };
    if (!(await this.ctx.verifyUser(name, password))) return fail('the user name or password is not right.');
    let factor = 'password';
    const twoStep = await this.ctx.secondFactors.enabled(name);
    if (twoStep) {
      if (!code) return this.client.refuse(id, ErrorCode.secondFactor, 'Enter the 6-digit code from your authenticator app, or one of your recovery codes.');
      const checked = await this.ctx.secondFactors.check(name, code);
      if (checked === 'wrong') return fail('that code is not right. Codes change every 30 seconds, and each works once.', 'wrong second-factor code');
      factor = checked === 'recovery' ? 'password and a recovery code' : 'password and TOTP';
    }
    // Only the person knows the password: their success starts the name's counts again
    // (not the address's, which an attacker with an account of their own could clear).
    byPair.recordSuccess(keys.pair);
    byUser.recordSuccess(keys.user);
    this.ctx.metrics.signIns.inc({ result: 'ok' });
    this.ctx.audit.record('sign-in.ok', { user: name, address: this.client.address, detail: remember ? `${factor}, remember me` : factor });
    const { token, expiresAt, sid } = await this.ctx.tokens.issue(name);
    this.client.signedIn(name, undefined, sid);
    const refresh = remember ? await this.ctx.tokens.issueRefresh(name, undefined, sid) : null;
    const deviceToken = (await this.ctx.tokens.issueDevice(name)).token;
    this.ctx.log.info('signed in', { user: name, address: this.client.address, remember });
    this.client.send({
      type: 'auth.signedIn',
      id,
      accessToken: token,
      expiresAt,
      user: this.ctx.catalog.userInfo(name)!,
      ...(refresh ? { refreshToken: refresh.token, refreshExpiresAt: refresh.expiresAt } : {}),
      deviceToken,
      twoStep,
    });
  }

  /** A TOTP secret for this person to add to their authenticator app; on only once confirmed with a code. */
  async beginTotp(user: string, id: number): Promise<void> {
    if (!this.ctx.catalog.user(user)?.passwordHash) {
      const where = this.ctx.config.oidc?.displayName ?? 'your identity provider';
      return this.client.refuse(id, ErrorCode.badRequest, `You sign in with ${where}, not a Holdfast password: set up two-step sign-in there.`);
    }
    if (await this.ctx.secondFactors.enabled(user)) return this.client.refuse(id, ErrorCode.badRequest, 'Two-step sign-in is already on for you; ask your administrator to reset it if you lost your phone and your recovery codes.');
    const secret = newSecret();
    this.pendingTotp = secret;
    const uri = otpauthUri(user, secret);
    this.client.send({ type: 'auth.totp.setup', id, secret, uri, qrSvg: await QRCode.toString(uri, { type: 'svg', margin: 2 }) });
  }

  async confirmTotp(user: string, id: number, code: string): Promise<void> {
    const secret = this.pendingTotp;
    if (!secret) return this.client.refuse(id, ErrorCode.badRequest, 'Start setting up two-step sign-in first.');
    const step = matchStep(secret, code.trim(), Date.now(), 0);
    if (step === null) return this.client.refuse(id, ErrorCode.signInFailed, 'That code is not right. Check the time on your phone, and enter the code it shows now.');
    this.pendingTotp = null;
    const recoveryCodes = await this.ctx.secondFactors.enable(user, secret, step);
    this.ctx.audit.record('sign-in.second-factor-enabled', { user, address: this.client.address });
    this.ctx.log.info('two-step sign-in enabled', { user, address: this.client.address });
    this.client.send({ type: 'auth.totp.enabled', id, recoveryCodes });
  }

  /** Revokes the tokens the client held (its own: another user's are ignored), then this connection is anonymous. */
  async signOut(user: string, id: number, tokens: string[]): Promise<void> {
    let revoked = 0;
    const signIns = new Set<string>(this.client.grant ? [this.client.grant] : []);
    for (const token of tokens) {
      const claims = await this.ctx.tokens.verifyEither(token);
      if (!claims || claims.user !== user || !claims.jti) continue;
      await this.ctx.revocations.revokeToken(claims.jti, claims.expiresAt ?? Date.now() + 86_400_000);
      if (claims.sid) signIns.add(claims.sid);
      revoked += 1;
    }
    // What was given to those sign-ins goes with them: their sessions' resume tokens (the sessions keep running for their owner to attach).
    await this.ctx.sessions.retireResumeTokens(user, [...signIns]).catch((error: unknown) => this.ctx.log.warn('resume tokens not retired at sign-out', { user, error: String(error) }));
    this.ctx.audit.record('sign-out', { user, address: this.client.address, detail: `${revoked} token${revoked === 1 ? '' : 's'} revoked` });
    this.ctx.log.info('signed out', { user, address: this.client.address, revoked });
    this.client.signedOut();
    this.client.send({ type: 'auth.signedOut', id, revoked });
  }

  /**
   * "Remember me": a refresh token signs in again and is replaced by a new one; the
   * one presented is revoked (marked rotated). A rotated token presented again means
   * it was copied: every token of its user is revoked. A token for a user no longer in
   * the catalog is refused like any bad token.
   */
  async withToken(id: number, refreshToken: string): Promise<void> {
    const { byAddress } = this.ctx.limits;
    const addressKey = [this.client.address];
    const wait = byAddress.retryAfter(addressKey);
    if (wait > 0) return this.client.refuse(id, ErrorCode.rateLimited, `Too many failed sign-ins. Try again in ${Math.ceil(wait / 1000)} s.`, wait);
    const claims = await this.ctx.tokens.verifyRefresh(refreshToken);
    const user = claims && this.ctx.catalog.identify(claims.user, claims.federated);
    if (!claims) {
      // A refresh token that was already exchanged for a new one, shown again: one of
      // the two holders copied it. End every sign-in of that person (both copies
      // included) — unless it comes back within the grace period, which is the same
      // client retrying (it lost the answer, or two of its requests raced).
      const copied = await this.ctx.tokens.inspectRefresh(refreshToken);
      const rotatedAt = copied?.jti ? this.ctx.revocations.rotatedAt(copied.jti) : null;
      if (copied && rotatedAt !== null && Date.now() - rotatedAt > this.ctx.config.node.refreshTokenReuseGraceSeconds * 1000) {
        await this.ctx.revocations.revokeUser(copied.user);
        this.ctx.log.warn('a used-up refresh token came back: every sign-in of its user revoked', { user: copied.user, address: this.client.address });
        this.ctx.audit.record('sign-in.refresh-reused', { user: copied.user, address: this.client.address, result: 'revoked', detail: 'a rotated refresh token was presented again; all of the user\'s tokens revoked' });
        return this.client.refuse(id, ErrorCode.signInFailed, 'This saved sign-in was already used, so it may have been copied. To be safe, every sign-in of yours has been ended; sign in again with your password.');
      }
    }
    if (!claims || !user) {
      byAddress.recordFailure(addressKey);
      this.ctx.log.info('sign-in with a saved token failed', { address: this.client.address });
      this.ctx.audit.record('sign-in.failed', { user: claims?.user ?? null, address: this.client.address, detail: 'refresh token' });
      return this.client.refuse(id, ErrorCode.signInFailed, 'Your saved sign-in has expired or is no longer valid; sign in again.');
    }
    // Rotation: the token presented is used up before its successor exists.
    if (claims.jti) await this.ctx.revocations.revokeToken(claims.jti, claims.expiresAt ?? Date.now() + 86_400_000, true);
    // The same sign-in, renewed: what was given to it (resume tokens) stays with it.
    const access = await this.ctx.tokens.issue(claims.user, claims.federated, claims.sid);
    this.client.signedIn(claims.user, claims.federated, access.sid);
    const refresh = await this.ctx.tokens.issueRefresh(claims.user, claims.federated, access.sid);
    this.ctx.log.info('signed in', { user: claims.user, address: this.client.address, with: 'refresh token' });
    this.ctx.audit.record('sign-in.ok', { user: claims.user, address: this.client.address, detail: 'refresh token' });
    const twoStep = await this.ctx.secondFactors.enabled(claims.user);
    this.client.send({ type: 'auth.signedIn', id, accessToken: access.token, expiresAt: access.expiresAt, user, refreshToken: refresh.token, refreshExpiresAt: refresh.expiresAt, twoStep });
  }

  /**
   * The one-time code an identity provider's sign-in left (auth/sign-in-codes.ts), with
   * the handoff value this client gave /auth/oidc/start. A bad code counts against the
   * address like a bad password, and every bad code gets the same answer.
   */
  async withCode(id: number, code: string, handoff: string, remember: boolean): Promise<void> {
    const { byAddress } = this.ctx.limits;
    const addressKey = [this.client.address];
    const wait = byAddress.retryAfter(addressKey);
    if (wait > 0) {
      this.ctx.metrics.signIns.inc({ result: 'rate_limited' });
      this.ctx.audit.record('sign-in.refused', { address: this.client.address, method: 'oidc', detail: `wait ${Math.ceil(wait / 1000)} s` });
      return this.client.refuse(id, ErrorCode.rateLimited, `Too many failed sign-ins. Try again in ${Math.ceil(wait / 1000)} s.`, wait);
    }
    const grant = await this.ctx.signInCodes.redeem(code, handoff);
    const person = grant && this.ctx.catalog.identify(grant.user, grant.federated);
    if (!grant || !person) {
      byAddress.recordFailure(addressKey);
      this.ctx.metrics.signIns.inc({ result: 'failed' });
      this.ctx.log.info('sign-in with a code failed', { address: this.client.address, user: grant?.user });
      this.ctx.audit.record('sign-in.failed', { user: grant?.user ?? null, address: this.client.address, method: 'oidc', detail: grant ? 'no longer allowed' : 'sign-in code unknown, used, expired or for another client' });
      return this.client.refuse(id, ErrorCode.signInFailed, 'Sign-in could not be finished: the sign-in code has expired or was already used. Start again with the sign-in button.');
    }
    const access = await this.ctx.tokens.issue(grant.user, grant.federated);
    this.client.signedIn(grant.user, grant.federated, access.sid);
    this.ctx.metrics.signIns.inc({ result: 'ok' });
    this.ctx.audit.record('sign-in.ok', { user: grant.user, address: this.client.address, method: 'oidc', ...(remember ? { detail: 'remember me' } : {}) });
    this.ctx.log.info('signed in', { user: grant.user, address: this.client.address, with: 'oidc', remember });
    const refresh = remember ? await this.ctx.tokens.issueRefresh(grant.user, grant.federated, access.sid) : null;
    this.client.send({
      type: 'auth.signedIn',
      id,
      accessToken: access.token,
      expiresAt: access.expiresAt,
      user: person,
      ...(refresh ? { refreshToken: refresh.token, refreshExpiresAt: refresh.expiresAt } : {}),
      twoStep: await this.ctx.secondFactors.enabled(grant.user),
    });
  }
}

/** A lockout, in words: until when (UTC, the node's clock) and what to do. */
function lockedMessage(waitMs: number): string {
  const until = new Date(Date.now() + waitMs).toISOString().slice(11, 16);
  return `Too many failed sign-ins for this name from your address: sign-in is locked here until ${until} UTC. Try again then, or ask your administrator.`;
}
