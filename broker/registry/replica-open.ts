// The handshake that starts a standby: what a primary sends (`replica.open`: who, which
// app, the size it started at, and its log) and how the receiving node turns it into the
// spec of its replica. The standby replays the log, resizes and uploads included. A log
// holding uploads can be far larger than one peer message may be, so only its head
// goes in `replica.open`; the rest follows at once as APPEND and COMMIT frames, the
// same ones live entries travel in.
import type { AppConfig } from '../config/schema.js';
import { encodeAppend, encodeClocks, encodeCommit, markOf, entryToJson, type LogEntry, type PeerMessage } from '../cluster/peer-protocol.js';
import type { Session } from '../session/session.js';
import type { ReplicaSpec } from './replica-factory.js';

export type ReplicaOpen = Extract<PeerMessage, { type: 'replica.open' }>;

/** Bytes of entries' data `replica.open` carries at most (as base64 in JSON); the rest follows in frames. */
const OPEN_BYTES = 4 * 1024 * 1024;
/** Bytes of entries' data one replay APPEND frame carries at most (peer messages are at most 64 MiB). */
const FRAME_BYTES = 8 * 1024 * 1024;

/** What opens a standby of `session`: the `replica.open` message, then the frames that carry the rest of its log. */
/** `fastForward`: a standby placed after the session started (its app's timers catch up to the primary's clocks). */
export function replicaOpening(session: Session, fastForward: boolean): { open: ReplicaOpen; frames: Uint8Array[] } {
  const entries = session.log.entriesAfter(0);
  let head = 0;
  for (let bytes = 0; head < entries.length && bytes + (entries[head]!.data?.byteLength ?? 0) <= OPEN_BYTES; head++) bytes += entries[head]!.data?.byteLength ?? 0;
  const open = { ...replicaOpen(session, entries.slice(0, head), head < entries.length ? entries.length : undefined), ...(fastForward ? { fastForward } : {}) };
  const frames = replayFrames(session.id, session.epoch, entries.slice(head));
  return { open, frames: fastForward ? [...historyClocks(session.id, session.epoch, entries), ...frames] : frames };
}

/**
 * Where the app's timers had got to before each entry (LogEntry.clocks), as the CLOCKS
 * frames a live standby is sent: a standby that fast-forwards replays the history with
 * its timers caught up to the primary's entry by entry, as fast as its app can go. Sent
 * before the entries, so no entry is applied before its clocks are known.
 */
function historyClocks(id: string, epoch: number, entries: LogEntry[]): Uint8Array[] {
  const frames: Uint8Array[] = [];
  for (const entry of entries) {
    const clocks = entry.clocks ?? [];
    for (let i = 0; i < clocks.length; i += 4096) frames.push(encodeClocks(id, epoch, entry.index - 1, clocks.slice(i, i + 4096)));
  }
  return frames;
}

/** `entries` as APPEND frames (by size), then COMMIT frames saying they were applied, after the output each followed. */
function replayFrames(id: string, epoch: number, entries: LogEntry[]): Uint8Array[] {
  const frames: Uint8Array[] = [];
  for (let start = 0; start < entries.length; ) {
    let end = start;
    for (let bytes = 0; end < entries.length && end - start < 256 && (end === start || bytes + (entries[end]!.data?.byteLength ?? 0) <= FRAME_BYTES); end++) bytes += entries[end]!.data?.byteLength ?? 0;
    frames.push(encodeAppend(id, epoch, entries.slice(start, end)));
    start = end;
  }
  for (let i = 0; i < entries.length; i += 1000) {
    const batch = entries.slice(i, i + 1000);
    frames.push(encodeCommit(id, epoch, batch[0]!.index, batch.map(markOf)));
  }
  return frames;
}

function replicaOpen(session: Session, entries: LogEntry[], replay: number | undefined): ReplicaOpen {
  return {
    type: 'replica.open',
    sessionId: session.id,
    epoch: session.epoch,
    owner: session.owner,
    appId: session.app.id,
    // The size the app started at: the standby replays the resizes from the log.
    cols: session.initialSize.cols,
    rows: session.initialSize.rows,
    // A GUI app's scale: the standby's app must start as the primary's did (lockstep compares their screens).
    ...(session.scale !== 1 ? { scale: session.scale } : {}),
    resumeToken: session.resumeToken,
    startedAt: session.startedAt,
    ...(session.lockstepKey ? { lockstepKey: Buffer.from(session.lockstepKey).toString('base64') } : {}),
    entries: entries.map(entryToJson),
    ...(replay !== undefined ? { replay } : {}),
    ...(session.recorded ? { recorded: true } : {}),
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
    ...(message.scale ? { scale: message.scale } : {}),
    id: message.sessionId,
    resumeToken: message.resumeToken,
    startedAt: message.startedAt,
    ...(message.lockstepKey ? { lockstepKey: Buffer.from(message.lockstepKey, 'base64') } : {}),
    ...(message.fastForward ? { fastForward: true } : {}),
  };
}
