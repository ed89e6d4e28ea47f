// One client connection, as the parts that serve its requests see it (sign-in.ts,
// session-routing.ts, stream-binding.ts): who is signed in, and the only ways to answer.
// Answers to a closed socket are dropped; closing twice is harmless.
import type { ServerMessage } from '../../shared/protocol/index.js';
import type { FederatedClaims } from '../auth/tokens.js';

export interface Client {
  /** The peer's address (what sign-in limits and the audit log key on). */
  readonly address: string;
  /** Who this connection is signed in as (null: nobody yet). */
  readonly user: string | null;
  /** For someone the identity provider let in who is not under users:, what their sign-in said of them. */
  readonly federated: FederatedClaims | undefined;
  /** The sign-in this connection belongs to (its tokens' sid); null when anonymous. */
  readonly grant: string | null;
  /** True once the socket closed, or the connection decided to close it. */
  readonly closed: boolean;
  /** Signed in: the sign-in deadline no longer applies. */
  signedIn(user: string, federated: FederatedClaims | undefined, grant: string): void;
  /** Signed out: anonymous again. */
  signedOut(): void;
  /** Streams a session (resumed with its token, or carried to its node): the sign-in deadline no longer applies. */
  keepOpen(): void;
  /** Runs `confirm` once the client shows it has a session's answer: its first binary frame, or any frame a second later. */
  onStreamUsed(confirm: () => void): void;
  send(message: ServerMessage): void;
  refuse(id: number | null, code: string, message: string, retryAfterMs?: number): void;
  close(code: number, reason: string): void;
  isOpen(): boolean;
}
