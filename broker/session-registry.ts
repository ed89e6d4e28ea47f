// The sessions running on this node, by id and by owner.
import type { AppConfig, NodeConfig, SandboxProfile } from './config/schema.js';
import type { Logger } from './log.js';
import { Session } from './session.js';

export const DEFAULT_PROFILE: SandboxProfile = { network: false, readOnlyPaths: [], maxMemoryMiB: 2048 };

export class SessionRegistry {
  private readonly sessions = new Map<string, Session>();

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
      onEnd: (ended, exit) => {
        this.sessions.delete(ended.id);
        this.log.info('session ended', { session: ended.id, user: owner, app: app.id, exitCode: exit.exitCode, signal: exit.signal });
      },
    });
    this.sessions.set(session.id, session);
    this.log.info('session started', { session: session.id, user: owner, app: app.id, pid: session.pid });
    return session;
  }

  end(session: Session): void {
    session.end();
  }

  get size(): number {
    return this.sessions.size;
  }

  all(): Session[] {
    return [...this.sessions.values()];
  }

  endAll(): void {
    for (const session of this.sessions.values()) session.end();
  }
}
