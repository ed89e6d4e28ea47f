// The bench's own protocol client: one `ws` socket speaking shared/protocol (its
// subprotocol, frame encoders and decoder), and a session on it that acknowledges
// output as the session core does. A measuring instrument: no copies per frame.
import { WebSocket } from 'ws';
import {
  BEARER_PREFIX,
  SUBPROTOCOL,
  WS_PATH,
  decodeFrame,
  encodeInput,
  encodeOutputAck,
  type ClientMessage,
  type ErrorMessage,
  type ServerMessage,
  type SessionExited,
  type SessionStarted,
  type Welcome,
} from '../shared/protocol/index.js';
import { PASSWORD, USER } from './settings.js';
import { nowNs, sleep, withTimeout } from './timing.js';

type Reply<T extends ServerMessage['type']> = Extract<ServerMessage, { type: T }>;
/** A request as sent: its id is the client's to add. */
type Request = ClientMessage extends infer M ? (M extends { id: number } ? Omit<M, 'id'> : never) : never;
export interface CloseInfo {
  code: number;
  reason: string;
  seq: number;
}

/** Orders exits and closes across every client of the bench: which came first. */
let eventSeq = 0;
/** Part 11: the certificate of the bench's TLS node (`holdfast cert dev`), trusted as a CA by its clients. */
let trustedCa: Buffer | null = null;
export function trustCa(ca: Buffer): void {
  trustedCa = ca;
}

const wsUrl = (base: string) => base.replace(/^http/, 'ws') + WS_PATH;

export class ProtoClient {
  static async open(baseUrl: string, token?: string): Promise<ProtoClient> {
    const protocols = [SUBPROTOCOL];
    if (token) protocols.push(BEARER_PREFIX + token);
    const tls = baseUrl.startsWith('https:') ? { ca: trustedCa ?? undefined } : {};
    const client = new ProtoClient(new WebSocket(wsUrl(baseUrl), protocols, { perMessageDeflate: false, maxPayload: 64 << 20, ...tls }));
    await withTimeout(client.welcomed, 10_000, 'welcome');
    return client;
  }

  private nextId = 1;
  private readonly pending = new Map<number, { resolve(m: ServerMessage): void; reject(e: Error): void; expect: string }>();
  /** Output bytes (a Buffer, read in place), their offset in the stream, and the input acknowledged. */
  onOutput: ((data: Buffer, offset: number, inputAck: number) => void) | null = null;
  /** AUDIO frames (part 15, sound.ts): one Opus packet (read in place), its time on the sound's clock, the frame's size. */
  onAudio: ((data: Buffer, at: number, frameBytes: number) => void) | null = null;
  onMessage: ((message: ServerMessage) => void) | null = null;
  closeInfo: CloseInfo | null = null;
  readonly problems: string[] = [];
  readonly welcomed: Promise<Welcome>;
  readonly closed: Promise<CloseInfo>;
  private resolveWelcome!: (w: Welcome) => void;
  private rejectWelcome!: (e: Error) => void;

  constructor(private readonly ws: WebSocket) {
    this.welcomed = new Promise((resolve, reject) => {
      this.resolveWelcome = resolve;
      this.rejectWelcome = reject;
    });
    this.welcomed.catch(() => {});
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.closeInfo = { code, reason: reason.toString(), seq: ++eventSeq };
        this.rejectWelcome(new Error(`closed before welcome: ${code} ${reason}`));
        for (const [, p] of this.pending) p.reject(new Error(`connection closed (${code} ${reason}) awaiting ${p.expect}`));
        this.pending.clear();
        resolve(this.closeInfo);
      });
    });
    ws.on('error', (error) => this.problems.push(`socket error: ${error.message}`));
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        // A Buffer as it came (no copy: a client reads frames in place, as the web
        // client does); a Buffer's subarray is a Buffer, so the payload is one too.
        const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
        const frame = decodeFrame(buf);
        if (typeof frame === 'string') this.problems.push(frame);
        else if (frame.type === 'audio' && this.onAudio) this.onAudio(frame.data as Buffer, frame.at, buf.length);
        else if (frame.type !== 'output') this.problems.push(`unexpected binary frame type 0x${buf[0]?.toString(16)}`);
        else this.onOutput?.(frame.data as Buffer, frame.offset, frame.inputAck);
        return;
      }
      let message: ServerMessage;
      try {
        message = JSON.parse(data.toString('utf8')) as ServerMessage;
      } catch {
        this.problems.push('server sent a text frame that is not JSON');
        return;
      }
      if (message.type === 'welcome') return this.resolveWelcome(message);
      const id = 'id' in message ? message.id : null;
      if (typeof id === 'number' && this.pending.has(id)) {
        const p = this.pending.get(id)!;
        this.pending.delete(id);
        if (message.type === p.expect) p.resolve(message);
        else p.reject(new Error(`${p.expect} expected, got ${message.type}: ${'message' in message ? message.message : ''}`));
        return;
      }
      this.onMessage?.(message);
    });
  }

  request<T extends ServerMessage['type']>(message: Request, expect: T, ms = 30_000): Promise<Reply<T>> {
    const id = this.nextId++;
    const reply = new Promise<Reply<T>>((resolve, reject) => this.pending.set(id, { resolve: resolve as (m: ServerMessage) => void, reject, expect }));
    this.ws.send(JSON.stringify({ ...message, id }));
    return withTimeout(reply, ms, `${message.type} → ${expect}`);
  }

  send(frame: string | Uint8Array): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(frame);
  }

  close(code = 1000): Promise<CloseInfo> {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close(code, 'bench done');
    return withTimeout(this.closed, 5000, 'websocket close').catch(() => {
      this.ws.terminate();
      return this.closed;
    });
  }
}

/** Signs in (the bench's person, or another of the same password: part 14's viewers). */
export async function signIn(url: string, user = USER): Promise<{ control: ProtoClient; token: string }> {
  const c = await ProtoClient.open(url);
  const reply = await c.request({ type: 'auth.signIn', user, password: PASSWORD }, 'auth.signedIn');
  return { control: c, token: reply.accessToken };
}

/**
 * One session on its own connection. Acknowledges output as the session core does
 * (every window/4 bytes, else after 50 ms) unless `ack` is false; keeps the output if
 * `keep`; records offset gaps, the exit message and the close, in arrival order.
 */
export class ProtoSession {
  static async launch(url: string, token: string, appId: string, { ack = true, keep = false, cols = 80, rows = 24 } = {}): Promise<ProtoSession> {
    const client = await ProtoClient.open(url, token);
    const session = new ProtoSession(client, { ack, keep });
    session.tLaunch = nowNs();
    const started = await client.request({ type: 'session.launch', appId, cols, rows }, 'session.started');
    session.tStarted = nowNs();
    session.started = started;
    session.window = started.window;
    session.ackEvery = Math.max(1, Math.floor(started.window / 4));
    return session;
  }

  tLaunch = 0n;
  tStarted = 0n;
  tFirstOutput: bigint | null = null;
  started!: SessionStarted;
  window = 0;
  private ackEvery = 1;
  private ackEnabled: boolean;
  private readonly keep: boolean;
  private readonly chunks: Buffer[] = [];
  received = 0;
  private acked = 0;
  private ackTimer: NodeJS.Timeout | undefined;
  private inputSeq = 0;
  inputAck = 0;
  readonly gaps: Array<{ expected: number; got: number }> = [];
  exited: (SessionExited & { seq: number; receivedAtExit: number }) | null = null;
  readonly errors: ErrorMessage[] = [];
  outputAfterExit = 0;
  /** Where output goes as it arrives (the Buffer is the frame's, read in place). */
  onData: ((data: Buffer) => void) | null = null;
  private readonly exitWaiters: Array<() => void> = [];

  constructor(
    readonly client: ProtoClient,
    { ack, keep }: { ack: boolean; keep: boolean },
  ) {
    this.ackEnabled = ack;
    this.keep = keep;
    client.onOutput = (data, offset, inputAck) => {
      if (this.tFirstOutput === null && data.length > 0) this.tFirstOutput = nowNs();
      if (offset !== this.received) this.gaps.push({ expected: this.received, got: offset });
      if (this.exited) this.outputAfterExit += data.length;
      this.received = offset + data.length;
      if (inputAck > this.inputAck) this.inputAck = inputAck;
      if (this.keep) this.chunks.push(Buffer.from(data));
      this.onData?.(data);
      if (this.ackEnabled) this.maybeAck();
    };
    client.onMessage = (message) => {
      if (message.type === 'session.exited') {
        this.exited = { ...message, seq: ++eventSeq, receivedAtExit: this.received };
        for (const w of this.exitWaiters) w();
      } else if (message.type === 'error') this.errors.push(message);
    };
  }

  private maybeAck(): void {
    if (this.received - this.acked >= this.ackEvery) return this.ackNow();
    this.ackTimer ??= setTimeout(() => this.ackNow(), 50);
  }

  ackNow(): void {
    clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    if (this.received === this.acked) return;
    this.acked = this.received;
    this.client.send(encodeOutputAck(this.acked));
  }

  resumeAcks(): void {
    this.ackEnabled = true;
    this.ackNow();
  }

  input(bytes: Uint8Array): void {
    this.inputSeq += 1;
    this.client.send(encodeInput(this.inputSeq, bytes));
  }

  output(): Buffer {
    return Buffer.concat(this.chunks);
  }

  waitExit(ms: number): Promise<unknown> {
    const exited = this.exited ? Promise.resolve() : new Promise<void>((resolve) => this.exitWaiters.push(resolve));
    return withTimeout(Promise.all([exited, this.client.closed]), ms, 'session exit and close');
  }

  /**
   * Ends the session on purpose and closes. A broker with session hold only detaches a
   * session whose socket closes, so ask for the end first (`session.end`); one without
   * it refuses the message and closes, which ends the session there too.
   */
  async close(): Promise<CloseInfo> {
    clearTimeout(this.ackTimer);
    if (!this.exited && this.client.closeInfo === null) {
      this.client.send(JSON.stringify({ type: 'session.end' } satisfies ClientMessage));
      await Promise.race([this.client.closed, sleep(3000)]);
    }
    return this.client.close();
  }
}
