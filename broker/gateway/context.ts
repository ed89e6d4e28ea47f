// What a client connection and the admin API need from their node, as one explicit
// object; and the two narrow faces of the session layer they use — SessionService (the
// registry's public surface) and StreamedSession (a running session's client side) —
// so the gateway never reaches into the registry, the cluster or a Session itself.
import type { Catalog } from '../catalog.js';
import type { AppConfig, NodeConfig } from '../config/schema.js';
import type { SignInLimiter } from '../auth/rate-limit.js';
import type { TokenService } from '../auth/tokens.js';
import type { Logger } from '../log.js';
import type { AuditLog } from '../audit.js';
import type { Revocations } from '../auth/revocations.js';
import type { SecondFactors } from '../auth/second-factor.js';
import type { SignInCodes } from '../auth/sign-in-codes.js';
import type { NodeMetrics } from '../metrics.js';
import type { Trust } from '../tls/trust.js';
import type { ResumePoint, SessionPeer, ShadowAsk, WatcherJoin, WatcherPeer } from '../session/peer.js';
import type { EndReason } from '../session/end-reason.js';
import type { SandboxInfo } from '../host/sandbox-host.js';
import type { NodeRecord, ShareRecord, VersionedSession } from '../cluster/records.js';
export type { ResumePoint, SessionPeer, ShadowAsk, WatcherJoin, WatcherPeer } from '../session/peer.js';
import type { Readable } from 'node:stream';
import type { AppDivergence, ClusterEventInfo, DrainStateInfo, FileListing, RecordingCopy, SessionSummary, ShareMode, Thumbnail, UploadStateInfo, WatcherInfo } from '../../shared/protocol/index.js';

/** A regular file in a session's home, ready to be read (host/home-files.ts). */
export interface SessionFile {
  readonly name: string;
  readonly size: number;
  /** ms since the epoch. */
  readonly modifiedAt: number;
  /** Changes whenever the file's content may have: the download's ETag. */
  readonly version: string;
  /** `length` bytes from `offset`; the stream errors (SessionFileError) if the file changes meanwhile. */
  read(offset: number, length: number): Readable;
}

/** A session's home as its person reads it; refusals are SessionFileErrors (shared/protocol/files.ts). */
export interface SessionFiles {
  /** A folder ('' for the home). */
  list(path: string): Promise<FileListing>;
  /** A regular file, to read. */
  file(path: string): Promise<SessionFile>;
  /** Files and folders (recursively, links left out) for a zip; refused past `maxEntries` (host/home-tree.ts). */
  selection(paths: readonly string[], maxEntries: number): Promise<SessionSelection>;
}

/** A selection of a session's home, walked: folders before what is in them; a file's `file` reads it. */
export interface SessionSelection {
  readonly paths: string[];
  readonly entries: ReadonlyArray<{ path: string; kind: 'file' | 'folder'; size: number; modifiedAt: number; file: SessionFile | null }>;
  /** Links and special files left out (their paths in the zip). */
  readonly skipped: string[];
}

/**
 * A session's uploads, as the gateway drives them (session/session-uploads.ts): each
 * call resolves with where the upload stands, or throws UploadError in the person's words.
 */
export interface SessionUploads {
  begin(path: string, size: number | null, key: string | null, limits: { maxBytes: number }): Promise<UploadStateInfo>;
  state(upload: number): UploadStateInfo;
  /** Takes bytes from `offset` (which must be where it stands) out of `body`; `done`: they are the last. */
  write(upload: number, offset: number, body: AsyncIterable<Uint8Array>, done: boolean, limits: { maxBytes: number }): Promise<UploadStateInfo>;
  cancel(upload: number): Promise<UploadStateInfo>;
}

/** The people watching a session through its share links (session/watchers.ts), as the gateway acts on them. */
export interface SessionWatchers {
  readonly size: number;
  list(): WatcherInfo[];
  /** Sends one away, telling them why; false if they are not watching. */
  remove(id: string, message: string): boolean;
  /** A revoked link: everyone who came through it leaves, told why. */
  removeShare(shareId: string, message: string): void;
  /** A link now lets people do `mode`: everyone who came through it is told. */
  setMode(shareId: string, mode: ShareMode, message: string): void;
  /** A watcher's connection went. */
  gone(id: string): void;
}

/** A session primary on this node, as its client's connection sees it. */
export interface StreamedSession {
  readonly id: string;
  readonly app: Pick<AppConfig, 'id' | 'name' | 'display' | 'sound'>;
  readonly owner: string;
  readonly resumeToken: string;
  /** How long it waits for a client that left (its session policy's; absent: node.sessionHoldSeconds). */
  readonly holdSeconds?: number;
  /** It is recorded (its person is told so). */
  readonly recorded?: boolean;
  /** Null while it runs; why it ended, once it has. */
  readonly endMessage: string | null;
  attach(peer: SessionPeer): void;
  detach(peer: SessionPeer): void;
  /** The client left before it attached: keep the session for the hold time. */
  startHold(): void;
  resumePoint(cols: number, rows: number): Promise<ResumePoint>;
  resize(cols: number, rows: number): void;
  end(reason: EndReason): void;
  /** A small picture of what it shows (docs/protocol.md#session-thumbnails); null while there is none. */
  thumbnail(): Promise<Thumbnail | null>;
  /** Its person's files (docs/protocol.md#session-files). */
  readonly homeFiles: SessionFiles;
  /** Its person's uploads (docs/protocol.md#uploads): logged here, written by every replica. */
  readonly uploads: SessionUploads;
  /** A PDF its app printed, while the session keeps it (docs/protocol.md#printing). */
  printJob?(id: string): { name: string; size: number; sha256: string; path: string } | undefined;
  /** People watching it through share links (docs/protocol.md#sharing-a-session). */
  readonly watchers: SessionWatchers;
  /** Someone starts watching a terminal app: `joined` gets where their stream starts; resolves with why not, or null. */
  watch(join: WatcherJoin, peer: WatcherPeer, joined: (point: ResumePoint) => void): Promise<string | null>;
  /** A watcher's own viewer stream of a graphical app (RFB frames); why it is refused (the connection closes), or null. */
  watcherViewer(id: string, data: Uint8Array): string | null;
  /** Its client plays sound (docs/protocol.md#sound), or stops; why not (it has none), or null. */
  listen(peer: SessionPeer, on: boolean): string | null;
  /** Its client's microphone reaches the app (docs/protocol.md#microphone), or stops; why not, or null. */
  speak(peer: SessionPeer, on: boolean): string | null;
  /** One Opus packet of its client's microphone (dropped unless that client turned it on). */
  microphonePacket(peer: SessionPeer, data: Uint8Array): void;
  /** Asks its person whether an administrator may view it (docs/protocol.md#shadowing); `nobody`: no client is attached to ask. */
  askShadow(ask: ShadowAsk): Promise<'allowed' | 'denied' | 'timeout' | 'nobody'>;
  /** The person's answer, from the client `peer` that was asked; false if no such question is open. */
  answerShadow(requestId: string, peer: SessionPeer, allow: boolean): boolean;
  /** A watcher's input: `refused` if their link lets them only watch (the connection stays), `problem` if malformed (it closes). */
  watcherInput(id: string, seq: number, data: Uint8Array): { refused: string } | { problem: string } | null;
  /** Each of these answers null, or what was wrong with the frame (the connection closes). */
  input(seq: number, data: Uint8Array): string | null;
  viewer(data: Uint8Array): string | null;
  outputAck(offset: number): string | null;
}

/** One replica on this node, as `holdfast status` and /api/replicas list it. */
export interface ReplicaStatus {
  sessionId: string;
  role: string;
  epoch: number;
  logIndex: number;
  appliedIndex: number;
  /** A primary: when its person last gave input (ms since the epoch). */
  lastInputAt?: number;
}

/** The recordings on this node's disk (session/recordings.ts): its copies, and one's file. */
export interface RecordingArchive {
  list(): RecordingCopy[];
  file(sessionId: string): { copy: RecordingCopy; path: string; size: number } | null;
}

/** What this node reports of itself to the admin API. */
export interface LocalReport {
  counters: Record<string, number>;
  replicas: ReplicaStatus[];
  events: ClusterEventInfo[];
  /** Apps whose standbys diverged on this node (the catalog's failover is added by the cluster report). */
  apps: Omit<AppDivergence, 'failover'>[];
  drain: DrainStateInfo | null;
  sandbox: SandboxInfo | null;
}

/**
 * The session layer, as the gateway uses it: launching, finding and resuming sessions,
 * the cluster's members and session records, and the operators' actions. Session
 * records and node records are data (cluster/records.ts); everything else goes through here.
 */
export interface SessionService {
  /** This node's name. */
  readonly self: string;
  /** Whether this node is one of several (sessions may live elsewhere). */
  readonly clustered: boolean;
  /** The copies of recorded sessions this node holds. */
  readonly recordings: RecordingArchive;
  /** Other nodes' URLs a client may fail over to (empty when not clustered). */
  brokerUrls(): string[];
  /** The node a new session's primary should run on (least loaded), or null if none. */
  placePrimary(): string | null;
  isLive(name: string): boolean;
  member(name: string): NodeRecord | undefined;
  /** Every member's record: this node first, then the others it sees. */
  members(): NodeRecord[];
  record(id: string): Promise<VersionedSession | null>;
  records(): Promise<VersionedSession[]>;
  /** Resolves with the record once `until` holds of it, or after `timeoutMs` with what it is then. */
  waitForRecord(id: string, until: (record: VersionedSession | null) => boolean, timeoutMs: number): Promise<VersionedSession | null>;

  /** Starts `app` for `owner` (signed in as `grant`) with this node as primary; throws NodeFullError (node-full.ts) when the node is full. */
  /** `groups`: the person's, as their sign-in gave them (session policies match on them). */
  launch(owner: string, app: AppConfig, cols: number, rows: number, grant: string | null, groups?: readonly string[], scale?: number): Promise<StreamedSession>;
  /** Answers a resume (which token was presented) or an attach (null) with the token `next`, by CAS: false if the record changed meanwhile. */
  issueResumeToken(found: VersionedSession, presented: 'current' | 'pending' | null, next: string, grant: string | null): Promise<boolean>;
  /** The client used the stream it was given `token` on: the token before it dies. */
  confirmResumeToken(id: string, token: string): Promise<void>;
  /** A sign-out: the resume tokens `owner`'s sessions were given under these sign-ins die. */
  retireResumeTokens(owner: string, grants: string[]): Promise<number>;
  /** The caller's running sessions, cluster-wide. */
  summaries(owner: string): Promise<SessionSummary[]>;
  /** The session if it is (or within `timeoutMs` becomes) primary here, else null. */
  awaitPrimary(id: string, timeoutMs: number): Promise<StreamedSession | null>;
  probe(name: string): Promise<'dead' | 'listening' | 'unknown'>;
  restartHere(found: VersionedSession, token: string | null, inputSeq: number, cols: number, rows: number, scale?: number): Promise<StreamedSession | null>;
  /** Marks a session whose host died with no standby as ended; why, for people (null if another gateway did). */
  lostWithHost(found: VersionedSession): Promise<string | null>;
  /** Changes a running session's share links by compare-and-swap (expired ones dropped); the links after, or null if it is not running. */
  changeShares(id: string, change: (shares: ShareRecord[]) => ShareRecord[]): Promise<ShareRecord[] | null>;
  /** Keeps the record's attached / hold fields in step after a client attaches or leaves. */
  noteAttachment(sessionId: string, address?: string): Promise<void>;

  drain(): Promise<unknown>;
  undrain(): Promise<void>;
  localReplicas(): ReplicaStatus[];
  /** Ends a session whose primary is here; false if it is not primary here. */
  endSession(id: string, reason: EndReason): boolean;
  /** Moves a primary here to a standby (`to`, or the most caught-up): null when moved, else why not. */
  move(id: string, to: string | null, waitMs: number): Promise<string | null>;
  report(): LocalReport;
}

export interface NodeContext {
  config: NodeConfig;
  catalog: Catalog;
  tokens: TokenService;
  /** Whom this node trusts on its TLS links to other nodes (tunnels, forwarded admin calls). */
  trust: Trust;
  /**
   * Sign-in limiters. byPair (name and address): tight, with a lockout — an attacker
   * locks a name only from their own address. byAddress: looser (offices share an
   * address behind NAT). byUser (name alone): loosest, slows a name tried from many places.
   */
  limits: { byPair: SignInLimiter; byAddress: SignInLimiter; byUser: SignInLimiter };
  audit: AuditLog;
  /** Revoked tokens, cluster-wide (available once the node has joined its cluster). */
  revocations: Revocations;
  /** People's second factors (TOTP), cluster-wide. */
  secondFactors: SecondFactors;
  /** One-time codes left by identity-provider sign-ins, cluster-wide. */
  signInCodes: SignInCodes;
  /** The client connections this node serves (a revoked user's are closed). */
  connections: Set<{ user: string | null; readonly address: string; readonly anonymous: boolean; revoked(): void }>;
  sessions: SessionService;
  log: Logger;
  metrics: NodeMetrics;
  verifyUser(name: string, password: string): Promise<boolean>;
}
