// The session core: everything a Holdfast client does, with no UI and no sockets of
// its own (it is handed a SocketFactory). The renderer and the CLI both drive this.
//
// One control connection carries sign-in and the catalog; each launched session gets
// its own connection, so one session's flow control never stalls another's.
import type { AppInfo, UserInfo } from '../protocol/index.js';
import { Connection, ProtocolError } from './connection.js';
import { SessionStream } from './session-stream.js';
import type { SocketFactory } from './socket.js';

export type ConnectionStatus = 'offline' | 'connecting' | 'online';

export interface ClientOptions {
  brokerUrl: string;
  socketFactory: SocketFactory;
  connectTimeoutMs?: number;
}

export interface ClientState {
  status: ConnectionStatus;
  /** Why the control connection is offline, for people. */
  statusDetail: string;
  user: UserInfo | null;
  node: string | null;
}

export class HoldfastClient {
  private control: Connection | null = null;
  private accessToken: string | null = null;
  private refreshTimer: TimerHandle | undefined;
  private listeners = new Set<(state: ClientState) => void>();
  private sessions = new Set<SessionStream>();
  state: ClientState = { status: 'offline', statusDetail: 'not signed in', user: null, node: null };

  constructor(private readonly options: ClientOptions) {}

  get brokerUrl(): string {
    return this.options.brokerUrl;
  }

  subscribe(listener: (state: ClientState) => void): () => void {
    this.listeners.add(listener);
    listener(this.state);
    return () => this.listeners.delete(listener);
  }

  async signIn(user: string, password: string): Promise<UserInfo> {
    this.signOut();
    this.update({ status: 'connecting', statusDetail: 'signing in' });
    const connection = this.connection(undefined, (code, reason) => {
      if (this.control !== connection) return;
      this.control = null;
      this.update({ status: 'offline', statusDetail: reason });
    });
    this.control = connection;
    try {
      const welcome = await connection.open();
      this.update({ node: welcome.node });
      const signedIn = await connection.request({ type: 'auth.signIn', user, password }, 'auth.signedIn');
      this.accessToken = signedIn.accessToken;
      this.scheduleRefresh(signedIn.expiresAt);
      this.update({ status: 'online', statusDetail: `connected to ${welcome.node}`, user: signedIn.user });
      return signedIn.user;
    } catch (error) {
      if (this.control === connection) {
        this.control = null;
        connection.close();
      }
      this.update({ status: 'offline', statusDetail: error instanceof Error ? error.message : String(error), user: null });
      throw error;
    }
  }

  async listApps(): Promise<AppInfo[]> {
    const reply = await this.requireControl().request({ type: 'apps.list' }, 'apps.list.ok');
    return reply.apps;
  }

  /** Starts an app on its own connection and returns its stream once the host has it running. */
  async launch(appId: string, cols: number, rows: number): Promise<SessionStream> {
    if (!this.accessToken) throw new ProtocolError('unauthenticated', 'sign in before launching an app');
    let stream: SessionStream | null = null;
    const early: Uint8Array[] = [];
    const connection = this.connection(this.accessToken, (_code, reason) => {
      if (stream) {
        this.sessions.delete(stream);
        stream.handleLost(reason);
      }
    });
    connection.options.onBinary = (frame) => (stream ? stream.handleBinary(frame) : early.push(frame));
    connection.options.onMessage = (message) => {
      if (message.type === 'session.exited' && stream) stream.handleExit(message);
    };
    await connection.open();
    try {
      const started = await connection.request({ type: 'session.launch', appId, cols, rows }, 'session.started');
      stream = new SessionStream(connection, started);
      for (const frame of early) stream.handleBinary(frame);
      this.sessions.add(stream);
      return stream;
    } catch (error) {
      connection.close();
      throw error;
    }
  }

  /** Ends every session of this client and forgets the sign-in. */
  signOut(): void {
    if (this.refreshTimer !== undefined) clearTimeout(this.refreshTimer);
    this.refreshTimer = undefined;
    for (const session of this.sessions) session.close();
    this.sessions.clear();
    this.accessToken = null;
    const control = this.control;
    this.control = null;
    control?.close();
    this.update({ status: 'offline', statusDetail: 'signed out', user: null });
  }

  private connection(accessToken: string | undefined, onClose: (code: number, reason: string) => void) {
    const connection = new Connection({
      brokerUrl: this.options.brokerUrl,
      socketFactory: this.options.socketFactory,
      accessToken,
      connectTimeoutMs: this.options.connectTimeoutMs,
      onClose,
    });
    return connection;
  }

  private requireControl(): Connection {
    if (!this.control || !this.control.isOpen()) {
      throw new ProtocolError('disconnected', 'not connected to the broker: sign in again');
    }
    return this.control;
  }

  /** Renews the access token at 80 % of its life so new sessions keep launching. */
  private scheduleRefresh(expiresAt: number): void {
    if (this.refreshTimer !== undefined) clearTimeout(this.refreshTimer);
    const lifetime = Math.max(1_000, (expiresAt - Date.now()) * 0.8);
    this.refreshTimer = setTimeout(() => {
      const control = this.control;
      if (!control?.isOpen()) return;
      control
        .request({ type: 'auth.refresh' }, 'auth.signedIn')
        .then((reply) => {
          this.accessToken = reply.accessToken;
          this.scheduleRefresh(reply.expiresAt);
        })
        .catch(() => this.update({ statusDetail: 'could not renew sign-in' }));
    }, Math.min(lifetime, 2 ** 31 - 1));
  }

  private update(patch: Partial<ClientState>): void {
    this.state = { ...this.state, ...patch };
    for (const listener of this.listeners) listener(this.state);
  }
}
