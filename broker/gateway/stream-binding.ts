// A connection's bound session: the SessionPeer the session writes its output to,
// binary frame intake (input, viewer, output acks) and the echo metric, and detaching
// when the client leaves. At most one session per connection; a client never sends
// output frames, and any malformed frame closes only this connection.
import type { WebSocket } from 'ws';
import { CloseCode, ErrorCode, decodeFrame } from '../../shared/protocol/index.js';
import type { Client } from './client.js';
import type { NodeContext, SessionPeer, StreamedSession } from './context.js';

export class StreamBinding {
  private bound: StreamedSession | null = null;
  private peer: SessionPeer | null = null;
  /** When the oldest input not yet followed by output arrived (the echo histogram). */
  private inputAt: number | undefined;

  constructor(
    private readonly ctx: Pick<NodeContext, 'metrics' | 'sessions'>,
    private readonly client: Client,
    /** Output goes straight to the socket: the keystroke path. */
    private readonly ws: Pick<WebSocket, 'send' | 'bufferedAmount'>,
  ) {}

  /** The session this connection streams, if any. */
  get session(): StreamedSession | null {
    return this.bound;
  }

  /** Makes this connection the session's client. */
  bind(session: StreamedSession): void {
    this.bound = session;
    const ws = this.ws;
    const client = this.client;
    // Bound once: observing through a labelled child skips the label lookup on every frame (the keystroke path).
    const display = { display: session.app.display };
    const echo = this.ctx.metrics.echo.labels(display);
    const streamBytes = this.ctx.metrics.streamBytes.labels(display);
    this.peer = {
      sendBinary: (frame, drained) => {
        streamBytes.observe(frame.length);
        if (this.inputAt !== undefined) {
          echo.observe((performance.now() - this.inputAt) / 1000);
          this.inputAt = undefined;
        }
        if (!client.isOpen()) drained?.();
        else if (drained) ws.send(frame, { binary: true }, () => drained());
        else ws.send(frame, { binary: true });
      },
      get bufferedAmount() {
        return ws.bufferedAmount;
      },
      ended: (exit, message) => {
        client.send({ type: 'session.exited', sessionId: session.id, exitCode: exit?.exitCode ?? -1, signal: exit?.signal ?? null, message });
        this.bound = null;
        client.close(CloseCode.normal, 'session ended');
      },
      moved: (planned) => {
        this.bound = null;
        if (planned) client.close(CloseCode.moved, 'the session moved to another node; resume it there');
        else client.close(CloseCode.goingAway, 'the session moved to another node; reconnect to resume it');
      },
      notice: (notice) => {
        client.send(notice.kind === 'cleared' ? { type: 'session.notice', sessionId: session.id, kind: 'cleared', endsAt: null, msLeft: null, message: '' } : { type: 'session.notice', sessionId: session.id, kind: notice.kind, endsAt: notice.endsAt, msLeft: Math.max(0, notice.endsAt - Date.now()), message: notice.message });
      },
      title: (title) => client.send({ type: 'session.title', sessionId: session.id, title }),
      printed: ({ result, job, message }) =>
        client.send({ type: 'session.printed', sessionId: session.id, result, message, job: job && { id: job.id, name: job.name, size: job.size, pages: job.pages, createdAt: job.createdAt } }),
      displaced: () => {
        client.send({ type: 'session.detached', sessionId: session.id, message: 'This session was opened from another client.' });
        this.bound = null;
        client.close(CloseCode.displaced, 'session opened from another client');
      },
    };
    session.attach(this.peer);
    void this.ctx.sessions.noteAttachment(session.id, this.client.address);
  }

  /** A binary frame from the client: input, a viewer message or an output ack for the bound session. */
  onBinary(bytes: Buffer): void {
    const frame = decodeFrame(bytes);
    const session = this.bound;
    if (typeof frame === 'string' || !session || frame.type === 'output') {
      const why = typeof frame === 'string' ? frame : session ? 'clients do not send output frames' : 'binary frames need a launched session';
      this.client.refuse(null, ErrorCode.badRequest, why);
      return this.client.close(CloseCode.unsupportedData, why.slice(0, 120));
    }
    if (frame.type === 'input') this.inputAt ??= performance.now();
    const problem = frame.type === 'input' ? session.input(frame.seq, frame.data) : frame.type === 'rfb' ? session.viewer(frame.data) : session.outputAck(frame.offset);
    if (problem) {
      this.client.refuse(null, ErrorCode.badRequest, problem);
      this.client.close(CloseCode.protocolError, problem.slice(0, 120));
    }
  }

  /** The client left. A lost connection only detaches: the session waits for its client for the hold time. */
  detach(): void {
    if (this.bound && this.peer) {
      this.bound.detach(this.peer);
      void this.ctx.sessions.noteAttachment(this.bound.id);
    }
    this.bound = null;
  }
}
