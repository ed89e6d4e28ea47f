// A session as its client's connection meets it: the peer the session writes its
// output to (the gateway implements it), and the point a resuming client continues
// from. The gateway may import these types (and end-reason.ts), nothing else of session/.
import type { AppExit } from '../host/app-process.js';
import type { PrintEvent } from '../host/session-printing.js';
import type { EchoMode, ShareMode } from '../../shared/protocol/index.js';

export interface SessionPeer {
  /** `drained`, if given, is called once the frame has been written to the socket. */
  sendBinary(frame: Uint8Array, drained?: () => void): void;
  readonly bufferedAmount: number;
  /** The session ended; `message` says why, for people. */
  ended(exit: AppExit | null, message: string): void;
  /** Another client attached: this one is no longer the session's. */
  displaced(): void;
  /**
   * The session is carried on by another replica: the client should resume (elsewhere).
   * `planned`: a drain or an administrator's move (the client may resume at once).
   */
  moved(planned: boolean): void;
  /**
   * A warning before the session ends on its own (idle, maximum length), in words;
   * `kind: 'cleared'` when the person's input lifted it. Optional: peers that show
   * nobody anything (tests, tools) need not.
   */
  notice?(notice: PeerNotice): void;
  /** A GUI app's window title changed (or is told to a client that attached); optional like notice. */
  title?(title: string): void;
  /** A terminal app's echo mode changed (or is told to a client that attached); optional like notice. */
  echo?(mode: EchoMode): void;
  /** Someone started or stopped watching through a share link (the owner is shown who); optional like notice. */
  sharing?(): void;
  /** An administrator asks to view the session (shadowing): the person answers through the session (shadow-consent.ts). */
  shadowRequest?(ask: ShadowAsk): void;
  /** That question is no longer open (answered, timed out). */
  shadowClosed?(requestId: string): void;
  /** Its app printed: a PDF to fetch, or why there is none, in words; optional like notice. */
  printed?(event: PrintEvent): void;
}

export type PeerNotice = { kind: 'idle' | 'max-length'; endsAt: number; message: string } | { kind: 'cleared' };

export interface ResumePoint {
  snapshot: string;
  outputOffset: number;
  inputAck: number;
  cols: number;
  rows: number;
}

/** A watcher's connection, as the session writes to it (the gateway implements it). */
export interface WatcherPeer {
  sendBinary(frame: Uint8Array): void;
  readonly bufferedAmount: number;
  /** It may watch no more (the link was revoked or expired, the owner sent it away, the session ended); why, in words. */
  left(message: string): void;
  /** It fell behind: it should join again, from a fresh snapshot. */
  lagging(): void;
  /** The owner changed what its link lets it do. */
  mode(mode: ShareMode, message: string): void;
  /** The app's terminal was resized: its view follows. */
  resized(cols: number, rows: number): void;
}

/** An administrator's request to view a session, as its person is asked it. */
export interface ShadowAsk {
  requestId: string;
  admin: string;
  adminName: string;
  /** They would also type. */
  control: boolean;
  /** How long the person has to answer. */
  msLeft: number;
  /** What an unanswered question comes to (the session policy's). */
  onTimeout: 'deny' | 'allow';
}

/** Who joins, through which link. */
export interface WatcherJoin {
  id: string;
  user: string;
  displayName: string;
  /** The joining client's own id (its input is numbered per tab: LogEntry.by). */
  tab: string;
  shareId: string;
  mode: ShareMode;
  /** When its link expires (ms since the epoch). */
  expiresAt: number;
  /** An administrator viewing with the owner's consent (shadowing), not someone with a link. */
  shadow?: boolean;
  /** Came in without signing in, through a guest link. */
  guest?: boolean;
}
