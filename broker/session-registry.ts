// The sessions on this node, and a short memory of the ones that ended, so a person
// coming back to one is told why it is gone (only if they prove it was theirs).
import type { SessionSummary } from '../shared/protocol/index.js';
import type { AppConfig, NodeConfig, SandboxProfile } from './config/schema.js';
import type { Logger } from './log.js';
import { Screens } from './host/screens.js';
import { Session } from './session.js';

export const DEFAULT_PROFILE: SandboxProfile = { network: false, readOnlyPaths: [], maxMemoryMiB: 2048 };

const REMEMBER_ENDED_MS = 60 * 60_000;
const REMEMBER_ENDED_MAX = 10_000;

export interface EndedSession {
  owner: string;
  message: string;
  at: number;
  resumeToken: string;
}

export type Lookup =
  | { found: 'running'; session: Session }
  | { found: 'ended'; ended: EndedSession }
  | { found: 'none' };

export class SessionRegistry {
  private readonly sessions = new Map<string, Session>();
  private readonly ended = new Map<string, EndedSession>();
  readonly screens = new Screens();

  constructor(
    private readonly config: NodeConfig,
    private readonly log: Logger,
  ) {}

  launch(owner: string, app: AppConfig, cols: number, rows: number): Session {
    const profile = this.config.sandboxProfiles[app.sandbox] ?? DEFAULT_PROFILE;
    const session = new Session({
      owner,
      app,
      profile,
      stateDir: this.config.node.stateDir,
      cols,
      rows,
      window: this.config.node.outputWindowBytes,
      holdSeconds: this.config.node.sessionHoldSeconds,
      screens: this.screens,
      onEnd: (done, message) => {
        this.sessions.delete(done.id);
        this.remember(done, message);
        this.log.info('session ended', { session: done.id, user: owner, app: app.id, reason: message });
      },
    });
    this.sessions.set(session.id, session);
    this.log.info('session started', { session: session.id, user: owner, app: app.id, pid: session.pid });
    return session;
  }

  lookup(id: string): Lookup {
    const session = this.sessions.get(id);
    if (session) return { found: 'running', session };
    const ended = this.ended.get(id);
    return ended ? { found: 'ended', ended } : { found: 'none' };
  }

  summaries(owner: string): SessionSummary[] {
    return this.all()
      .filter((s) => s.owner === owner)
      .map((s) => ({ sessionId: s.id, appId: s.app.id, appName: s.app.name, startedAt: s.startedAt, attached: s.attached, holdExpiresAt: s.holdExpiresAt }));
  }

  all(): Session[] {
    return [...this.sessions.values()];
  }

  async stop(): Promise<void> {
    for (const session of this.sessions.values()) session.end('The broker node was shut down.');
    await this.screens.stop();
  }

  private remember(session: Session, message: string): void {
    const now = Date.now();
    if (this.ended.size >= REMEMBER_ENDED_MAX) {
      for (const [id, record] of this.ended) {
        if (now - record.at > REMEMBER_ENDED_MS || this.ended.size >= REMEMBER_ENDED_MAX) this.ended.delete(id);
        else break;
      }
    }
    this.ended.set(session.id, { owner: session.owner, message, at: now, resumeToken: session.resumeToken });
  }
}
