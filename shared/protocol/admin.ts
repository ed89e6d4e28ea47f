// The operators' HTTP API (docs/protocol.md#admin-api): what GET /api/status returns
// and what the admin actions take. Schemas here, so the admin page and `holdfast`
// parse what a node sends as unknown, like every other boundary.
import { z } from 'zod';

export const ClusterEventSchema = z.object({
  at: z.number(),
  kind: z.enum(['failover', 'restart', 'divergence', 'handover', 'standby-joined', 'standby-dropped', 'drain', 'undrain']),
  node: z.string(),
  session: z.string().nullable(),
  app: z.string().nullable(),
  detail: z.string(),
});
export type ClusterEventInfo = z.infer<typeof ClusterEventSchema>;

export const DrainStateSchema = z.object({
  startedAt: z.number(),
  finishedAt: z.number().nullable(),
  moved: z.number().int(),
  staying: z.array(z.object({ session: z.string(), app: z.string(), reason: z.string() })),
});
export type DrainStateInfo = z.infer<typeof DrainStateSchema>;

export const NodeStatusSchema = z.object({
  name: z.string(),
  url: z.string(),
  pid: z.number(),
  version: z.string().nullable(),
  load: z.number(),
  accepting: z.boolean(),
  draining: z.boolean(),
  leaseId: z.string(),
  /** null when the node did not answer the status call. */
  counters: z.record(z.string(), z.number()).nullable(),
  drain: DrainStateSchema.nullable(),
  /** How the node confines its apps: the limits mechanism, the seccomp filter, its users, terminals and homes (null: did not answer; absent: an older node). */
  sandbox: z.object({ limits: z.string(), seccomp: z.string(), users: z.string().optional(), terminals: z.string().optional(), homes: z.string().optional() }).nullable().optional(),
});
export type NodeStatus = z.infer<typeof NodeStatusSchema>;

export const SessionStatusSchema = z.object({
  id: z.string(),
  user: z.string(),
  app: z.string(),
  /** Only running sessions are listed. */
  state: z.literal('running'),
  epoch: z.number(),
  primary: z.string(),
  standbys: z.array(z.string()),
  /** A client streams it; false: it waits for its client for the hold time. */
  attached: z.boolean(),
  /** When it started, and (waiting for its client) until when it waits; optional: older nodes do not say. */
  startedAt: z.number().optional(),
  holdExpiresAt: z.number().nullable().optional(),
  /** When its person last typed or clicked in it (the Admin page's "idle for"); optional: older nodes do not say. */
  lastInputAt: z.number().optional(),
  /** The address of the client attached to it, or that was last. */
  clientAddress: z.string().optional(),
  /** Log index each replica holds, by node. */
  logIndex: z.record(z.string(), z.number()),
  /** Entries each standby has yet to apply of what its primary has, by node (0: in step). */
  lag: z.record(z.string(), z.number()),
  /**
   * In a cluster, whether the session survives the death of its primary's host:
   * protected (a standby in step), catching-up (a new standby still replaying), or
   * unprotected (none: it would be lost). Absent on a single node, and from older nodes.
   */
  protection: z.enum(['protected', 'catching-up', 'unprotected']).optional(),
});
export type SessionStatus = z.infer<typeof SessionStatusSchema>;

/**
 * An app whose standbys diverged from their primaries (on the nodes that answered,
 * since they started): the evidence for its catalog entry's `failover` choice.
 */
export const AppDivergenceSchema = z.object({
  app: z.string(),
  /** Standbys found diverged. */
  divergences: z.number().int(),
  /** Sessions they belonged to. */
  sessions: z.number().int(),
  /** Of those, sessions left running without a standby (MAX_DIVERGENCES reached). */
  unprotected: z.number().int(),
  /** Why, the last time. */
  lastDetail: z.string(),
  lastAt: z.number(),
  /** Its catalog entry's failover (null: no longer in the catalog). */
  failover: z.enum(['lockstep', 'restart', 'none']).nullable(),
});
export type AppDivergence = z.infer<typeof AppDivergenceSchema>;

export const ClusterStatusSchema = z.object({
  /** The node that answered. */
  node: z.string(),
  nodes: z.array(NodeStatusSchema),
  sessions: z.array(SessionStatusSchema),
  /** Recent failovers, divergences, moves and drains on every node, newest first. */
  events: z.array(ClusterEventSchema),
  /** Apps whose standbys diverged, most divergences first (absent from older nodes). */
  apps: z.array(AppDivergenceSchema).optional(),
});
export type ClusterStatus = z.infer<typeof ClusterStatusSchema>;

/** POST /api/sessions/ID/move */
export const MoveRequestSchema = z.object({ to: z.string().min(1).max(64).optional() }).strict();

/** Every admin API error: a code for scripts, a message for people. */
export const AdminErrorSchema = z.object({ error: z.string(), message: z.string() });
