// A connection's bound session: the SessionPeer the session writes its output to,
// binary frame intake (input, viewer, output acks) and the echo metric, and detaching
// when the client leaves — or, for someone watching through a share link, the
// WatcherPeer it is streamed through. At most one session per connection; a client
// never sends output frames, and any malformed frame closes only this connection.
import type { WebSocket } from 'ws';
import { CloseCode, ErrorCode, decodeFrame } from '../../shared/protocol/index.js';
import type { Client } from './client.js';
import type { NodeContext, SessionPeer, StreamedSession, WatcherJoin, WatcherPeer } from './context.js';

/** A view-only watcher who keeps typing is told again after this long without keys. */
const VIEW_ONLY_TELL_MS = 2000;

export class StreamBinding {
  private bound: StreamedSession | null = null;
  private peer: SessionPeer | null = null;
  /** The session this connection watches through a share link, and as whom (not its owner's: `bound` is null then). */
  private watching: { session: StreamedSession; id: string } | null = null;
  /** When a view-only watcher was last told its keys go nowhere. */
  private viewOnlyToldAt = -Infinity;
  /** When the oldest input not yet followed by output arrived (the echo histogram). */
  private inputAt: number | undefined;

  constructor(
    private readonly ctx: Pick<NodeContext, 'metrics' | 'sessions'>,
    private readonly client: Client,
    /** Output goes straight to the socket: the keystroke path. */
    private readonly ws: Pick<WebSocket, 'send' | 'bufferedAmount'>,
    /** Someone started or stopped watching the session bound here: its owner is told (session-sharing.ts). */
    private readonly sharing: (session: StreamedSession) => void = () => {},
  ) {}

  /** The session this connection streams as its owner's client, if any. */
  get session(): StreamedSession | null {
    return this.bound;
  }

  /** The session this connection watches through a share link, if any. */
  get watched(): StreamedSession | null {
    return this.watching?.session ?? null;
  }

  /**
   * Makes this connection a watcher of `session` (docs/protocol.md#sharing-a-session):
   * the peer it is streamed through. Bound before the session knows it, so frames the
   * client sends meanwhile are taken as its.
   */
  watch(session: StreamedSession, join: WatcherJoin): WatcherPeer {
    this.watching = { session, id: join.id };
    const ws = this.ws;
    const client = this.client;
    const stop = () => {
      if (this.watching?.id === join.id) this.watching = null;
    };
    return {
      sendBinary: (frame) => {
        if (client.isOpen()) ws.send(frame, { binary: true });
      },
      get bufferedAmount() {
        return ws.bufferedAmount;
      },
      left: (message) => {
        stop();
        client.send({ type: 'session.left', sessionId: session.id, message });
        client.close(CloseCode.normal, 'no longer watching');
      },
      lagging: () => {
        stop();
        client.close(CloseCode.goingAway, 'fell behind the session; join again');
      },
      mode: (mode, message) => client.send({ type: 'session.share.mode', sessionId: session.id, mode, message }),
      resized: (cols, rows) => client.send({ type: 'session.resized', sessionId: session.id, cols, rows }),
    };
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
      echo: (mode) => client.send({ type: 'session.echo', sessionId: session.id, mode }),
      sharing: () => this.sharing(session),
      shadowRequest: (ask) => client.send({ type: 'session.shadow.request', sessionId: session.id, requestId: ask.requestId, admin: ask.admin, adminName: ask.adminName, control: ask.control, msLeft: ask.msLeft, onTimeout: ask.onTimeout }),
      shadowClosed: (requestId) => client.send({ type: 'session.shadow.closed', sessionId: session.id, requestId }),
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
    // A client that attaches learns the session's links and who watches (another device may have shared it).
    this.sharing(session);
  }

  /** A binary frame from the client: input, a viewer message or an output ack for the bound session. */
  onBinary(bytes: Buffer): void {
    const frame = decodeFrame(bytes);
    if (this.watching && typeof frame !== 'string') return this.onWatcherFrame(this.watching, frame);
    const session = this.bound;
    if (typeof frame === 'string' || !session || frame.type === 'output' || frame.type === 'audio') {
      const why = typeof frame === 'string' ? frame : session ? `clients do not send ${frame.type} frames` : 'binary frames need a launched session';
      this.client.refuse(null, ErrorCode.badRequest, why);
      return this.client.close(CloseCode.unsupportedData, why.slice(0, 120));
    }
    if (frame.type === 'microphone') return session.microphonePacket(this.peer!, frame.data);
    if (frame.type === 'input') this.inputAt ??= performance.now();
    const problem = frame.type === 'input' ? session.input(frame.seq, frame.data) : frame.type === 'rfb' ? session.viewer(frame.data) : session.outputAck(frame.offset);
    if (problem) {
      this.client.refuse(null, ErrorCode.badRequest, problem);
      this.client.close(CloseCode.protocolError, problem.slice(0, 120));
    }
  }

  /** A watcher's frame: its input, if its link lets it type; output acks are not needed (a watcher never holds the app back). */
  private onWatcherFrame(watching: { session: StreamedSession; id: string }, frame: Exclude<ReturnType<typeof decodeFrame>, string>): void {
    if (frame.type === 'outputAck') return;
    if (frame.type === 'audio' || frame.type === 'microphone') {
      const why = frame.type === 'audio' ? 'clients do not send audio frames' : 'someone watching a session cannot speak into it';
      this.client.refuse(null, ErrorCode.badRequest, why);
      return this.client.close(CloseCode.unsupportedData, why);
    }
    if (frame.type === 'rfb') {
      const problem = watching.session.watcherViewer(watching.id, frame.data);
      if (problem === null) return;
      this.client.refuse(null, ErrorCode.badRequest, problem);
      return this.client.close(CloseCode.protocolError, problem.slice(0, 120));
    }
    if (frame.type !== 'input') {
      const why = 'clients do not send output frames';
      this.client.refuse(null, ErrorCode.badRequest, why);
      return this.client.close(CloseCode.unsupportedData, why);
    }
    const result = watching.session.watcherInput(watching.id, frame.seq, frame.data);
    if (result === null) return;
    if ('refused' in result) {
      // Once in a while, not per key: a view-only watcher typing away is told, not flooded.
      const now = performance.now();
      if (now - this.viewOnlyToldAt >= VIEW_ONLY_TELL_MS) this.client.refuse(null, ErrorCode.viewOnly, result.refused);
      this.viewOnlyToldAt = now;
      return;
    }
    this.client.refuse(null, ErrorCode.badRequest, result.problem);
    this.client.close(CloseCode.protocolError, result.problem.slice(0, 120));
  }

  /** The person answered an administrator's request to view their session (asked on this connection); false if it was not open. */
  answerShadow(requestId: string, allow: boolean): boolean {
    return this.bound !== null && this.peer !== null && this.bound.answerShadow(requestId, this.peer, allow);
  }

  /** This connection's client plays sound, or stops (session.sound): why not, or null. */
  listen(on: boolean): string | null {
    if (!this.bound || !this.peer) return 'This connection has no session of its own to play the sound of.';
    return this.bound.listen(this.peer, on);
  }

  /** This connection's client's microphone reaches the app, or stops (session.microphone): why not, or null. */
  speak(on: boolean): string | null {
    if (!this.bound || !this.peer) return 'This connection has no session of its own for the microphone to reach.';
    return this.bound.speak(this.peer, on);
  }

  /** This connection stops watching (it asked to, or closed). */
  unwatch(): void {
    if (!this.watching) return;
    this.watching.session.watchers.gone(this.watching.id);
    this.watching = null;
  }

  /** The client left. A lost connection only detaches: the session waits for its client for the hold time. */
  detach(): void {
    this.unwatch();
    if (this.bound && this.peer) {
      this.bound.detach(this.peer);
      void this.ctx.sessions.noteAttachment(this.bound.id);
    }
    this.bound = null;
  }
}
