// Every JSON (text-frame) message of the wire protocol, as zod schemas. Both ends
// parse `unknown` through these; nothing else is trusted. Terminal bytes travel in
// binary frames instead (frames.ts), so the keystroke path never touches JSON.
import { z } from 'zod';
import { GuestName, ShareInfo, ShareMode, WatcherInfo } from './sharing.js';

const id = z.number().int().nonnegative().max(2 ** 31);
const name = z.string().min(1).max(64);
/** Terminal geometry a person could plausibly have; bounds keep PTY ioctls sane. */
export const Cols = z.number().int().min(2).max(1000);
export const Rows = z.number().int().min(1).max(500);

export const UserInfo = z.object({
  name,
  displayName: z.string().max(128),
  groups: z.array(name).max(256),
});
export type UserInfo = z.infer<typeof UserInfo>;

export const AppInfo = z.object({
  id: name,
  name: z.string().max(128),
  description: z.string().max(1024),
  icon: z.string().max(64),
  /** terminal: bytes for a terminal emulator. rfb: an RFB display (a GUI app), see frames.ts. */
  display: z.enum(['terminal', 'rfb']),
  /** It plays sound (docs/protocol.md#sound): a client may ask for it. */
  sound: z.boolean().optional(),
});
export type AppInfo = z.infer<typeof AppInfo>;

// ---- client → server -------------------------------------------------------

export const SignIn = z.object({
  type: z.literal('auth.signIn'),
  id,
  user: z.string().min(1).max(64),
  password: z.string().max(1024),
  /** Also issue a refresh token ("remember me", desktop app). */
  remember: z.boolean().optional(),
  /** The second factor, for people who set one up: a 6-digit TOTP code or a recovery code. */
  code: z.string().max(32).optional(),
  /** The deviceToken an earlier sign-in as this person gave this device: such a device is not slowed by others' guessing of the name. */
  device: z.string().max(2048).optional(),
});
/** Sign in again with a refresh token; the reply carries a new access token and a new refresh token. */
export const SignInWithToken = z.object({ type: z.literal('auth.signInWithToken'), id, refreshToken: z.string().min(1).max(4096) });
/**
 * Sign in with the one-time code an identity provider's sign-in left (docs: sign-in
 * with an identity provider); `handoff` is the value this client gave /auth/oidc/start.
 */
export const SignInWithCode = z.object({
  type: z.literal('auth.signInWithCode'),
  id,
  code: z.string().min(1).max(128),
  handoff: z.string().min(1).max(128),
  /** Also issue a refresh token ("remember me", desktop app). */
  remember: z.boolean().optional(),
});
export const Refresh = z.object({ type: z.literal('auth.refresh'), id });
/** Two-step sign-in: start setting up TOTP (signed in), then confirm it with a first code. */
export const TotpBegin = z.object({ type: z.literal('auth.totp.begin'), id });
export const TotpConfirm = z.object({ type: z.literal('auth.totp.confirm'), id, code: z.string().max(32) });
/** Signing out: the broker revokes these tokens (the client's access and refresh tokens), cluster-wide. */
export const SignOut = z.object({ type: z.literal('auth.signOut'), id, tokens: z.array(z.string().min(1).max(4096)).max(4) });
export const ListApps = z.object({ type: z.literal('apps.list'), id });
/**
 * The client's screen: device pixels per CSS pixel (1 to 4), for a GUI app drawn in
 * them (docs/protocol.md#graphical-sessions): the app starts told it. Absent: 1.
 */
const Scale = z.number().min(1).max(4);
export const Launch = z.object({
  type: z.literal('session.launch'),
  id,
  appId: name,
  cols: Cols,
  rows: Rows,
  scale: Scale.optional(),
});
export const Resize = z.object({ type: z.literal('session.resize'), cols: Cols, rows: Rows });
/**
 * The client plays sound (or stops): from here the node sends this connection the app's
 * sound as AUDIO frames (docs/protocol.md#sound), if its app has any. Sent again after
 * every resume: a new connection, or a new primary, starts without.
 */
export const Sound = z.object({ type: z.literal('session.sound'), on: z.boolean() });
/**
 * The client sends the person's microphone (or stops): the node answers
 * session.microphone, and only after its `on: true` may MICROPHONE frames follow
 * (docs/protocol.md#microphone). Sent again after every resume, like session.sound.
 */
export const Microphone = z.object({ type: z.literal('session.microphone'), on: z.boolean() });
const SessionId = z.string().min(1).max(64);
/** Resume a session on a new connection; the resume token is the proof, no sign-in needed. */
export const Resume = z.object({
  type: z.literal('session.resume'),
  id,
  sessionId: SessionId,
  resumeToken: z.string().min(1).max(128),
  cols: Cols,
  rows: Rows,
  /** The highest input number this client has sent: where a restarted app's numbering continues. */
  inputSeq: z.number().int().min(0).max(2 ** 32 - 1).optional(),
  /** As session.launch's: an app restarted for this resume (failover: restart) starts told it. */
  scale: Scale.optional(),
});
/** Attach to one of your own running sessions from another client (signed in). */
export const Attach = z.object({ type: z.literal('session.attach'), id, sessionId: SessionId, cols: Cols, rows: Rows });
/** End this connection's session on purpose (closing a socket only detaches it). */
export const End = z.object({ type: z.literal('session.end') });
export const ListSessions = z.object({ type: z.literal('sessions.list'), id });
/**
 * Sharing (docs/protocol.md#sharing-a-session), sent by the owner on the connection that
 * streams the session: make a link (expires after `minutes`), change what a link lets
 * people do, revoke a link (everyone who came through it leaves at once), or send one
 * person away. Each is answered with session.sharing.
 */
export const ShareCreate = z.object({
  type: z.literal('session.share.create'),
  id,
  mode: ShareMode,
  minutes: z.number().int().min(1).max(7 * 24 * 60).optional(),
  /** Anyone with the link may watch without signing in, giving only a name (where the node allows guests). */
  guests: z.boolean().optional(),
});
export const ShareUpdate = z.object({ type: z.literal('session.share.update'), id, shareId: z.string().min(1).max(64), mode: ShareMode });
export const ShareRevoke = z.object({ type: z.literal('session.share.revoke'), id, shareId: z.string().min(1).max(64) });
export const WatcherRemove = z.object({ type: z.literal('session.watcher.remove'), id, watcherId: z.string().min(1).max(64) });
/**
 * Watch someone's session through a share link, on a connection of its own (signed in).
 * `tab`: this client's own id for the join, the same on every reconnect: what it typed
 * (on a link that lets it) is numbered per tab, so a resend after a reconnect is taken once.
 */
/**
 * An administrator asks to view (`control`: and type into) someone's session — shadowing
 * (docs/protocol.md#shadowing). Answered like session.join, once the person allowed it
 * where their session policy asks them, or with an error (shadow_denied) saying why not.
 */
export const Shadow = z.object({ type: z.literal('session.shadow'), id, sessionId: z.string().min(1).max(64), control: z.boolean(), tab: z.string().min(8).max(64), cols: Cols, rows: Rows });
/** The owner's answer to session.shadow.request. */
export const ShadowAnswer = z.object({ type: z.literal('session.shadow.answer'), requestId: z.string().min(1).max(64), allow: z.boolean() });
export const Join = z.object({
  type: z.literal('session.join'),
  id,
  link: z.string().min(1).max(512),
  tab: z.string().min(8).max(64),
  cols: Cols,
  rows: Rows,
  /** Without signing in, on a link that lets guests in: the name to be shown as. */
  guest: GuestName.optional(),
});
export const Ping = z.object({ type: z.literal('ping'), id });

export const ClientMessage = z.discriminatedUnion('type', [
  SignIn,
  SignInWithToken,
  SignInWithCode,
  Refresh,
  SignOut,
  TotpBegin,
  TotpConfirm,
  ListApps,
  Launch,
  Resize,
  Resume,
  Attach,
  End,
  ListSessions,
  Ping,
  ShareCreate,
  ShareUpdate,
  ShareRevoke,
  WatcherRemove,
  Join,
  Shadow,
  ShadowAnswer,
  Sound,
  Microphone,
]);
export type ClientMessage = z.infer<typeof ClientMessage>;
export type ClientRequest = Extract<ClientMessage, { id: number }>;

// ---- server → client -------------------------------------------------------

export const Welcome = z.object({
  type: z.literal('welcome'),
  protocol: z.number().int(),
  node: z.string(),
  /** Set when the connection was authenticated at upgrade with an access token. */
  user: UserInfo.nullable(),
  heartbeatMs: z.number().int().positive(),
  /** Every live node of the cluster (this one first): where to reconnect if this one goes. */
  brokers: z.array(z.string().max(256)).max(64).default([]),
});
export const SignedIn = z.object({
  type: z.literal('auth.signedIn'),
  id,
  accessToken: z.string(),
  /** Milliseconds since the epoch. */
  expiresAt: z.number(),
  user: UserInfo,
  /** Present after a sign-in with remember: true or with a refresh token: keep it encrypted, it replaces the last one. */
  refreshToken: z.string().optional(),
  refreshExpiresAt: z.number().optional(),
  /** After a password sign-in: proof that this device signed in as this person; send it as `device` next time. */
  deviceToken: z.string().optional(),
  /** Whether this person has two-step sign-in on (the launcher offers to set it up only when not). */
  twoStep: z.boolean().optional(),
});
export const AppList = z.object({ type: z.literal('apps.list.ok'), id, apps: z.array(AppInfo) });
export const SessionStarted = z.object({
  type: z.literal('session.started'),
  id,
  sessionId: z.string(),
  appId: name,
  cols: Cols,
  rows: Rows,
  /** Output bytes the host may send beyond the client's last output ack. */
  window: z.number().int().positive(),
  /** Lets this client resume the session on a new connection without signing in. */
  resumeToken: z.string(),
  /** How long the session waits for a client after its connection is lost. */
  holdSeconds: z.number().int().nonnegative(),
  /** The session is recorded (its session policy): show the person so. Absent: not recorded. */
  recorded: z.boolean().optional(),
});
export const SessionResumed = SessionStarted.extend({
  type: z.literal('session.resumed'),
  /** Highest input seq the host has applied: resend only what comes after it. */
  inputAck: z.number().int().nonnegative(),
  /** Offset of the first OUTPUT frame that follows; the snapshot stands for all before. */
  outputOffset: z.number().int().nonnegative(),
  /** The screen as it is now (xterm.js serialize format): reset, then write this. */
  snapshot: z.string(),
});
/**
 * The answer to session.join: like session.resumed (the screen now, and the offset the
 * output continues from) plus whose session it is and what the link lets this client
 * do. `inputAck`: the highest input this tab sent that the session took.
 */
export const SessionJoined = SessionResumed.extend({
  type: z.literal('session.joined'),
  owner: z.string().max(64),
  ownerName: z.string().max(128),
  appName: z.string().max(128),
  mode: ShareMode,
  /** What draws it: a terminal, or an RFB display (whose OUTPUT frames are a fresh RFB stream for this watcher's own viewer). */
  display: z.enum(['terminal', 'rfb']),
  watcherId: z.string().max(64),
  /** An administrator's view (shadowing), not a share link's. */
  shadow: z.boolean().optional(),
});
export type SessionJoined = z.infer<typeof SessionJoined>;
/**
 * To the owner: the session's shares and who is watching — the answer to a sharing
 * request (`id`), and unasked (`id` null) whenever someone joins or leaves.
 */
export const SessionSharing = z.object({
  type: z.literal('session.sharing'),
  id: id.nullable(),
  sessionId: z.string(),
  shares: z.array(ShareInfo).max(64),
  watchers: z.array(WatcherInfo).max(256),
  /** The most people who may watch at once. */
  maxWatchers: z.number().int().nonnegative(),
  /** Whether this broker lets an owner make links for guests (people who do not sign in). */
  guestsAllowed: z.boolean().optional(),
});
export type SessionSharing = z.infer<typeof SessionSharing>;
/**
 * To the owner: an administrator asks to view their session (shadowing). Answer with
 * session.shadow.answer within `msLeft`; unanswered, their session policy decides.
 */
export const SessionShadowRequest = z.object({
  type: z.literal('session.shadow.request'),
  sessionId: z.string(),
  requestId: z.string().max(64),
  admin: z.string().max(64),
  adminName: z.string().max(128),
  /** Whether they would also type. */
  control: z.boolean(),
  msLeft: z.number().int().nonnegative(),
  /** What happens if nobody answers in time: denied, or allowed (the session policy says). */
  onTimeout: z.enum(['deny', 'allow']),
});
export type SessionShadowRequest = z.infer<typeof SessionShadowRequest>;
/** To the owner: a shadowing request is no longer waiting (answered, timed out). */
export const SessionShadowClosed = z.object({ type: z.literal('session.shadow.closed'), sessionId: z.string(), requestId: z.string().max(64) });
/** To someone watching: the owner changed what their link lets them do. */
export const SessionShareMode = z.object({ type: z.literal('session.share.mode'), sessionId: z.string(), mode: ShareMode, message: z.string().max(1024) });
/** To someone watching: the app's terminal was resized (their view follows the owner's size). */
export const SessionResized = z.object({ type: z.literal('session.resized'), sessionId: z.string(), cols: Cols, rows: Rows });
/**
 * To someone watching: they may watch no more (the link was revoked or expired, the owner
 * sent them away); the connection closes after it. Not a reason to reconnect.
 */
export const SessionLeft = z.object({ type: z.literal('session.left'), sessionId: z.string(), message: z.string().max(1024) });
export const SessionSummary = z.object({
  sessionId: z.string(),
  appId: name,
  appName: z.string(),
  startedAt: z.number(),
  /** When the person last used it: their last input (to the minute), or when a client last attached or left it. Absent from older brokers. */
  lastUsedAt: z.number().optional(),
  attached: z.boolean(),
  /** When a detached session ends unless a client attaches (ms since the epoch). */
  holdExpiresAt: z.number().nullable(),
  /**
   * When it ends on its own under its session policy (ms since the epoch): a standing
   * warning's end, else its maximum length. Null or absent: no such end is known.
   */
  endsAt: z.number().nullable().optional(),
  /** The session is recorded. Absent: not recorded. */
  recorded: z.boolean().optional(),
});
export type SessionSummary = z.infer<typeof SessionSummary>;
export const SessionList = z.object({ type: z.literal('sessions.list.ok'), id, sessions: z.array(SessionSummary) });
export const Pong = z.object({ type: z.literal('pong'), id });
/** Sent to a client whose session was attached from another client, before close 4409. */
export const SessionDetached = z.object({ type: z.literal('session.detached'), sessionId: z.string(), message: z.string() });
/**
 * A warning before the session ends on its own (its session policy): idle, with no
 * input from the person for the policy's time (any input keeps it), or at its maximum
 * length. Sent when the warning starts, and again to a client that attaches or resumes
 * while it stands; `cleared` when the person's input lifted it (endsAt and msLeft null).
 */
export const SessionNotice = z.object({
  type: z.literal('session.notice'),
  sessionId: z.string(),
  kind: z.enum(['idle', 'max-length', 'cleared']),
  /** When the session ends (ms since the epoch, the broker's clock). */
  endsAt: z.number().nullable(),
  /** Milliseconds from this message to the end: count down from here (the client's clock may differ from the broker's). */
  msLeft: z.number().nonnegative().nullable(),
  /** For people: what will happen, why, and what keeps it from happening. */
  message: z.string().max(1024),
});
export type SessionNotice = z.infer<typeof SessionNotice>;
/**
 * A GUI app's window title (its active window's name), when it changes and to a client
 * that attaches; '' when it has none. Terminal apps set theirs in their output (OSC 0/2).
 */
export const SessionTitle = z.object({ type: z.literal('session.title'), sessionId: z.string(), title: z.string().max(200) });
export type SessionTitle = z.infer<typeof SessionTitle>;
/**
 * How a terminal app's keystrokes come back (its PTY's termios, docs/protocol.md#sessionecho),
 * when it changes and to a client that attaches: `echo` the terminal echoes what is typed
 * (ECHO on: cat, a plain read); `app` the app reads each key and draws it itself or not
 * (ICANON off: readline's bash and python, vim, less); `hidden` nothing typed is shown
 * (ECHO off with ICANON on: a password prompt). A client predicts local echo only from this.
 */
export const EchoMode = z.enum(['echo', 'app', 'hidden']);
export type EchoMode = z.infer<typeof EchoMode>;
export const SessionEcho = z.object({ type: z.literal('session.echo'), sessionId: z.string(), mode: EchoMode });
export type SessionEcho = z.infer<typeof SessionEcho>;
/**
 * The session's app printed (docs/protocol.md#printing): `printed` with the PDF to fetch
 * (GET /api/sessions/ID/print/JOB), or `refused` (the administrator's transfer policy) or
 * `failed` (not a document, too large, the conversion failed) with no job. `message` is
 * for people, with what to do next where it did not work.
 */
export const PrintedJob = z.object({
  id: z.string().max(64),
  /** What the document is called (its title, or the app's name), without ".pdf". */
  name: z.string().max(200),
  /** The PDF's size in bytes. */
  size: z.number().int().nonnegative(),
  /** Its pages; null when they could not be counted. */
  pages: z.number().int().nonnegative().nullable(),
  createdAt: z.number(),
});
export type PrintedJob = z.infer<typeof PrintedJob>;
export const SessionPrinted = z.object({
  type: z.literal('session.printed'),
  sessionId: z.string(),
  result: z.enum(['printed', 'refused', 'failed']),
  job: PrintedJob.nullable(),
  message: z.string().max(1024),
});
export type SessionPrinted = z.infer<typeof SessionPrinted>;
export const SessionExited = z.object({
  type: z.literal('session.exited'),
  sessionId: z.string(),
  exitCode: z.number().int(),
  signal: z.number().int().nullable(),
  /** For people: what happened, and what to do next when something went wrong. */
  message: z.string(),
});
export const ErrorMessage = z.object({
  type: z.literal('error'),
  /** The request this answers, if any. */
  id: id.nullable(),
  code: z.string(),
  message: z.string(),
  /** For rate limits: milliseconds until a retry can succeed. */
  retryAfterMs: z.number().int().nonnegative().optional(),
});

export const SignedOut = z.object({ type: z.literal('auth.signedOut'), id, revoked: z.number().int().min(0) });
/** The secret to put in an authenticator app: as text, as an otpauth:// URI, and as that URI's QR code (SVG). */
export const TotpSetup = z.object({ type: z.literal('auth.totp.setup'), id, secret: z.string(), uri: z.string(), qrSvg: z.string() });
/** Two-step sign-in is on; the recovery codes are shown this once. */
export const TotpEnabled = z.object({ type: z.literal('auth.totp.enabled'), id, recoveryCodes: z.array(z.string()) });

/** The node will not send this connection the app's sound (session.sound refused): why, in words for the person. */
export const SessionSoundRefused = z.object({ type: z.literal('session.sound'), on: z.literal(false), message: z.string().max(1024) });
/** The node's answer to session.microphone: whether the app hears the microphone now, and why not when it does not. */
export const SessionMicrophone = z.object({ type: z.literal('session.microphone'), on: z.boolean(), message: z.string().max(1024).optional() });

export const ServerMessage = z.discriminatedUnion('type', [
  Welcome,
  SignedIn,
  SignedOut,
  TotpSetup,
  TotpEnabled,
  AppList,
  SessionStarted,
  SessionResumed,
  SessionExited,
  SessionList,
  SessionDetached,
  SessionNotice,
  SessionTitle,
  SessionEcho,
  SessionPrinted,
  SessionJoined,
  SessionSharing,
  SessionShareMode,
  SessionResized,
  SessionLeft,
  SessionShadowRequest,
  SessionShadowClosed,
  SessionMicrophone,
  SessionSoundRefused,
  Pong,
  ErrorMessage,
]);
export type ServerMessage = z.infer<typeof ServerMessage>;
export type Welcome = z.infer<typeof Welcome>;
export type SignedIn = z.infer<typeof SignedIn>;
export type SessionStarted = z.infer<typeof SessionStarted>;
export type SessionExited = z.infer<typeof SessionExited>;
export type SessionResumed = z.infer<typeof SessionResumed>;
export type ErrorMessage = z.infer<typeof ErrorMessage>;

/**
 * Parses a text frame; returns a description of what is wrong instead of throwing, and
 * (when the frame was JSON but not a valid message) what it said, to tell a bad value
 * in a known request from a frame that is not a message at all.
 */
export function parseJsonFrame<T>(
  schema: z.ZodType<T>,
  text: string,
): { ok: true; value: T } | { ok: false; error: string; raw?: unknown } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, error: 'frame is not valid JSON' };
  }
  const parsed = schema.safeParse(raw);
  if (parsed.success) return { ok: true, value: parsed.data };
  const issue = parsed.error.issues[0];
  const where = issue && issue.path.length > 0 ? ` at "${issue.path.join('.')}"` : '';
  return { ok: false, error: `invalid message${where}: ${issue?.message ?? 'unknown problem'}`, raw };
}

/** Every type a server of this version sends. */
export const SERVER_MESSAGE_TYPES: ReadonlySet<string> = new Set(ServerMessage.options.map((option) => option.shape.type.value));

/**
 * A message of a type this client does not know (a newer server's): passed over, so a
 * client keeps working against a node that says more than it understands. A known type
 * with bad fields is still an error.
 */
export function isUnknownServerMessage(raw: unknown): boolean {
  return typeof raw === 'object' && raw !== null && typeof (raw as { type?: unknown }).type === 'string' && !SERVER_MESSAGE_TYPES.has((raw as { type: string }).type);
}

/** Every type a client may send. */
export const CLIENT_MESSAGE_TYPES: ReadonlySet<string> = new Set(ClientMessage.options.map((option) => option.shape.type.value));

/** A frame that is a JSON object naming a type clients send (whatever else is wrong with it). */
export function namesClientType(raw: unknown): boolean {
  return typeof raw === 'object' && raw !== null && typeof (raw as { type?: unknown }).type === 'string' && CLIENT_MESSAGE_TYPES.has((raw as { type: string }).type);
}

/** Reads `id` from a frame that failed validation, so the error can name its request. */
export function requestIdOf(text: string): number | null {
  try {
    const raw: unknown = JSON.parse(text);
    if (typeof raw === 'object' && raw !== null && 'id' in raw) {
      const value = (raw as { id: unknown }).id;
      if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 2 ** 31) return value;
    }
  } catch {
    /* not JSON: no id to name */
  }
  return null;
}
