// Error codes a client can act on, and the WebSocket close codes the gateway uses.
// Codes are stable API: clients switch on them; messages are for people.

export const ErrorCode = {
  badRequest: 'bad_request',
  unauthenticated: 'unauthenticated',
  signInFailed: 'sign_in_failed',
  rateLimited: 'rate_limited',
  /** The password was right; this person also needs their authenticator code (send auth.signIn again with `code`). */
  secondFactor: 'second_factor',
  /** A limit on sessions (per person, or on the node) is reached: the message says which and what to do. */
  limitReached: 'limit_reached',
  unknownApp: 'unknown_app',
  notEntitled: 'not_entitled',
  launchFailed: 'launch_failed',
  noSession: 'no_session',
  sessionEnded: 'session_ended',
  sessionBusy: 'session_busy',
  /** A share link that does not open a session: not one, revoked, expired, or its session ended (the message says which). */
  linkRefused: 'link_refused',
  /** An administrator may not view this session: its owner said no, did not answer, or its policy forbids it (the message says which). */
  shadowDenied: 'shadow_denied',
  /** Input from someone whose share lets them only watch: it never reaches the app. */
  viewOnly: 'view_only',
  /** The session's host is not answering (a failover may be under way): retry shortly. */
  unavailable: 'unavailable',
  internal: 'internal',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** WebSocket close codes (RFC 6455 plus the 4000–4999 private range). */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  protocolError: 1002,
  unsupportedData: 1003,
  invalidPayload: 1007,
  policyViolation: 1008,
  tooBig: 1009,
  internal: 1011,
  /** Access token missing, invalid or expired: sign in again. */
  unauthenticated: 4401,
  /** The client did not authenticate in time. */
  authTimeout: 4408,
  /** The session this connection was streaming has ended. */
  sessionEnded: 4000,
  /** The session was attached from another client: the newer one wins. */
  displaced: 4409,
  /** The session was moved to another node on purpose (a drain): resume at once, no backoff. */
  moved: 4301,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];
