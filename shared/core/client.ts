// The session core: everything a Holdfast client does, with no UI and no sockets of
// its own (it is handed a SocketFactory). The renderer and the CLI both drive this.
//
// One control connection carries sign-in and the catalog; each launched session gets
// its own connection, so one session's flow control never stalls another's.
import type { AppInfo, SessionSummary, UserInfo } from '../protocol/index.js';
import { Connection, ProtocolError } from './connection.js';
import { SessionStream } from './session-stream.js';
import { backoffMs } from './session-machine.js';
import { clientMachine, type SignInInput } from './client-machine.js';
import { createActor, fromPromise, type Actor } from 'xstate';
import type { SocketFactory } from './socket.js';
import { BrokerList } from './brokers.js';

const ignore = () => {};

export type ConnectionStatus = 'offline' | 'connecting' | 'online';
export type ClientPhase = 'signedOut' | 'signingIn' | 'ready';

export interface ClientOptions {
  brokerUrl: string;
  socketFactory: SocketFactory;
  connectTimeoutMs?: number;
  /** A session link that carries nothing for this long is treated as lost (default: the node's heartbeat). */
  deadAfterMs?: number;
  /** Called with each refresh token the broker issues ("remember me"); each replaces the one before. */
  onRefreshToken?: (grant: RefreshGrant) => void;
  /**
   * When the broker refuses the access token on a reconnect (it expired while the link
   * was down, or the node's key changed), a way to sign in again without the person:
   * a kiosk's stored secret, or a remembered refresh token. Sessions are not touched.
   */
  renewSignIn?: () => Promise<SignInInput | null>;
  /**
   * Where this device keeps the device tokens the broker gives at each password sign-in
   * (one per person): sent with the next sign-in as that person, they keep others'
   * guessing of the name from slowing this device down. Default: kept in memory.
   */
  devices?: DeviceTokens;
  /**
   * This screen's device pixels per CSS pixel as graphical apps are drawn on it (1 to 4;
   * the web client's preference decides: renderer rfb-fit.ts launchScale). Sent with each
   * launch, and with each resume (an app restarted for it starts told it too).
   */
  screenScale?: () => number;
}

/** A device's proof, per person, that it signed in as them before (not a credential: it opens nothing). */
export interface DeviceTokens {
  get(user: string): string | null;
  set(user: string, token: string): void;
}

/** Device tokens for this client's lifetime only. */
export function memoryDeviceTokens(): DeviceTokens {
  const tokens = new Map<string, string>();
  return { get: (user) => tokens.get(user.toLowerCase()) ?? null, set: (user, token) => void tokens.set(user.toLowerCase(), token) };
}

export interface RefreshGrant {
  brokerUrl: string;
  user: string;
  refreshToken: string;
  expiresAt: number;
}

export interface ClientState {
  /** Where the person is: signed out, signing in, or ready (signed in). */
  phase: ClientPhase;
  status: ConnectionStatus;
  /** Why the control connection is offline, for people. */
  statusDetail: string;
  user: UserInfo | null;
  node: string | null;
}

export class HoldfastClient {
  private control: Connection | null = null;
  private accessToken: string | null = null;
  /** Whether the signed-in person has two-step sign-in on (null: the broker did not say). */
  private twoStep: boolean | null = null;
  private refreshTimer: TimerHandle | undefined;
  private controlTimer: TimerHandle | undefined;
  private controlAttempts = 0;
  private listeners = new Set<(state: ClientState) => void>();
  private sessions = new Set<SessionStream>();
  state: ClientState = { phase: 'signedOut', status: 'offline', statusDetail: 'not signed in', user: null, node: null };

  private readonly actor: Actor<typeof clientMachine>;
  /** The node this client was pointed at, then the rest of its cluster. */
  readonly brokers: BrokerList;

  private readonly devices: DeviceTokens;

  constructor(private readonly options: ClientOptions) {
    this.brokers = new BrokerList(options.brokerUrl);
    this.devices = options.devices ?? memoryDeviceTokens();
    const machine = clientMachine.provide({
      actors: { signIn: fromPromise<UserInfo, SignInInput>(({ input }) => this.openControl(input)) },
    });
    this.actor = createActor(machine);
    this.actor.subscribe((snapshot) => {
      const phase = snapshot.value as ClientPhase;
      if (phase !== this.state.phase) this.update({ phase });
    });
    this.actor.start();
  }

  get brokerUrl(): string {
    return this.options.brokerUrl;
  }

  /** The current access token, for the broker's HTTP admin API (Authorization: Bearer); null when signed out. */
  get apiToken(): string | null {
    return this.accessToken;
  }

  subscribe(listener: (state: ClientState) => void): () => void {
    this.listeners.add(listener);
    listener(this.state);
    return () => this.listeners.delete(listener);
  }

  /** Signs in (signing out first); resolves with the person, or rejects with why not. */
  signIn(user: string, password: string, options: { remember?: boolean; code?: string } = {}): Promise<UserInfo> {
    return this.startSignIn({ user, password, remember: options.remember === true, ...(options.code ? { code: options.code } : {}) });
  }

  /** Starts setting up two-step sign-in: the secret to add to an authenticator app (text, URI, QR code as SVG). */
  async beginTotp(): Promise<{ secret: string; uri: string; qrSvg: string }> {
    const { secret, uri, qrSvg } = await (await this.ensureControl()).request({ type: 'auth.totp.begin' }, 'auth.totp.setup');
    return { secret, uri, qrSvg };
  }

  /** Confirms two-step sign-in with the app's first code; resolves with the recovery codes (shown once). */
  async confirmTotp(code: string): Promise<string[]> {
    const codes = (await (await this.ensureControl()).request({ type: 'auth.totp.confirm', code }, 'auth.totp.enabled')).recoveryCodes;
    this.twoStep = true;
    return codes;
  }

  /** Whether the signed-in person has two-step sign-in on (null: not known). */
  get twoStepOn(): boolean | null {
    return this.twoStep;
  }

  /**
   * Finishes a sign-in through the node's identity provider: the one-time code it left
   * (in the web client's URL fragment, or a holdfast:// link) and the handoff value this
   * client started it with (docs/protocol.md#sign-in-with-an-identity-provider).
   */
  signInWithCode(code: string, handoff: string, options: { remember?: boolean } = {}): Promise<UserInfo> {
    return this.startSignIn({ oidcCode: code, handoff, remember: options.remember === true });
  }

  /** Signs in with a refresh token kept from a "remember me" sign-in; the broker rotates it (onRefreshToken). */
  signInWithToken(refreshToken: string): Promise<UserInfo> {
    return this.startSignIn({ refreshToken });
  }

  private startSignIn(input: SignInInput): Promise<UserInfo> {
    this.signOut();
    return new Promise((resolve, reject) => {
      const subscription = this.actor.subscribe((snapshot) => {
        if (snapshot.value === 'ready') resolve(snapshot.context.user!);
        else if (snapshot.value === 'signedOut') reject(this.lastSignInError ?? new ProtocolError('sign_in_failed', snapshot.context.error ?? 'sign-in failed'));
        else return;
        queueMicrotask(() => subscription.unsubscribe());
      });
      this.actor.send({ type: 'signIn', ...input });
    });
  }

  private lastSignInError: Error | null = null;

  private async openControl(input: SignInInput): Promise<UserInfo> {
    this.lastSignInError = null;
    this.update({ status: 'connecting', statusDetail: 'signing in' });
    const connection = this.connection(undefined, (_code, reason) => this.controlLost(connection, reason));
    this.control = connection;
    try {
      const welcome = await connection.open();
      this.brokers.update(welcome.brokers);
      this.update({ node: welcome.node });
      const signedIn = await this.requestSignIn(connection, input);
      this.scheduleRefresh(signedIn.expiresAt);
      this.update({ status: 'online', statusDetail: `connected to ${welcome.node}`, user: signedIn.user });
      return signedIn.user;
    } catch (error) {
      if (this.control === connection) {
        this.control = null;
        connection.close();
      }
      this.update({ status: 'offline', statusDetail: error instanceof Error ? error.message : String(error), user: null });
      this.lastSignInError = error instanceof Error ? error : new Error(String(error));
      throw error;
    }
  }

  private async requestSignIn(connection: Connection, input: SignInInput) {
    const signedIn =
      'refreshToken' in input
        ? await connection.request({ type: 'auth.signInWithToken', refreshToken: input.refreshToken }, 'auth.signedIn')
        : 'oidcCode' in input
          ? await connection.request({ type: 'auth.signInWithCode', code: input.oidcCode, handoff: input.handoff, ...(input.remember ? { remember: true } : {}) }, 'auth.signedIn')
          : await this.passwordSignIn(connection, input);
    this.accessToken = signedIn.accessToken;
    this.twoStep = signedIn.twoStep ?? null;
    if (signedIn.refreshToken && signedIn.refreshExpiresAt) {
      this.options.onRefreshToken?.({ brokerUrl: this.options.brokerUrl, user: signedIn.user.name, refreshToken: signedIn.refreshToken, expiresAt: signedIn.refreshExpiresAt });
    }
    return signedIn;
  }

  private async passwordSignIn(connection: Connection, input: { user: string; password: string; remember?: boolean; code?: string }) {
    const device = this.devices.get(input.user);
    const signedIn = await connection.request(
      { type: 'auth.signIn', user: input.user, password: input.password, ...(input.remember ? { remember: true } : {}), ...(input.code ? { code: input.code } : {}), ...(device ? { device } : {}) },
      'auth.signedIn',
    );
    if (signedIn.deviceToken) this.devices.set(input.user, signedIn.deviceToken);
    return signedIn;
  }

  /**
   * The control connection after the access token was refused: sign in again with
   * renewSignIn's credential — once, however many requests found the token refused
   * together (a refresh token works once; the broker takes a second use for a copy).
   */
  private renewControl(refused: ProtocolError): Promise<Connection> {
    this.renewing ??= this.renewControlOnce(refused).finally(() => (this.renewing = null));
    return this.renewing;
  }

  private renewing: Promise<Connection> | null = null;

  private async renewControlOnce(refused: ProtocolError): Promise<Connection> {
    const input = await this.options.renewSignIn?.();
    if (!input) throw refused;
    const connection = this.connection(undefined, (_code, reason) => this.controlLost(connection, reason));
    this.control = connection;
    try {
      const welcome = await connection.open();
      this.brokers.update(welcome.brokers);
      const signedIn = await this.requestSignIn(connection, input);
      this.scheduleRefresh(signedIn.expiresAt);
      this.controlAttempts = 0;
      this.update({ status: 'online', statusDetail: `connected to ${welcome.node}`, node: welcome.node });
      return connection;
    } catch (error) {
      if (this.control === connection) this.control = null;
      connection.close();
      throw error;
    }
  }

  async listApps(): Promise<AppInfo[]> {
    const reply = await (await this.ensureControl()).request({ type: 'apps.list' }, 'apps.list.ok');
    return reply.apps;
  }

  /** Starts an app on its own connection; the stream's status says how it goes. */
  launch(appId: string, cols: number, rows: number): SessionStream {
    if (!this.accessToken) throw new ProtocolError('unauthenticated', 'sign in before launching an app');
    return this.track(new SessionStream({ appId, cols, rows, mode: 'launch', ...this.streamOptions() }));
  }

  /** Attaches to one of this person's running sessions (started here or on another client). */
  attach(session: SessionSummary, cols: number, rows: number): SessionStream {
    if (!this.accessToken) throw new ProtocolError('unauthenticated', 'sign in before attaching to a session');
    return this.track(new SessionStream({ appId: session.appId, cols, rows, mode: 'attach', sessionId: session.sessionId, ...this.streamOptions() }));
  }

  /** Watches someone's session through a share link (docs/protocol.md#sharing-a-session), on its own connection. */
  join(link: string, cols: number, rows: number): SessionStream {
    if (!this.accessToken) throw new ProtocolError('unauthenticated', 'sign in before opening a shared session');
    return this.track(new SessionStream({ appId: '', cols, rows, mode: 'join', link, ...this.streamOptions() }));
  }

  /** Watches a session without signing in, as `name`, through a link that lets guests in (where the broker allows them). */
  joinAsGuest(link: string, name: string, cols: number, rows: number): SessionStream {
    return this.track(new SessionStream({ appId: '', cols, rows, mode: 'join', link, guest: name, ...this.streamOptions() }));
  }

  /** An administrator views (`control`: and types into) someone's session, once its person allows it (docs/protocol.md#shadowing). */
  shadow(sessionId: string, control: boolean, cols: number, rows: number): SessionStream {
    if (!this.accessToken) throw new ProtocolError('unauthenticated', 'sign in before viewing a session');
    return this.track(new SessionStream({ appId: '', cols, rows, mode: 'join', shadow: { sessionId, control }, ...this.streamOptions() }));
  }

  /**
   * Ends one of this person's running sessions that is not open here: attaches to it
   * on a connection of its own (taking it from any other client) and ends it there.
   */
  async endSession(session: SessionSummary): Promise<void> {
    const stream = this.attach(session, 80, 24);
    await stream.ready();
    stream.close();
    await stream.finished();
  }

  /** This person's sessions on the broker, attached or waiting for a client. */
  async listSessions(): Promise<SessionSummary[]> {
    const reply = await (await this.ensureControl()).request({ type: 'sessions.list' }, 'sessions.list.ok');
    return reply.sessions;
  }

  private streamOptions() {
    return {
      connection: { socketFactory: this.options.socketFactory, connectTimeoutMs: this.options.connectTimeoutMs },
      brokers: this.brokers,
      accessToken: () => this.accessToken,
      deadAfterMs: this.options.deadAfterMs,
      ...(this.options.screenScale ? { scale: this.options.screenScale } : {}),
    };
  }

  private track(stream: SessionStream): SessionStream {
    this.sessions.add(stream);
    stream.finished().then(() => this.sessions.delete(stream));
    return stream;
  }

  /**
   * Forgets the sign-in. `sessions`: what becomes of this client's open sessions — 'end'
   * them (the default for programs: `holdfast connect` ends what it started), or
   * 'disconnect' them: they keep running on the broker, waiting for their owner to
   * sign in again and open them (what a person signing out of the launcher expects).
   */
  signOut(options: { sessions?: 'end' | 'disconnect' } = {}): void {
    if (this.refreshTimer !== undefined) clearTimeout(this.refreshTimer);
    this.refreshTimer = undefined;
    if (this.controlTimer !== undefined) clearTimeout(this.controlTimer);
    this.controlTimer = undefined;
    for (const session of this.sessions) {
      if (options.sessions === 'disconnect') session.detach();
      else session.close();
    }
    this.sessions.clear();
    const token = this.accessToken;
    this.accessToken = null;
    const control = this.control;
    this.control = null;
    // The broker revokes the token (cluster-wide) before the connection closes; best effort.
    if (control && token) void control.request({ type: 'auth.signOut', tokens: [token] }, 'auth.signedOut').catch(() => {}).finally(() => control.close());
    else control?.close();
    if (this.actor.getSnapshot().value !== 'signedOut') this.actor.send({ type: 'signOut' });
    this.update({ status: 'offline', statusDetail: 'signed out', user: null });
  }

  /** A control connection: of what it hears besides replies, only its close matters. */
  private connection(accessToken: string | undefined, onClose: (code: number, reason: string) => void) {
    return new Connection(
      {
        brokerUrl: this.brokers.current,
        socketFactory: this.options.socketFactory,
        accessToken,
        connectTimeoutMs: this.options.connectTimeoutMs,
      },
      { binary: ignore, message: ignore, closed: onClose },
    );
  }

  /** While signed in, a lost control connection is reopened with jittered backoff. */
  private controlLost(connection: Connection, reason: string): void {
    if (this.control !== connection) return;
    this.control = null;
    this.update({ status: 'offline', statusDetail: reason });
    this.reconnectControl();
  }

  private reconnectControl(): void {
    if (!this.accessToken || this.controlTimer !== undefined) return;
    this.controlAttempts += 1;
    this.controlTimer = setTimeout(() => {
      this.controlTimer = undefined;
      if (!this.accessToken || this.control) return;
      this.ensureControl().catch(() => this.reconnectControl());
    }, backoffMs(this.controlAttempts, Math.random));
  }

  /** The control connection, reopened with the access token if it was lost. */
  private async ensureControl(): Promise<Connection> {
    if (this.control?.isOpen()) return this.control;
    const token = this.accessToken;
    if (!token) throw new ProtocolError('unauthenticated', 'not signed in');
    this.update({ status: 'connecting', statusDetail: 'reconnecting to the broker' });
    const connection = this.connection(token, (_code, reason) => this.controlLost(connection, reason));
    this.control = connection;
    try {
      const welcome = await connection.open();
      this.brokers.update(welcome.brokers);
      this.controlAttempts = 0;
      this.update({ status: 'online', statusDetail: `connected to ${welcome.node}`, node: welcome.node });
      return connection;
    } catch (error) {
      if (this.control === connection) this.control = null;
      if (error instanceof ProtocolError && error.code === 'unauthenticated' && this.options.renewSignIn && this.accessToken === token) {
        try {
          return await this.renewControl(error);
        } catch (renewError) {
          this.update({ status: 'offline', statusDetail: renewError instanceof Error ? renewError.message : String(renewError) });
          throw renewError;
        }
      }
      if (error instanceof ProtocolError && (error.code === 'unreachable' || error.code === 'timeout')) this.brokers.next();
      this.update({ status: 'offline', statusDetail: error instanceof Error ? error.message : String(error) });
      throw error;
    }
  }

  /** Renews the access token at 80 % of its life so new sessions keep launching. */
  private scheduleRefresh(expiresAt: number): void {
    if (this.refreshTimer !== undefined) clearTimeout(this.refreshTimer);
    const lifetime = Math.max(1_000, (expiresAt - Date.now()) * 0.8);
    this.refreshTimer = setTimeout(() => {
      this.ensureControl()
        .then((control) => control.request({ type: 'auth.refresh' }, 'auth.signedIn'))
        .then((reply) => {
          this.accessToken = reply.accessToken;
          this.scheduleRefresh(reply.expiresAt);
        })
        .catch(() => {
          this.update({ statusDetail: 'could not renew sign-in; trying again' });
          // The link may be down at the moment of renewal: try again while the token is still good.
          if (this.accessToken && Date.now() < expiresAt) this.scheduleRefresh(expiresAt);
        });
    }, Math.min(lifetime, 2 ** 31 - 1));
  }

  private update(patch: Partial<ClientState>): void {
    this.state = { ...this.state, ...patch };
    for (const listener of this.listeners) listener(this.state);
  }
}
