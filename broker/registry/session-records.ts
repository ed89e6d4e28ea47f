// The session records this node writes and reads in the control plane: a new
// session's, a restarted one's, ended ones (kept an hour, then swept), and the
// attached/hold fields any node lists. Every write is a compare-and-swap on the
// revision read, so two nodes never both win a change.
import type { SessionSummary } from '../../shared/protocol/index.js';
import { hashToken } from '../auth/resume-token.js';
import type { AppConfig } from '../config/schema.js';
import type { Cluster, VersionedSession } from '../cluster/cluster.js';
import type { SessionRecord } from '../cluster/records.js';
import type { Logger } from '../log.js';
import type { Session } from '../session/session.js';

/** Ended sessions' records are kept this long, so a late client learns why. */
const REMEMBER_ENDED_MS = 60 * 60_000;

export class SessionRecords {
  constructor(
    private readonly cluster: Cluster,
    private readonly log: Logger,
  ) {}

  /** Records a session launched here with these standbys; false when its id is taken. */
  async create(session: Session, app: AppConfig, standbys: string[]): Promise<boolean> {
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
      startedAt: session.startedAt,
      attached: true,
      holdExpiresAt: null,
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

  /** Keeps the record's attached / hold fields in step with the primary here (for sessions.list on any node). */
  async noteAttachment(session: Session): Promise<void> {
    const current = await this.cluster.getSession(session.id).catch(() => null);
    if (!current || current.record.epoch !== session.epoch || current.record.state !== 'running') return;
    const next = { ...current.record, attached: session.attached, holdExpiresAt: session.holdExpiresAt };
    await this.cluster.swapSession(next, current.revision).catch(() => null);
  }

  /** `owner`'s running sessions, cluster-wide. */
  async summaries(owner: string): Promise<SessionSummary[]> {
    const records = await this.cluster.listSessions();
    return records
      .map((v) => v.record)
      .filter((r) => r.owner === owner && r.state === 'running')
      .map((r) => ({ sessionId: r.id, appId: r.appId, appName: r.appName, startedAt: r.startedAt, attached: r.attached, holdExpiresAt: r.holdExpiresAt }));
  }

  /** Drops records of sessions that ended over an hour ago. */
  async sweep(): Promise<void> {
    const now = Date.now();
    for (const { record, revision } of await this.cluster.listSessions()) {
      if (record.state === 'ended' && record.endedAt !== null && now - record.endedAt > REMEMBER_ENDED_MS) await this.cluster.deleteSession(record.id, revision);
    }
  }
}
