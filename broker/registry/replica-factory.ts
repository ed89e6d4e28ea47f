// Makes the Session of one replica on this node from its app and the node's settings:
// its sandbox profile, window and hold time, whether its log is kept and replicated,
// and, for `failover: restart` apps on shared storage, a home that outlives it. It
// also times each launch (sandbox start → taking input) for the metrics.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { SandboxProfile, type AppConfig, type NodeConfig } from '../config/schema.js';
import type { SandboxHost } from '../host/sandbox-host.js';
import type { Screens } from '../host/screens.js';
import { lockstepLibrary } from '../host/lockstep-clock.js';
import type { Logger } from '../log.js';
import type { NodeMetrics } from '../metrics.js';
import type { EndReason } from '../session/end-reason.js';
import { Session } from '../session/session.js';
import type { SessionLimits } from '../session/session-policy.js';
import type { Recordings } from '../session/recordings.js';
import type { PrintingDeps } from '../host/session-printing.js';

export const DEFAULT_PROFILE: SandboxProfile = SandboxProfile.parse({});

export interface ReplicaSpec {
  role: 'primary' | 'standby';
  epoch: number;
  owner: string;
  app: AppConfig;
  cols: number;
  rows: number;
  /** A GUI app: its launching screen's device pixels per CSS pixel (host/sandbox.ts scaleSettings). */
  scale?: number;
  id: string;
  resumeToken?: string;
  startedAt?: number;
  /** Input numbering continues after this (a restarted app). */
  inputBase?: number;
  /** A standby: the key its primary runs the shim with (absent: the primary does not). */
  lockstepKey?: Uint8Array;
  /** A standby placed after its session started: its app's timers fast-forward to the primary's clocks. */
  fastForward?: boolean;
  /** Its session policy's limits (absent: the node's hold time, no idle or length limit). */
  limits?: SessionLimits;
  /** Its session policy records it (a terminal app's replica then writes a copy). */
  recorded?: boolean;
}

export interface ReplicaFactoryOptions {
  config: NodeConfig;
  sandbox: SandboxHost;
  screens: Screens;
  metrics: NodeMetrics;
  log: Logger;
  /** False while this node must not act as a primary (no valid control-plane lease). */
  mayAct: () => boolean;
  /** Replicas (primary included) an app runs as: more than one keeps and replicates the log. */
  replicasFor: (app: AppConfig) => number;
  /** How a replicated session's log reaches its standbys' nodes. */
  send: (to: string, frame: Uint8Array) => void;
  /** A replica's app ended, or the replica was ended. */
  ended: (session: Session, reason: EndReason) => void;
  /** A primary's hold, warning or deadline changed: its record should say so. */
  deadlinesChanged: (session: Session) => void;
  /** What a replica's app prints reaches its person (host/session-printing.ts); absent: no printing. */
  printing?: PrintingDeps;
  /** Where recorded sessions' copies go (session/recordings.ts). */
  recordings: Recordings;
}

export class ReplicaFactory {
  /** The lockstep shim, when it was built (dist/broker/holdfast-lockstep.so). */
  private readonly library = lockstepLibrary();

  constructor(private readonly options: ReplicaFactoryOptions) {
    if (!this.library) options.log.warn('the lockstep shim was not built (npm run build): lockstep apps read each host’s own clock and randomness, and those that show them diverge');
  }

  make(spec: ReplicaSpec): Session {
    const { config, sandbox, screens, log } = this.options;
    const replicated = this.options.replicasFor(spec.app) > 1;
    const { recorded, ...rest } = spec;
    const session: Session = new Session({
      ...rest,
      profile: config.sandboxProfiles[spec.app.sandbox] ?? DEFAULT_PROFILE,
      stateDir: config.node.stateDir,
      sandbox,
      window: config.node.outputWindowBytes,
      holdSeconds: config.node.sessionHoldSeconds,
      screens,
      homeDir: spec.role === 'primary' ? this.homeFor(spec.app, spec.id) : undefined,
      mayAct: this.options.mayAct,
      keepLog: replicated,
      logSpool: { dir: join(config.node.stateDir, 'log-spool'), reserveBytes: config.node.diskReserveMiB * 1024 * 1024 },
      // A replicated session's log goes to its standbys (none yet on a standby: it gets them if promoted).
      replicate: replicated ? this.options.send : null,
      ...this.lockstep(spec, replicated),
      onEnd: (done, reason) => this.options.ended(done, reason),
      onDeadlines: (changed) => this.options.deadlinesChanged(changed),
      warn: (message, fields) => log.warn(message, fields),
      ...(this.options.printing ? { printing: this.options.printing } : {}),
      ...(recorded ? { recordings: this.options.recordings } : {}),
    });
    this.timeLaunch(session);
    return session;
  }

  /**
   * A new replicated lockstep session gets a fresh key; a standby takes its primary's
   * (and runs the shim exactly when its primary does: replicas must read alike).
   */
  private lockstep(spec: ReplicaSpec, replicated: boolean): { lockstep?: { library: string; key: Uint8Array; fastForward?: boolean } } {
    const key = spec.role === 'standby' ? spec.lockstepKey : replicated && spec.app.failover === 'lockstep' && spec.app.replicateTime ? randomBytes(32) : undefined;
    if (!key) return {};
    if (!this.library) {
      this.options.log.warn('a standby cannot run the lockstep shim its primary runs (not built here): it will diverge', { session: spec.id });
      return {};
    }
    return { lockstep: { library: this.library, key, ...(spec.fastForward ? { fastForward: true } : {}) } };
  }

  /** A `failover: restart` session ended for good: its home on shared storage goes. */
  removeHome(session: Session): void {
    const shared = this.options.config.cluster.sharedDir;
    if (session.app.failover === 'restart' && shared) rmSync(join(shared, 'homes', session.id), { recursive: true, force: true });
  }

  /** Where a failover: restart app keeps its files: on shared storage, so a restart elsewhere finds them. */
  private homeFor(app: AppConfig, id: string): string | undefined {
    const shared = this.options.config.cluster.sharedDir;
    if (app.failover !== 'restart' || !shared) return undefined;
    // Sandboxes run as their own users: they must be able to pass through to their home
    // (sharedDir itself, if it exists already, needs o+x: docs/operations.md).
    mkdirSync(join(shared, 'homes'), { recursive: true, mode: 0o711 });
    chmodSync(join(shared, 'homes'), 0o711);
    const home = join(shared, 'homes', id);
    mkdirSync(home, { recursive: true, mode: 0o700 });
    return home;
  }

  /** Observes how long the app took from its sandbox starting to taking input. */
  private timeLaunch(session: Session): void {
    const started = performance.now();
    const check = setInterval(() => {
      const elapsed = performance.now() - started;
      if (session.endMessage !== null || elapsed > 60_000) return clearInterval(check);
      if (!session.displayReady) return;
      clearInterval(check);
      this.options.metrics.sandboxLaunch.observe({ display: session.app.display }, elapsed / 1000);
    }, 25);
    check.unref();
  }
}
