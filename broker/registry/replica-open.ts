// The handshake that starts a standby: what a primary sends (`replica.open`: who, which
// app, the size it started at, and its whole log) and how the receiving node turns it
// into the spec of its replica. The standby replays the log, resizes included.
import type { AppConfig } from '../config/schema.js';
import { entryToJson, type PeerMessage } from '../cluster/peer-protocol.js';
import type { Session } from '../session/session.js';
import type { ReplicaSpec } from './replica-factory.js';

export type ReplicaOpen = Extract<PeerMessage, { type: 'replica.open' }>;

export function replicaOpen(session: Session): ReplicaOpen {
  return {
    type: 'replica.open',
    sessionId: session.id,
    epoch: session.epoch,
    owner: session.owner,
    appId: session.app.id,
    // The size the app started at: the standby replays the resizes from the log.
    cols: session.initialSize.cols,
    rows: session.initialSize.rows,
    resumeToken: session.resumeToken,
    startedAt: session.startedAt,
    ...(session.lockstepKey ? { lockstepKey: Buffer.from(session.lockstepKey).toString('base64') } : {}),
    entries: session.log.entries.map(entryToJson),
  };
}

export function standbySpec(message: ReplicaOpen, app: AppConfig): ReplicaSpec {
  return {
    role: 'standby',
    epoch: message.epoch,
    owner: message.owner,
    app,
    cols: message.cols,
    rows: message.rows,
    id: message.sessionId,
    resumeToken: message.resumeToken,
    startedAt: message.startedAt,
    ...(message.lockstepKey ? { lockstepKey: Buffer.from(message.lockstepKey, 'base64') } : {}),
  };
}
