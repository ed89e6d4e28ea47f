// Sharing a session by link (docs/protocol.md#sharing-a-session), the owner's side:
// making a link, changing what it lets people do, revoking it, sending one watcher
// away, and telling the owner who watches. A link's record lives in the session's
// record (any gateway can check a link; only its secret's sha256 is kept, so none can
// make one); its watchers live with the session's primary, where the owner's
// connection is bound — so a revocation takes effect there at once.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ErrorCode, formatShareLink, type ShareInfo, type ShareMode } from '../../shared/protocol/index.js';
import type { SessionRecord, ShareRecord } from '../cluster/records.js';
import type { Client } from './client.js';
import type { NodeContext, StreamedSession } from './context.js';

/** A session keeps at most this many links (each may let many people in). */
const MAX_SHARES = 16;

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url');
}

/** What every link that does not open a session is told, whatever the reason: nobody learns which sessions exist. */
export const LINK_REFUSED = 'This link does not open a session: it may have been revoked or mistyped. Ask whoever shared it for a new link.';

/** Whether `secret` opens share `shareId` of `record`: the share, or why not (in words for people). */
export function checkShareLink(record: SessionRecord | null, shareId: string, secret: string, now: number): { share: ShareRecord } | { refused: string } {
  const share = record?.shares?.find((s) => s.id === shareId);
  if (!record || !share) return { refused: LINK_REFUSED };
  const presented = Buffer.from(hashSecret(secret));
  const kept = Buffer.from(share.hash);
  if (presented.length !== kept.length || !timingSafeEqual(presented, kept)) return { refused: LINK_REFUSED };
  if (record.state === 'ended') return { refused: `The session this link shared has ended${record.endMessage ? `: ${record.endMessage}` : '.'}` };
  if (share.expiresAt <= now) return { refused: `This link expired at ${new Date(share.expiresAt).toISOString().slice(11, 16)} UTC. Ask whoever shared it for a new link.` };
  return { share };
}

export class SessionSharing {
  constructor(
    private readonly ctx: Pick<NodeContext, 'config' | 'sessions' | 'audit' | 'log' | 'catalog'>,
    private readonly client: Client,
  ) {}

  /** A new link for the owner's session: `mode` what it lets people do, for `minutes` (the node's default if absent). */
  async create(id: number, session: StreamedSession, mode: ShareMode, minutes: number | undefined, guests = false): Promise<void> {
    const sharing = this.ctx.config.node.sharing;
    if (!sharing.enabled) return this.client.refuse(id, ErrorCode.linkRefused, 'Sharing sessions is turned off on this broker; ask your administrator.');
    if (guests && !sharing.guests) return this.client.refuse(id, ErrorCode.linkRefused, 'This broker does not allow links for guests: the people you share with sign in.');
    const lasts = Math.min(minutes ?? sharing.defaultMinutes, sharing.maxMinutes);
    const now = Date.now();
    const share: ShareRecord = { id: randomBytes(6).toString('base64url'), hash: '', mode, expiresAt: now + lasts * 60_000, createdAt: now, ...(guests ? { guests: true } : {}) };
    const secret = randomBytes(18).toString('base64url');
    share.hash = hashSecret(secret);
    let full = false;
    const shares = await this.ctx.sessions.changeShares(session.id, (current) => {
      full = current.length >= MAX_SHARES;
      return full ? current : [...current, share];
    });
    if (shares === null) return this.client.refuse(id, ErrorCode.sessionEnded, 'This session is no longer running.');
    if (full) return this.client.refuse(id, ErrorCode.limitReached, `This session has ${MAX_SHARES} links, the most it may have; revoke one you no longer need first.`);
    this.ctx.audit.record('session.share', { user: session.owner, address: this.client.address, session: session.id, app: session.app.id, target: share.id, detail: `${mode}, ${lasts} minutes${guests ? ', guests' : ''}` });
    await this.tell(id, session, { id: share.id, link: formatShareLink(session.id, share.id, secret) });
  }

  /** A link now lets people do `mode`: everyone who came through it is told at once. */
  async update(id: number, session: StreamedSession, shareId: string, mode: ShareMode): Promise<void> {
    let found = false;
    const shares = await this.ctx.sessions.changeShares(session.id, (current) =>
      current.map((share) => {
        if (share.id !== shareId) return share;
        found = true;
        return { ...share, mode };
      }),
    );
    if (shares === null) return this.client.refuse(id, ErrorCode.sessionEnded, 'This session is no longer running.');
    if (!found) return this.client.refuse(id, ErrorCode.badRequest, 'There is no such link on this session (it may have expired).');
    const owner = this.ownerName(session);
    session.watchers.setMode(shareId, mode, mode === 'type' ? `${owner} lets you type into this session now.` : `${owner} made this session view-only for you: you can watch, not type.`);
    this.ctx.audit.record('session.share-change', { user: session.owner, address: this.client.address, session: session.id, target: shareId, detail: mode });
    await this.tell(id, session);
  }

  /** Revokes a link: it opens nothing from now on, and everyone who came through it leaves at once. */
  async revoke(id: number, session: StreamedSession, shareId: string): Promise<void> {
    // The watchers leave first: revocation takes effect at once, even if the record is slow to change.
    session.watchers.removeShare(shareId, `${this.ownerName(session)} stopped sharing this session.`);
    const shares = await this.ctx.sessions.changeShares(session.id, (current) => current.filter((share) => share.id !== shareId));
    if (shares === null) return this.client.refuse(id, ErrorCode.sessionEnded, 'This session is no longer running.');
    this.ctx.audit.record('session.share-revoke', { user: session.owner, address: this.client.address, session: session.id, target: shareId });
    await this.tell(id, session);
  }

  /** Sends one watcher away (their link still works for others). */
  async removeWatcher(id: number, session: StreamedSession, watcherId: string): Promise<void> {
    const who = session.watchers.list().find((w) => w.id === watcherId);
    if (!who || !session.watchers.remove(watcherId, `${this.ownerName(session)} stopped you watching this session.`)) return this.client.refuse(id, ErrorCode.badRequest, 'That person is no longer watching.');
    this.ctx.audit.record('session.watcher-remove', { user: session.owner, address: this.client.address, session: session.id, target: who.user });
    await this.tell(id, session);
  }

  /** The owner as people know them (their display name). */
  private ownerName(session: StreamedSession): string {
    return this.ctx.catalog.identify(session.owner)?.displayName || session.owner;
  }

  /** Tells the owner the session's links and who watches (`made`: the link just made, shown this once). */
  async tell(id: number | null, session: StreamedSession, made?: { id: string; link: string }): Promise<void> {
    const found = await this.ctx.sessions.record(session.id).catch(() => null);
    const now = Date.now();
    const shares: ShareInfo[] = (found?.record.shares ?? [])
      .filter((share) => share.expiresAt > now)
      .map((share) => ({ id: share.id, mode: share.mode, expiresAt: share.expiresAt, ...(share.guests ? { guests: true } : {}), ...(made?.id === share.id ? { link: made.link } : {}) }));
    this.client.send({ type: 'session.sharing', id, sessionId: session.id, shares, watchers: session.watchers.list(), maxWatchers: this.ctx.config.node.sharing.maxWatchers, guestsAllowed: this.ctx.config.node.sharing.guests });
  }
}
