// What the control plane holds, as schemas: a record per live node (under its lease)
// and a record per session (its replica set and epoch). Both are parsed as unknown
// when read back: the control plane is a boundary like any other.
import { z } from 'zod';
import { PREFIX } from '../control-plane/keys.js';

export const NODES = `${PREFIX}nodes/`;
export const SESSIONS = `${PREFIX}sessions/`;

export const NodeRecord = z.object({
  name: z.string(),
  url: z.string(),
  pid: z.number().int(),
  /** Replicas this node hosts (primaries and standbys): what placement balances. */
  load: z.number().int().min(0),
  /** False while the node cannot take new sessions (it lost the control plane, or drains). */
  accepting: z.boolean(),
  startedAt: z.number(),
  leaseId: z.string(),
  /** Optional, so nodes of the previous version (without them) still parse during a rolling upgrade. */
  version: z.string().optional(),
  /** Set while an administrator drains the node: it takes no new sessions and moves its primaries away. */
  draining: z.boolean().optional(),
});
export type NodeRecord = z.infer<typeof NodeRecord>;

/** One of a session's share links, as its record keeps it (the secret only as its sha256). */
export const ShareRecord = z.object({
  id: z.string().max(64),
  hash: z.string().max(128),
  mode: z.enum(['view', 'type']),
  expiresAt: z.number(),
  createdAt: z.number(),
  /** Lets people in without signing in (a name only), where the node allows guests. */
  guests: z.boolean().optional(),
});
export type ShareRecord = z.infer<typeof ShareRecord>;

export const SessionRecord = z.object({
  id: z.string(),
  owner: z.string(),
  appId: z.string(),
  appName: z.string(),
  /** Raised by one on every promotion, by compare-and-swap; hosts refuse lower epochs. */
  epoch: z.number().int().min(1),
  primary: z.string(),
  standbys: z.array(z.string()),
  failover: z.enum(['lockstep', 'restart', 'none']),
  /** sha256 of the resume token: any gateway can check a token without holding it. */
  resumeTokenHash: z.string(),
  /** The resume tokens' lifecycle (auth/resume-token.ts); optional, so records of the previous version still parse. */
  pendingTokenHash: z.string().nullable().optional(),
  tokenIssuedAt: z.number().optional(),
  grant: z.string().optional(),
  startedAt: z.number(),
  attached: z.boolean(),
  holdExpiresAt: z.number().nullable(),
  /**
   * Its session policy's limits, settled at launch (broker/session/session-policy.ts):
   * a replica promoted or restarted elsewhere keeps them. Optional, like what follows,
   * so records of the previous version still parse (they get the node's defaults).
   */
  limits: z
    .object({
      holdSeconds: z.number().min(0),
      idleSeconds: z.number().positive().nullable(),
      maxSeconds: z.number().positive().nullable(),
      warnSeconds: z.number().min(0),
    })
    .optional(),
  /** Its session policy records it (a replica started for it later records too). Optional: records of the previous version. */
  recorded: z.boolean().optional(),
  /** When it ends on its own, as its primary knew last (maximum length, or an idle warning that stands); null: no end known. */
  endsAt: z.number().nullable().optional(),
  /**
   * When the person last typed or clicked in it, as its primary wrote it (at attach and
   * detach, and at most once a minute while input comes): the Admin page's "idle for".
   */
  lastInputAt: z.number().optional(),
  /** When the person last used it: their last input, or when a client last attached or left it (the launcher sorts by it). */
  lastUsedAt: z.number().optional(),
  /** The address of the client that attached it last (the Admin page's "client"). */
  clientAddress: z.string().max(64).optional(),
  /**
   * Its share links (docs/protocol.md#sharing-a-session): what each lets people do,
   * until when, and the sha256 of its secret (any gateway can check a link; none can
   * make one). Revoked links are removed. Optional, so older records still parse.
   */
  shares: z.array(ShareRecord).max(64).optional(),
  state: z.enum(['running', 'ended']),
  endMessage: z.string().nullable(),
  endedAt: z.number().nullable(),
});
export type SessionRecord = z.infer<typeof SessionRecord>;

/**
 * A session record with the control-plane revision it was read at (what a
 * compare-and-swap compares). Here, with the records, so users of them need not
 * import the cluster.
 */
export interface VersionedSession {
  record: SessionRecord;
  revision: number;
}
