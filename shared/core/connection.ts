// One WebSocket to a broker node: opens it (with a timeout), correlates requests with
// replies by id, and hands unsolicited messages, binary frames and its close to its
// one consumer (Connection.bind). Every frame from the server is parsed as `unknown`
// through the protocol schemas.
import {
  BEARER_PREFIX,
  CloseCode,

  ServerMessage,
  isUnknownServerMessage,
  SUBPROTOCOL,
  WS_PATH,
  parseJsonFrame,
  type ClientRequest,
  type Welcome,
} from '../protocol/index.js';
import { SocketState, toBytes, type SocketFactory, type SocketLike } from './socket.js';

export class ProtocolError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}

export interface ConnectionOptions {
  brokerUrl: string;
  socketFactory: SocketFactory;
  accessToken?: string;
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
}

/**
 * What a connection hears besides replies to its requests: binary frames (a session's
 * output), unsolicited messages, and its close. One consumer at a time receives them;
 * see Connection.bind.
 */
export interface ConnectionConsumer {
  /** A binary frame, as received (a Buffer under Node, a view of the ArrayBuffer in browsers). */
  binary(frame: Uint8Array): void;
  /** A message that answers no request of this connection's. */
  message(message: ServerMessage): void;
  /** The socket closed (the code and the reason, for people); pending requests are rejected first. */
  closed(code: number, reason: string): void;
}

/** The consumer of a connection nobody has bound: it ignores everything. */
const nobody: ConnectionConsumer = { binary() {}, message() {}, closed() {} };

type Pending = { resolve: (message: ServerMessage) => void; reject: (error: Error) => void; timer: TimerHandle };

/** Turns `http(s)://host[:port][/path]` or `ws(s)://…` into the node's WebSocket URL. */
export function socketUrl(brokerUrl: string): string {
  const match = /^(https?|wss?):\/\/([^/?#]+)/i.exec(brokerUrl.trim());
  if (!match) throw new ProtocolError('bad_request', `"${brokerUrl}" is not a broker URL (expected http(s):// or ws(s)://)`);
  const scheme = match[1]!.toLowerCase();
  const secure = scheme === 'https' || scheme === 'wss';
  return `${secure ? 'wss' : 'ws'}://${match[2]}${WS_PATH}`;
}

/**
 * Why a consumer is bound through a method and not set as a handler property: a
 * session stream's interest in its connection changes over the connection's life — while
 * a session is being opened only its output counts (the host may stream before the
 * stream starts watching the link), while it streams messages and the close count too,
 * and once it lets go, nothing. Each change is one explicit call here (bind, or the
 * unbind it returned) rather than a property of this object that another module
 * overwrites. Whoever needs the connection from the start passes its consumer to the
 * constructor.
 */
export class Connection {
  private socket: SocketLike | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closed = false;
  /** The single owner of the binary stream, unsolicited messages and the close. */
  private consumer: ConnectionConsumer;
  welcome: Welcome | null = null;

  constructor(
    readonly options: Readonly<ConnectionOptions>,
    consumer: ConnectionConsumer = nobody,
  ) {
    this.consumer = consumer;
  }

  /**
   * Makes `consumer` the one receiver of this connection's binary frames, unsolicited
   * messages and close, replacing the one before (which hears nothing more): a
   * session's output offsets and acknowledgements make sense to one reader only.
   * Returns an unbind that detaches `consumer` if it is still the one bound (and does
   * nothing if another has replaced it since). Frames that arrive while nobody is
   * bound are dropped.
   */
  bind(consumer: ConnectionConsumer): () => void {
    this.consumer = consumer;
    return () => {
      if (this.consumer === consumer) this.consumer = nobody;
    };
  }

  /** Opens the socket and waits for the node's welcome. */
  open(): Promise<Welcome> {
    const { socketFactory, accessToken, connectTimeoutMs = 10_000 } = this.options;
    const protocols = [SUBPROTOCOL];
    if (accessToken) protocols.push(BEARER_PREFIX + accessToken);
    return new Promise<Welcome>((resolve, reject) => {
      let settled = false;
      const settle = (error: Error | null, welcome?: Welcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error) reject(error);
        else resolve(welcome!);
      };
      const timer = setTimeout(() => {
        settle(new ProtocolError('timeout', `could not reach the broker within ${connectTimeoutMs / 1000} s`));
        this.close();
      }, connectTimeoutMs);
      let socket: SocketLike;
      try {
        socket = socketFactory(socketUrl(this.options.brokerUrl), protocols);
      } catch (error) {
        settle(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      this.socket = socket;
      // Browsers deliver binary frames as Blobs unless told otherwise; `ws` hands over
      // Buffers, which are Uint8Arrays already — leave those alone (no copy).
      if (socket.binaryType === 'blob') socket.binaryType = 'arraybuffer';
      socket.onmessage = (event) => {
        if (typeof event.data === 'string') {
          const parsed = parseJsonFrame(ServerMessage, event.data);
          if (!parsed.ok) {
            // A newer node's message this client does not know is passed over, not a broken link.
            if (isUnknownServerMessage(parsed.raw)) return;
            this.fail(CloseCode.invalidPayload, `broker sent an ${parsed.error}`);
            return;
          }
          const message = parsed.value;
          if (message.type === 'welcome') {
            this.welcome = message;
            settle(null, message);
            return;
          }
          this.dispatch(message);
          return;
        }
        const bytes = toBytes(event.data);
        if (bytes) this.consumer.binary(bytes);
      };
      socket.onerror = () => {
        /* the close event that always follows carries what we report */
      };
      socket.onclose = (event) => {
        this.closed = true;
        const reason = event.reason || describeClose(event.code);
        settle(new ProtocolError(event.code === CloseCode.unauthenticated ? 'unauthenticated' : 'unreachable', reason));
        for (const [, pending] of this.pending) {
          clearTimeout(pending.timer);
          pending.reject(new ProtocolError('disconnected', `connection to the broker closed: ${reason}`));
        }
        this.pending.clear();
        this.consumer.closed(event.code, reason);
      };
    });
  }

  /** Sends a request and resolves with its reply, or rejects with the broker's error; `timeoutMs` for one that waits on a person (default: the connection's). */
  request<T extends ServerMessage['type']>(
    message: DistributiveOmit<ClientRequest, 'id'>,
    expect: T,
    timeoutMs?: number,
  ): Promise<Extract<ServerMessage, { type: T }>> {
    const id = this.nextId++;
    const requestTimeoutMs = timeoutMs ?? this.options.requestTimeoutMs ?? 30_000;
    return new Promise((resolve, reject) => {
      if (!this.isOpen()) {
        reject(new ProtocolError('disconnected', 'not connected to the broker'));
        return;
      }
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new ProtocolError('timeout', `the broker did not answer ${message.type} within ${requestTimeoutMs / 1000} s`));
      }, requestTimeoutMs);
      this.pending.set(id, {
        timer,
        reject,
        resolve: (reply) => {
          if (reply.type === 'error') reject(new ProtocolError(reply.code, reply.message, reply.retryAfterMs));
          else if (reply.type === expect) resolve(reply as Extract<ServerMessage, { type: T }>);
          else reject(new ProtocolError('bad_reply', `expected ${expect}, broker sent ${reply.type}`));
        },
      });
      this.socket!.send(JSON.stringify({ ...message, id }));
    });
  }

  sendJson(message: object): void {
    if (this.isOpen()) this.socket!.send(JSON.stringify(message));
  }

  sendBinary(frame: Uint8Array): void {
    if (this.isOpen()) this.socket!.send(frame);
  }

  isOpen(): boolean {
    return !this.closed && this.socket !== null && this.socket.readyState === SocketState.open;
  }

  close(code: number = CloseCode.normal, reason = ''): void {
    if (this.socket && this.socket.readyState < SocketState.closing) this.socket.close(code, reason);
  }

  private dispatch(message: ServerMessage): void {
    const id = 'id' in message ? message.id : null;
    if (id !== null && this.pending.has(id)) {
      const pending = this.pending.get(id)!;
      this.pending.delete(id);
      clearTimeout(pending.timer);
      pending.resolve(message);
      return;
    }
    this.consumer.message(message);
  }

  private fail(code: number, reason: string): void {
    this.close(code, reason.slice(0, 120));
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export function describeClose(code: number): string {
  switch (code) {
    case CloseCode.normal:
      return 'closed normally';
    case CloseCode.goingAway:
      return 'the broker is shutting down';
    case 1006:
      return 'the connection was lost';
    case CloseCode.unauthenticated:
      return 'your sign-in has expired; sign in again';
    default:
      return `closed with code ${code}`;
  }
}

