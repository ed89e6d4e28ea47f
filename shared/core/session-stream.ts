// A launched session, as the client sees it: output in, input out, resize, exit.
// Numbers its inputs, tracks the highest one the host applied, and acknowledges
// output only once the consumer says it has rendered it — that acknowledgement is
// the flow control that holds a chatty app back when the person's screen can't keep up.
import { CloseCode, decodeFrame, encodeInput, encodeOutputAck, type SessionExited, type SessionStarted } from '../protocol/index.js';
import type { Connection } from './connection.js';

/** Called with output; call `done` once it is on screen (or written to stdout). */
export type OutputConsumer = (data: Uint8Array, done: () => void) => void;
export type ExitInfo = Pick<SessionExited, 'exitCode' | 'signal' | 'message'>;

const encoder = new TextEncoder();
const MAX_INPUT_FRAME = 16 * 1024;

export class SessionStream {
  readonly sessionId: string;
  readonly appId: string;
  private seq = 0;
  private inputAck = 0;
  private received = 0;
  private consumed = 0;
  private acked = 0;
  private readonly ackEvery: number;
  private ackTimer: TimerHandle | undefined;
  private consumer: OutputConsumer | null = null;
  private backlog: Uint8Array[] = [];
  private exitListeners: Array<(info: ExitInfo) => void> = [];
  private exitInfo: ExitInfo | null = null;

  constructor(
    private readonly connection: Connection,
    started: SessionStarted,
  ) {
    this.sessionId = started.sessionId;
    this.appId = started.appId;
    // Acknowledge in slices of the window so the host never stalls on a full window.
    this.ackEvery = Math.max(1, Math.floor(started.window / 4));
  }

  /** Sets who renders output. Output that arrived before is delivered first. */
  setConsumer(consumer: OutputConsumer): void {
    this.consumer = consumer;
    const pending = this.backlog;
    this.backlog = [];
    for (const chunk of pending) this.deliver(chunk);
  }

  onExit(listener: (info: ExitInfo) => void): () => void {
    if (this.exitInfo) listener(this.exitInfo);
    else this.exitListeners.push(listener);
    return () => {
      this.exitListeners = this.exitListeners.filter((l) => l !== listener);
    };
  }

  get exited(): ExitInfo | null {
    return this.exitInfo;
  }

  /** Highest input sequence number the host has applied. */
  get appliedInput(): number {
    return this.inputAck;
  }

  /** Sends keystrokes or pasted text; large pastes are split into bounded frames. */
  sendInput(input: string | Uint8Array): void {
    const bytes = typeof input === 'string' ? encoder.encode(input) : input;
    for (let at = 0; at < bytes.length; at += MAX_INPUT_FRAME) {
      this.seq += 1;
      this.connection.sendBinary(encodeInput(this.seq, bytes.subarray(at, at + MAX_INPUT_FRAME)));
    }
  }

  resize(cols: number, rows: number): void {
    this.connection.sendJson({ type: 'session.resize', cols, rows });
  }

  /** Ends the session: the host stops the app. */
  close(): void {
    this.connection.close(CloseCode.normal, 'closed by the user');
  }

  /** @internal — fed by the client with this session's connection frames. */
  handleBinary(frame: Uint8Array): void {
    const decoded = decodeFrame(frame);
    if (typeof decoded === 'string' || decoded.type !== 'output') {
      this.connection.close(CloseCode.protocolError, 'unexpected binary frame from broker');
      return;
    }
    if (decoded.inputAck > this.inputAck) this.inputAck = decoded.inputAck;
    if (decoded.offset !== this.received) {
      this.connection.close(CloseCode.protocolError, `output gap: expected offset ${this.received}, got ${decoded.offset}`);
      return;
    }
    this.received += decoded.data.length;
    if (decoded.data.length === 0) return;
    if (this.consumer) this.deliver(decoded.data);
    else this.backlog.push(decoded.data);
  }

  /** @internal */
  handleExit(info: ExitInfo): void {
    if (this.exitInfo) return;
    this.exitInfo = info;
    for (const listener of this.exitListeners) listener(info);
    this.exitListeners = [];
  }

  /** @internal — the connection dropped without an exit message. */
  handleLost(reason: string): void {
    this.handleExit({ exitCode: -1, signal: null, message: `Connection to the broker lost: ${reason}` });
  }

  private deliver(data: Uint8Array): void {
    let called = false;
    this.consumer!(data, () => {
      if (called) return;
      called = true;
      this.consumed += data.length;
      if (this.consumed - this.acked >= this.ackEvery) this.sendAck();
      else if (this.ackTimer === undefined) this.ackTimer = setTimeout(() => this.sendAck(), 50);
    });
  }

  private sendAck(): void {
    if (this.ackTimer !== undefined) clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    if (this.consumed === this.acked) return;
    this.acked = this.consumed;
    this.connection.sendBinary(encodeOutputAck(this.acked));
  }
}

