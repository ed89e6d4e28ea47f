// What a session is made from (session.ts): who and what it runs, where, its role in
// its replica set, and how it reaches the node around it.
import type { AppConfig, SandboxProfile } from '../config/schema.js';
import type { AppExit } from '../host/app-process.js';
import type { Screens } from '../host/screens.js';
import type { SandboxHost } from '../host/sandbox-host.js';
import type { PrintingDeps } from '../host/session-printing.js';
import type { LogSpoolOptions } from './log-spool.js';
import type { EndReason } from './end-reason.js';
import type { SessionLimits } from './session-policy.js';
import type { RecordingHeader, ReplicaRecording } from './recording.js';

/** `S`: the session these are for (session.ts's Session; generic so this module need not import it). */
export interface SessionOptions<S> {
  /** Given for a standby (the primary chose them); fresh ones for a new session. */
  id?: string;
  resumeToken?: string;
  startedAt?: number;
  role: 'primary' | 'standby';
  epoch: number;
  owner: string;
  app: AppConfig;
  profile: SandboxProfile;
  stateDir: string;
  sandbox: SandboxHost;
  cols: number;
  rows: number;
  /** A GUI app: its launching screen's device pixels per CSS pixel (host/sandbox.ts scaleSettings); every replica starts with it. */
  scale?: number;
  window: number;
  holdSeconds: number;
  /** Its session policy's limits (session-policy.ts); absent: the hold time, and no idle or length limit. */
  limits?: SessionLimits;
  /** Its hold, a warning or its deadlines changed: what the session's record shows should follow. */
  onDeadlines?: (session: S) => void;
  screens: Screens;
  /** A home that outlives the app (failover: restart). */
  homeDir?: string;
  /** Keep applied entries' bytes: a replica set needs the whole log to start new standbys. */
  keepLog: boolean;
  /** Where a kept log's uploaded bytes go on the node's disk (log-spool.ts); absent: its memory. */
  logSpool?: LogSpoolOptions;
  /** Input numbering continues after this (a restarted app: the client's earlier inputs went to the old one). */
  inputBase?: number;
  /** How a replicated session reaches its standbys' nodes (null: never replicated). */
  replicate: ((to: string, frame: Uint8Array) => void) | null;
  /**
   * Lockstep through the shim (host/lockstep-clock.ts): the built library and the
   * session's key. Its replicas read the wall clock from the log and randomness from
   * the key, so they stay in step. Absent: the app reads the host's. `fastForward`: a
   * standby placed after the session started (its timers catch up to the primary's clocks).
   */
  lockstep?: { library: string; key: Uint8Array; fastForward?: boolean };
  /** False while this node must not act as a primary (its control-plane lease is not valid). */
  mayAct: () => boolean;
  onEnd: (session: S, reason: EndReason, exit: AppExit | null) => void;
  /** Operator-facing warnings (a GUI display that failed). */
  warn: (message: string, fields: Record<string, unknown>) => void;
  /** What its app prints reaches its person (host/session-printing.ts); absent: the app has no printer. */
  printing?: PrintingDeps;
  /** Where its replica's recording goes (recordings.ts), when the session is recorded; absent: not recorded. */
  recordings?: { start(header: Omit<RecordingHeader, 'node'>, replaying: boolean): ReplicaRecording };
}
