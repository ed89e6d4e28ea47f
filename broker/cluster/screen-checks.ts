// Do a session's replicas still show the same screen and keep the same files? A
// primary compares screen hashes and home digests with each standby while the session
// is quiet, and a new standby joins the replica set only once both equal the
// primary's at the same log index. A standby that differs is diverged: logged,
// counted, ended and replaced — so data never changes silently across a failover.
import type { Failover } from './failover.js';
import { MAX_DIVERGENCES, type Replica, type ReplicaSession, type ReplicaSetHost } from './replica.js';
import { sleep } from '../sleep.js';

/**
 * How often a primary compares screens with its standbys (when the session is quiet
 * and something changed since the last check). With QUIET_INPUT_MS, a person who
 * pauses for a second between bursts of typing is checked in the pause; at 1 s and
 * 0.7 s, pauses of 1.2 s went unchecked.
 */
export const HASH_CHECK_MS = 500;
/** Quiet means no input for this long… */
const QUIET_INPUT_MS = 300;
/** …and no output for this long. */
const QUIET_OUTPUT_MS = 300;
/** Files that differ are looked at this many times, this far apart, before the standby is called diverged (about 2 s in all). */
const FILE_LOOKS = 4;
const FILE_SETTLE_MS = 600;

export class ScreenChecks {
  constructor(
    private readonly host: ReplicaSetHost,
    /** Drops a diverged standby from the replica set (and places a new one). */
    private readonly failover: Pick<Failover, 'dropStandby'>,
  ) {}

  /** A learner caught up: it joins the replica set once its screen equals ours at the same index. */
  async join(replica: Replica, name: string): Promise<void> {
    const session = replica.session;
    let differs: 'screen' | 'files' = 'screen';
    for (let attempt = 0; attempt < 8 && session.endMessage === null && replica.session.replicator?.members.has(name); attempt++) {
      await this.waitQuiet(replica);
      const [ours, theirs] = await Promise.all([this.quietLook(session, session.log.length), this.remoteLook(replica, name)]);
      if (ours !== null && theirs !== null) differs = difference(ours, theirs) ?? (ours.hash === null || ours.hash !== theirs.hash ? 'screen' : differs);
      if (ours !== null && theirs !== null && ours.hash !== null && ours.hash === theirs.hash && difference(ours, theirs) === null) {
        const current = await this.host.cluster.getSession(session.id);
        if (!current || current.record.epoch !== session.epoch || current.record.primary !== this.host.self) return this.host.stepDown(replica, 'a newer primary took over');
        const next = { ...current.record, standbys: [...new Set([...current.record.standbys, name])] };
        if ((await this.host.cluster.swapSession(next, current.revision)) === null) continue;
        const through = session.replicator?.setVoting(name) ?? 0;
        if (through > 0) session.log.commitThrough(through);
        this.host.note('standby-joined', session.id, session.app.id, `${name} joined at log index ${session.log.length}`);
        this.host.log.info('standby joined', { session: session.id, user: session.owner, peer: name, logIndex: session.log.length });
        return;
      }
      await sleep(300);
    }
    if (!replica.session.replicator?.members.has(name) || session.endMessage !== null) return;
    this.diverged(replica, name, `its ${differs} never matched the primary’s after replaying the log`);
  }

  /** Compares screens with each voting standby while the session is quiet. */
  async checkHashes(replica: Replica): Promise<void> {
    const session = replica.session;
    if (session.role !== 'primary' || session.endMessage !== null || !replica.session.replicator) return;
    const voters = replica.session.replicator.voters();
    if (voters.length === 0 || !this.isQuiet(replica)) return;
    const mark = `${session.log.length}:${session.outputBytes}`;
    if (mark === replica.checkedAt) return;
    const ours = await this.quietLook(session, session.log.length);
    if (ours === null) return;
    let clean = true;
    for (const name of voters) {
      const theirs = await this.remoteLook(replica, name);
      if (theirs === null || difference(ours, theirs) === null) continue;
      // Differ once: maybe a late byte, or a file being written. Look again before calling
      // it divergence; files longer than screens: a busy standby's app may still be
      // writing what its screen already shows (saving shows nothing), which no output
      // marks the end of (seen under load: xedit's save, git's commit). A graphical
      // app's screen too: nothing paces its standby by output, and its app may still be
      // drawing its answer to the last input when its screen is looked at (seen under
      // load: xterm's standby, a command's output not yet drawn).
      const gui = session.app.display === 'rfb';
      let differs: 'screen' | 'files' | null = null;
      for (let look = 0; look < FILE_LOOKS; look++) {
        await sleep(look === 0 ? QUIET_OUTPUT_MS : FILE_SETTLE_MS);
        const [again, theirsAgain] = await Promise.all([this.quietLook(session, session.log.length), this.remoteLook(replica, name)]);
        differs = again !== null && theirsAgain !== null ? difference(again, theirsAgain) : null;
        if (differs === null || (differs === 'screen' && !gui)) break;
      }
      if (differs !== null) {
        clean = false;
        this.diverged(replica, name, differs === 'screen' ? 'its screen differs from the primary’s' : 'its files differ from the primary’s');
      }
    }
    if (clean) replica.checkedAt = mark;
  }

  private diverged(replica: Replica, name: string, why: string): void {
    const session = replica.session;
    replica.divergences += 1;
    this.host.note('divergence', session.id, session.app.id, `${name}: ${why}`);
    this.host.log.warn('standby diverged', { session: session.id, user: session.owner, app: session.app.id, peer: name, reason: why, divergences: replica.divergences });
    if (replica.divergences >= MAX_DIVERGENCES) this.host.log.error('app output is not deterministic: the session runs on without standbys', { session: session.id, user: session.owner, app: session.app.id });
    this.host.sendTo(name, { type: 'replica.end', sessionId: session.id, epoch: session.epoch, message: 'diverged' });
    void this.failover.dropStandby(replica, name, why);
  }

  private isQuiet(replica: Replica): boolean {
    const now = performance.now();
    return now - (replica.session.replicator?.lastEntryAt ?? 0) > QUIET_INPUT_MS && now - replica.session.lastOutputAt > QUIET_OUTPUT_MS;
  }

  private async waitQuiet(replica: Replica): Promise<void> {
    for (let i = 0; i < 20 && !this.isQuiet(replica); i++) await sleep(100);
  }

  /** What this replica shows and keeps once it has applied `index` and gone quiet; null if it cannot say. */
  async quietLook(session: ReplicaSession, index: number): Promise<Look | null> {
    for (let i = 0; i < 20 && (session.log.appliedIndex < index || performance.now() - session.lastOutputAt < QUIET_OUTPUT_MS); i++) await sleep(50);
    if (session.log.appliedIndex !== index) return null;
    const { index: at, hash, files } = await session.screenHash();
    return at === index ? { hash, files } : null;
  }

  private async remoteLook(replica: Replica, name: string): Promise<Look | null> {
    const session = replica.session;
    const reply = await this.host.request(name, { type: 'hash.request', sessionId: session.id, epoch: session.epoch, index: session.log.length, request: 0 }, 3000);
    return reply?.type === 'hash.reply' ? { hash: reply.hash, files: reply.files ?? null } : null;
  }
}

/** What a replica shows (its screen's hash) and keeps (its files' digest); null where it cannot say now. */
export interface Look {
  hash: string | null;
  files: string | null;
}

/** Where two replicas differ — the screen first — or null (alike, as far as both can say). */
export function difference(a: Look, b: Look): 'screen' | 'files' | null {
  if (a.hash !== null && b.hash !== null && a.hash !== b.hash) return 'screen';
  if (a.files !== null && b.files !== null && a.files !== b.files) return 'files';
  return null;
}
