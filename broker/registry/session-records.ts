// The session records this node writes and reads in the control plane: a new
// session's, a restarted one's, ended ones (kept an hour, then swept), and the
// attached/hold fields any node lists. Every write is a compare-and-swap on the
// revision read, so two nodes never both win a change.
import type { SessionSummary } from '../../shared/protocol/index.js';
import { afterAttach, afterConfirm, afterResume, hashToken, retired, type TokenFields } from '../auth/resume-token.js';
import type { AppConfig } from '../config/schema.js';
import type { Cluster, VersionedSession } from '../cluster/cluster.js';
import type { SessionRecord, ShareRecord } from '../cluster/records.js';
import type { Logger } from '../log.js';
import type { Session } from '../session/session.js';

/** Ended sessions' records are kept this long, so a late client learns why. */
const REMEMBER_ENDED_MS = 60 * 60_000;

export class SessionRecords {
  /** The last input time written to each primary's record here (noteInput skips those with none since). */
  private readonly inputWritten = new Map<string, number>();

  constructor(
    private readonly cluster: Cluster,
    private readonly log: Logger,
  ) {}

  /** Records a session launched here with these standbys; false when its id is taken. */
  async create(session: Session, app: AppConfig, standbys: string[], grant: string | null): Promise<boolean> {
    const record: SessionRecord = {
      id: session.id,
      owner: session.owner,
      appId: app.id,
      appName: app.name,
      epoch: 1,
      primary: this.cluster.name,
      standbys,
      failover: app.failover,
      resumeTokenHash: hashToken(session.resumeToken),
      pendingTokenHash: null,
      tokenIssuedAt: Date.now(),
      ...(grant ? { grant } : {}),
      startedAt: session.startedAt,
      attached: true,
      holdExpiresAt: null,
      limits: session.limits,
      ...(session.recorded ? { recorded: true } : {}),
      endsAt: session.endsAt,
      state: 'running',
      endMessage: null,
      endedAt: null,
    };
    return (await this.cluster.createSession(record)) !== null;
  }

  /** Takes a dead primary's session over for a fresh start here, in epoch+1; null if another node did first. */
  async restart(found: VersionedSession, resumeToken: string, holdExpiresAt: number): Promise<SessionRecord | null> {
    const next: SessionRecord = {
      ...found.record,
      epoch: found.record.epoch + 1,
      primary: this.cluster.name,
      standbys: [],
      attached: false,
      holdExpiresAt,
      resumeTokenHash: hashToken(resumeToken),
      pendingTokenHash: null,
    };
    return (await this.cluster.swapSession(next, found.revision).catch(() => null)) === null ? null : next;
  }

  /** The session ended here (as primary of `session.epoch`): every node will say so, with `message`. */
  async markEnded(session: Session, message: string): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await this.cluster.getSession(session.id).catch(() => null);
      if (!current || current.record.epoch > session.epoch) return;
      const next: SessionRecord = { ...current.record, state: 'ended', endMessage: message, endedAt: Date.now(), attached: false, holdExpiresAt: null };
      if ((await this.cluster.swapSession(next, current.revision).catch(() => null)) !== null) return;
    }
  }

  /**
   * The session's primary node is gone and no standby is left to take over: the app's
   * state is lost. Marks the record ended (once, by CAS) and returns why, for people.
   */
  async lostWithHost(found: VersionedSession): Promise<string | null> {
    const record = found.record;
    const message =
      record.failover === 'none'
        ? `The server running ${record.appName} stopped. ${record.appName} is not kept across server failures (failover: none); launch it again.`
        : `The server running ${record.appName} stopped before a standby could take over; launch it again.`;
    const next: SessionRecord = { ...record, state: 'ended', endMessage: message, endedAt: Date.now(), attached: false, holdExpiresAt: null };
    const swapped = await this.cluster.swapSession(next, found.revision).catch(() => null);
    if (swapped === null) return null;
    this.log.warn('session lost with its host', { session: record.id, user: record.owner, app: record.appId, primary: record.primary });
    return message;
  }

  /**
   * Keeps the record's attached / hold / use fields in step with the primary here (for
   * sessions.list and the Admin page on any node); `address`: a client attached from it.
   */
  async noteAttachment(session: Session, address?: string): Promise<void> {
    const current = await this.cluster.getSession(session.id).catch(() => null);
    if (!current || current.record.epoch !== session.epoch || current.record.state !== 'running') return;
    const now = Date.now();
    const next: SessionRecord = {
      ...current.record,
      attached: session.attached,
      holdExpiresAt: session.holdExpiresAt,
      endsAt: session.endsAt,
      lastInputAt: session.lastInputAt,
      lastUsedAt: address === undefined && current.record.lastUsedAt !== undefined && !current.record.attached && !session.attached ? current.record.lastUsedAt : now,
      ...(address !== undefined ? { clientAddress: address } : {}),
    };
    if ((await this.cluster.swapSession(next, current.revision).catch(() => null)) !== null) this.inputWritten.set(session.id, session.lastInputAt);
  }

  /**
   * Writes the last input time of the primaries here that had input since it was last
   * written: once a minute (the node's sweep), not per keystroke, which would write to
   * the control plane at typing speed.
   */
  async noteInput(primaries: Session[]): Promise<void> {
    const here = new Set(primaries.map((s) => s.id));
    for (const id of this.inputWritten.keys()) if (!here.has(id)) this.inputWritten.delete(id);
    for (const session of primaries) {
      const written = this.inputWritten.get(session.id);
      if (written !== undefined && written >= session.lastInputAt) continue;
      const current = await this.cluster.getSession(session.id).catch(() => null);
      if (!current || current.record.epoch !== session.epoch || current.record.state !== 'running') continue;
      const lastInputAt = session.lastInputAt;
      const next: SessionRecord = { ...current.record, lastInputAt, lastUsedAt: Math.max(current.record.lastUsedAt ?? 0, lastInputAt) };
      if ((await this.cluster.swapSession(next, current.revision).catch(() => null)) !== null) this.inputWritten.set(session.id, lastInputAt);
    }
  }

  /**
   * Answers a resume (`presented`: which of the record's tokens was shown) or an attach
   * (null) with a new token, by CAS on the record as read: false if it changed
   * meanwhile (another resume raced this one), and the caller refuses.
   */
  async issueToken(found: VersionedSession, presented: 'current' | 'pending' | null, next: string, grant: string | null): Promise<boolean> {
    const hash = hashToken(next);
    const fields = presented === null ? afterAttach(hash, grant, Date.now()) : afterResume(found.record, presented, hash, grant, Date.now());
    return (await this.cluster.swapSession({ ...found.record, ...fields }, found.revision).catch(() => null)) !== null;
  }

  /** The client used the stream it resumed with `token`: it is the only token now. */
  confirmToken(id: string, token: string): Promise<void> {
    const hash = hashToken(token);
    return this.update(id, (record) => afterConfirm(record, hash));
  }

  /** Retires the resume tokens `owner`'s sessions were given under these sign-ins (a sign-out there). */
  async retireTokens(owner: string, grants: string[]): Promise<number> {
    if (grants.length === 0) return 0;
    const records = (await this.cluster.listSessions()).filter((v) => v.record.owner === owner && v.record.state === 'running' && v.record.grant !== undefined && grants.includes(v.record.grant));
    await Promise.all(records.map((v) => this.update(v.record.id, (record) => (record.grant !== undefined && grants.includes(record.grant) ? retired() : null))));
    return records.length;
  }

  /**
   * Changes a running session's share links by CAS (expired ones are dropped on the
   * way); returns them after the change, or null when the session is not running.
   */
  async changeShares(id: string, change: (shares: ShareRecord[]) => ShareRecord[]): Promise<ShareRecord[] | null> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await this.cluster.getSession(id).catch(() => null);
      if (!current || current.record.state !== 'running') return null;
      const now = Date.now();
      const shares = change((current.record.shares ?? []).filter((share) => share.expiresAt > now));
      if ((await this.cluster.swapSession({ ...current.record, shares }, current.revision).catch(() => null)) !== null) return shares;
    }
    throw new Error('the session record kept changing; try again');
  }

  /** Changes a running record's token fields by CAS, reading again when another write came first. */
  private async update(id: string, change: (record: TokenFields) => Partial<TokenFields> | null): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await this.cluster.getSession(id).catch(() => null);
      if (!current || current.record.state !== 'running') return;
      const fields = change(current.record);
      if (fields === null) return;
      if ((await this.cluster.swapSession({ ...current.record, ...fields }, current.revision).catch(() => null)) !== null) return;
    }
  }

  /** `owner`'s running sessions, cluster-wide. */
  async summaries(owner: string): Promise<SessionSummary[]> {
    const records = await this.cluster.listSessions();
    return records
      .map((v) => v.record)
      .filter((r) => r.owner === owner && r.state === 'running')
      .map((r) => ({ sessionId: r.id, appId: r.appId, appName: r.appName, startedAt: r.startedAt, lastUsedAt: r.lastUsedAt ?? r.startedAt, attached: r.attached, holdExpiresAt: r.holdExpiresAt, endsAt: endsAtOf(r), ...(r.recorded ? { recorded: true } : {}) }));
  }

  /** Drops records of sessions that ended over an hour ago. */
  async sweep(): Promise<void> {
    const now = Date.now();
    for (const { record, revision } of await this.cluster.listSessions()) {
      if (record.state === 'ended' && record.endedAt !== null && now - record.endedAt > REMEMBER_ENDED_MS) await this.cluster.deleteSession(record.id, revision);
    }
  }
}

/** When a listed session ends on its own: what its primary said last, else its maximum length from its start. */
function endsAtOf(record: SessionRecord): number | null {
  if (record.endsAt !== undefined) return record.endsAt;
  const max = record.limits?.maxSeconds;
  return max ? record.startedAt + max * 1000 : null;
}
