// One session as a client holds it: drives the session machine with the real network
// actors, keeps every input the host has not acknowledged in an InputQueue (to resend
// after a reconnect — the host drops duplicates), and acknowledges output only once
// the sink has rendered it, which is the flow control that holds a chatty app back
// when a screen can't keep up. On resume the sink is reset to the host's snapshot.
import { createActor, fromCallback, fromPromise, type Actor } from 'xstate';
import {
  CloseCode,
  decodeFrame,
  encodeOutputAck,
  encodeRfb,
  type EchoMode,
  type ServerMessage,
  type SessionJoined,
  type SessionResumed,
  type SessionPrinted,
  type SessionSharing,
  type ShareMode,
  type SessionStarted,
} from '../protocol/index.js';
import { Connection, ProtocolError, type ConnectionOptions } from './connection.js';
import { InputQueue } from './input-queue.js';
import { MicrophoneLink, type MicrophoneSource } from './microphone-link.js';
import type { BrokerList } from './brokers.js';
import { watchSilence } from './silence-watch.js';
import { sessionMachine, type OpenInput, type Opened, type SessionEvent } from './session-machine.js';

/** Where a session's sound goes (AUDIO frames, docs/protocol.md#sound): one Opus packet at a time. */
export interface SoundSink {
  packet(at: number, data: Uint8Array): void;
  /** The node will not send the sound (its app has none, or a policy turns it off): why. */
  refused?(message: string): void;
}

export interface OutputSink {
  /** Output to show; call `done` once it is on screen (or written to stdout). */
  write(data: Uint8Array, done: () => void): void;
  /**
   * Replace the whole screen with the host's snapshot (after a resume). For a GUI
   * session the snapshot is empty: the output that follows is a new RFB stream.
   */
  reset(snapshot: string): void;
}

export type SessionStatus = 'launching' | 'streaming' | 'reconnecting' | 'resuming' | 'ended' | 'failed';

export interface SessionView {
  /** Whose session: one's own, someone's watched through a share link, or someone's viewed as an administrator. */
  kind: 'own' | 'link' | 'shadow';
  status: SessionStatus;
  sessionId: string | null;
  attempt: number;
  nextTryAt: number | null;
  /** When the host stops waiting for this client (ms since the epoch), while the link is down. */
  holdDeadline: number | null;
  lastError: string | null;
  reason: string | null;
  exitCode: number | null;
  /** Set when another client opened the session, taking it from this one (ms since the epoch): it still runs there. */
  displacedAt: number | null;
  /** Inputs typed but not yet applied by the host. */
  pendingInputs: number;
  /** A warning that the session will end on its own (idle, maximum length), while streaming; null: none. */
  notice: SessionNoticeView | null;
  /** A GUI app's window title as the host last told it (session.title); null: none told. Terminal titles come in the output. */
  title: string | null;
  /** How a terminal app's keystrokes come back, as the host last told it (session.echo); null: not told (not yet, or an older node). */
  echo: EchoMode | null;
  /** What its app printed since this client opened it (session.printed), newest last; at most MAX_PRINTS. */
  prints: SessionPrinted[];
  /** Watching someone else's session through a share link: whose, and what the link lets this client do; null for one's own. */
  watching: WatchingView | null;
  /** One's own session: its share links and who watches (session.sharing); null until the host says. */
  sharing: Omit<SessionSharing, 'type' | 'id'> | null;
  /** The host records the session (its session policy): the person is shown so. */
  recorded: boolean;
  /** An administrator asks to view this session (shadowing): answer with answerShadow before `endsAt` (this client's clock). */
  shadowAsk: ShadowAskView | null;
}

export interface ShadowAskView {
  requestId: string;
  admin: string;
  adminName: string;
  control: boolean;
  endsAt: number;
  onTimeout: 'deny' | 'allow';
}

export interface WatchingView {
  /** What draws it: xterm.js, or noVNC. */
  display: 'terminal' | 'rfb';
  owner: string;
  ownerName: string;
  appName: string;
  mode: ShareMode;
  /** The owner's terminal size: a watcher's view follows it. */
  cols: number;
  rows: number;
  /** The host's words when the mode changed (null before any change). */
  message: string | null;
}

/** Print notices a stream keeps (each PDF is fetched from the host while it keeps it). */
export const MAX_PRINTS = 5;

export interface SessionNoticeView {
  /** idle: any input keeps the session. max-length: nothing does; save your work. */
  kind: 'idle' | 'max-length';
  /** When it ends, on this client's clock (ms since the epoch): count down to it. */
  endsAt: number;
  /** The broker's words for it. */
  message: string;
}

export interface SessionStreamOptions {
  appId: string;
  cols: number;
  rows: number;
  /** join: watch someone's session through a share link (`link`), or as an administrator (`shadow`). */
  mode: 'launch' | 'attach' | 'join';
  sessionId?: string;
  link?: string;
  /** A join without signing in, on a link that lets guests in: the name to be shown as. */
  guest?: string;
  shadow?: { sessionId: string; control: boolean };
  connection: Omit<ConnectionOptions, 'accessToken' | 'brokerUrl'>;
  /** Where to connect; a node that cannot be reached is passed over for the next. */
  brokers: BrokerList;
  accessToken: () => string | null;
  /** A link that carries nothing for this long is treated as lost. */
  deadAfterMs?: number;
  /** This screen's scale (ClientOptions.screenScale), sent with a launch and a resume. */
  scale?: () => number;
}

const encoder = new TextEncoder();
/** An administrator's request waits for the person's answer: as long as any node may let them take (node.sharing.shadowAskSeconds, at most 600), and a little more. */
const SHADOW_ANSWER_MS = 610_000;
const ignore = () => {};

export class SessionStream {
  /** For a join, learnt from the host's answer. */
  appId: string;
  private readonly actor: Actor<typeof sessionMachine>;
  private connection: Connection | null = null;
  /** Lets go of `connection`: its frames, messages and close reach this stream no more. */
  private unbind: () => void = ignore;
  /** True while `connection` is attached to the session (inputs go straight out). */
  private live = false;
  private sink: OutputSink | null = null;
  private backlog: Array<Uint8Array | { snapshot: string }> = [];
  private readonly inputs: InputQueue;
  private received = 0;
  private consumed = 0;
  private acked = 0;
  private ackEvery = 1;
  private ackTimer: TimerHandle | undefined;
  private cols: number;
  private rows: number;
  private listeners = new Set<(view: SessionView) => void>();
  /** The warning the host sent last (it sends it again on a resume, if it still stands). */
  private notice: SessionNoticeView | null = null;
  private title: string | null = null;
  private echo: EchoMode | null = null;
  private recorded = false;
  private prints: SessionPrinted[] = [];
  private watching: WatchingView | null = null;
  /** Plays the session's sound, while set (listen). */
  private soundSink: SoundSink | null = null;
  /** The person's microphone, while they let the app hear it (speak). */
  private readonly microphone = new MicrophoneLink();
  private sharing: SessionView['sharing'] = null;
  private shadowAsk: ShadowAskView | null = null;
  /** This stream's own id for a join, the same on every reconnect: its input is numbered per tab. */
  private readonly tab = randomTab();
  view: SessionView;

  constructor(private readonly options: SessionStreamOptions) {
    this.appId = options.appId;
    // Input goes straight out only while attached; otherwise it waits for resendAll.
    const sendIfLive = (frame: Uint8Array): void => {
      if (this.live) this.connection?.sendBinary(frame);
    };
    this.inputs = new InputQueue({ numbered: options.mode === 'launch', send: sendIfLive });
    this.cols = options.cols;
    this.rows = options.rows;
    this.view = { kind: options.shadow ? 'shadow' : options.mode === 'join' ? 'link' : 'own', status: 'launching', sessionId: options.sessionId ?? null, attempt: 0, nextTryAt: null, holdDeadline: null, lastError: null, reason: null, exitCode: null, displacedAt: null, pendingInputs: 0, notice: null, title: null, echo: null, prints: [], watching: null, sharing: null, recorded: false, shadowAsk: null };
    const machine = sessionMachine.provide({
      actors: {
        open: fromPromise<Opened, OpenInput>(({ input }) => this.open(input)),
        link: fromCallback<SessionEvent>(({ sendBack }) => this.link(sendBack)),
      },
    });
    // To the machine a join is an attach: opened once, opened again after a lost link.
    this.actor = createActor(machine, { input: { mode: options.mode === 'join' ? 'attach' : options.mode, sessionId: options.sessionId } });
    this.actor.subscribe((snapshot) => {
      const c = snapshot.context;
      const status = snapshot.value as SessionStatus;
      // A warning belongs to one link: the host tells a resumed client again if it still stands.
      if (status === 'reconnecting' || status === 'ended' || status === 'failed') this.notice = null;
      this.view = {
        kind: this.view.kind,
        status,
        sessionId: c.sessionId,
        attempt: c.attempt,
        nextTryAt: c.nextTryAt,
        holdDeadline: c.lostAt === null ? null : c.lostAt + c.holdSeconds * 1000,
        lastError: c.lastError,
        reason: c.reason,
        exitCode: c.exitCode,
        displacedAt: c.displacedAt,
        pendingInputs: this.inputs.size,
        notice: this.notice,
        title: this.title,
        echo: this.echo,
        recorded: this.recorded,
        prints: this.prints,
        watching: this.watching,
        sharing: this.sharing,
        shadowAsk: this.shadowAsk,
      };
      if (status === 'ended' || status === 'failed') this.dropConnection();
      for (const listener of this.listeners) listener(this.view);
    });
    this.actor.start();
  }

  get sessionId(): string | null {
    return this.view.sessionId;
  }

  subscribe(listener: (view: SessionView) => void): () => void {
    this.listeners.add(listener);
    listener(this.view);
    return () => this.listeners.delete(listener);
  }

  /** Resolves once the session streams; rejects with why it could not start. */
  ready(): Promise<void> {
    return new Promise((resolve, reject) => {
      const stop = this.subscribe((view) => {
        if (view.status === 'streaming') resolve();
        else if (view.status === 'failed' || view.status === 'ended') reject(new ProtocolError('failed', view.reason ?? 'the session could not start'));
        else return;
        queueMicrotask(() => stop());
      });
    });
  }

  /** Resolves when the session is over, with why. */
  finished(): Promise<SessionView> {
    return new Promise((resolve) => {
      const stop = this.subscribe((view) => {
        if (view.status !== 'ended' && view.status !== 'failed') return;
        resolve(view);
        queueMicrotask(() => stop());
      });
    });
  }

  setSink(sink: OutputSink): void {
    this.sink = sink;
    const pending = this.backlog;
    this.backlog = [];
    for (const item of pending) {
      if (item instanceof Uint8Array) this.deliver(item);
      else sink.reset(item.snapshot);
    }
  }

  /**
   * Sends keystrokes or pasted text. While reconnecting they queue (and are sent once
   * the session is back); returns false if the queue is full and the input was refused,
   * or this client watches through a link that lets it only watch.
   */
  sendInput(input: string | Uint8Array): boolean {
    if (this.watching && this.watching.mode !== 'type') return false;
    if (!this.inputs.addTyped(typeof input === 'string' ? encoder.encode(input) : input)) return false;
    this.notePending();
    return true;
  }

  /**
   * One RFB input message of a GUI session (a key, the pointer, clipboard text, a
   * desktop size): numbered, kept and resent like keystrokes, and never split.
   */
  sendInputMessage(message: Uint8Array): boolean {
    if (this.watching && this.watching.mode !== 'type') return false;
    if (!this.inputs.addMessage(message)) return false;
    this.notePending();
    return true;
  }

  /**
   * A GUI viewer's own RFB stream (its handshake, encodings, update requests). It is
   * this connection's alone: sent only while attached, and after a resume a new
   * viewer starts afresh (OutputSink.reset), so nothing of it is kept.
   */
  sendViewer(bytes: Uint8Array): void {
    if (this.live) this.connection?.sendBinary(encodeRfb(bytes));
  }

  resize(cols: number, rows: number): void {
    // A watcher's view follows the owner's size.
    if (this.options.mode === 'join') return;
    this.cols = cols;
    this.rows = rows;
    if (this.live) this.connection?.sendJson({ type: 'session.resize', cols, rows });
  }

  /** Try to reconnect now instead of waiting for the next attempt. */
  retryNow(): void {
    this.actor.send({ type: 'retry' });
  }

  /** Ends the session: the host stops the app. */
  close(): void {
    if (this.actor.getSnapshot().status !== 'active') return;
    this.connection?.sendJson({ type: 'session.end' });
    this.actor.send({ type: 'close' });
  }

  /** Leaves the session running on the host (for another client to attach to). */
  detach(): void {
    this.actor.stop();
    this.dropConnection();
  }

  /**
   * Plays the session's sound into `sink` (null: stops): the host is asked now, and again
   * after every resume — a new connection, or a new primary, starts without.
   */
  listen(sink: SoundSink | null): void {
    this.soundSink = sink;
    if (this.live) this.connection?.sendJson({ type: 'session.sound', on: sink !== null });
  }

  /**
   * Lets the app hear the person's microphone, packets coming through sendMicrophone
   * (null: stops). `source` is told the node's answer, now and after every resume.
   */
  speak(source: MicrophoneSource | null): void {
    this.microphone.want(source, this.live ? this.connection : null);
  }

  /** One Opus packet of the microphone (20 ms, 48 kHz mono): sent while the node says the app hears it, dropped otherwise. */
  sendMicrophone(packet: Uint8Array): void {
    this.microphone.packet(packet, this.live ? this.connection : null);
  }

  /** Makes a share link for this session (docs/protocol.md#sharing-a-session); resolves with the session's sharing as the host tells it. */
  share(mode: ShareMode, minutes?: number, guests = false): Promise<SessionSharing> {
    return this.sharingRequest({ type: 'session.share.create', mode, ...(minutes ? { minutes } : {}), ...(guests ? { guests } : {}) });
  }

  /** Changes what a link lets people do; they are told at once. */
  updateShare(shareId: string, mode: ShareMode): Promise<SessionSharing> {
    return this.sharingRequest({ type: 'session.share.update', shareId, mode });
  }

  /** Revokes a link: everyone who came through it leaves at once. */
  revokeShare(shareId: string): Promise<SessionSharing> {
    return this.sharingRequest({ type: 'session.share.revoke', shareId });
  }

  /** Sends one person watching away. */
  removeWatcher(watcherId: string): Promise<SessionSharing> {
    return this.sharingRequest({ type: 'session.watcher.remove', watcherId });
  }

  /** Answers an administrator's request to view this session (view.shadowAsk). */
  answerShadow(requestId: string, allow: boolean): void {
    if (this.live) this.connection?.sendJson({ type: 'session.shadow.answer', requestId, allow });
    if (this.shadowAsk?.requestId === requestId) this.setShadowAsk(null);
  }

  private setShadowAsk(ask: ShadowAskView | null): void {
    this.shadowAsk = ask;
    this.view = { ...this.view, shadowAsk: ask };
    for (const listener of this.listeners) listener(this.view);
  }

  private async sharingRequest(message: Parameters<Connection['request']>[0]): Promise<SessionSharing> {
    const connection = this.connection;
    if (!this.live || !connection) throw new ProtocolError('offline', 'The session is reconnecting; try again in a moment.');
    const reply = await connection.request(message, 'session.sharing');
    this.onMessage(reply);
    return reply;
  }

  // ---- the machine's network actors -------------------------------------------

  private async open(input: OpenInput): Promise<Opened> {
    this.dropConnection();
    // A resume's token is its proof; a join's is the person's sign-in (and the link), every time.
    const accessToken = (input.mode === 'resume' && this.options.mode !== 'join') || this.options.guest !== undefined ? undefined : (this.options.accessToken() ?? undefined);
    const connection = await this.connect(accessToken);
    let reply: SessionStarted | SessionResumed | SessionJoined;
    if (this.options.mode === 'join') {
      const shadow = this.options.shadow;
      const joined: SessionJoined = shadow
        ? await connection.request({ type: 'session.shadow', sessionId: shadow.sessionId, control: shadow.control, tab: this.tab, cols: this.cols, rows: this.rows }, 'session.joined', SHADOW_ANSWER_MS)
        : await connection.request({ type: 'session.join', link: this.options.link!, tab: this.tab, cols: this.cols, rows: this.rows, ...(this.options.guest !== undefined ? { guest: this.options.guest } : {}) }, 'session.joined');
      this.appId = joined.appId;
      this.watching = { display: joined.display, owner: joined.owner, ownerName: joined.ownerName, appName: joined.appName, mode: joined.mode, cols: joined.cols, rows: joined.rows, message: null };
      this.view = { ...this.view, watching: this.watching };
      reply = joined;
    } else if (input.mode === 'launch') {
      reply = await connection.request({ type: 'session.launch', appId: this.appId, cols: this.cols, rows: this.rows, ...this.scale() }, 'session.started');
    } else if (input.mode === 'attach') {
      reply = await connection.request({ type: 'session.attach', sessionId: input.sessionId!, cols: this.cols, rows: this.rows }, 'session.resumed');
    } else {
      reply = await connection.request(
        { type: 'session.resume', sessionId: input.sessionId!, resumeToken: input.resumeToken!, cols: this.cols, rows: this.rows, inputSeq: this.inputs.lastSeq, ...this.scale() },
        'session.resumed',
      );
    }
    this.ackEvery = Math.max(1, Math.floor(reply.window / 4));
    if (reply.type !== 'session.started') this.resumed(reply);
    if (this.soundSink) connection.sendJson({ type: 'session.sound', on: true });
    this.microphone.opened(connection);
    this.recorded = reply.recorded ?? false;
    this.live = true;
    return { sessionId: reply.sessionId, resumeToken: reply.resumeToken, holdSeconds: reply.holdSeconds };
  }

  /** The screen's scale for a launch or resume, where the client says one (within the protocol's 1 to 4). */
  private scale(): { scale?: number } {
    const scale = this.options.scale?.();
    return scale === undefined || !Number.isFinite(scale) ? {} : { scale: Math.min(4, Math.max(1, scale)) };
  }

  /** Opens a connection to the first broker that answers, starting with the current one. */
  private async connect(accessToken: string | undefined): Promise<Connection> {
    const { brokers } = this.options;
    for (let tried = 1; ; tried++) {
      const connection = new Connection({ ...this.options.connection, brokerUrl: brokers.current, accessToken });
      this.connection = connection;
      // While the session is being opened only its output counts: the host may stream
      // before the machine starts watching the link (which then binds its own consumer).
      this.unbind = connection.bind({ binary: (frame) => this.onFrame(frame), message: (message) => this.onMessage(message), closed: ignore });
      try {
        const welcome = await connection.open();
        brokers.update(welcome.brokers);
        return connection;
      } catch (error) {
        const unreachable = error instanceof ProtocolError && (error.code === 'unreachable' || error.code === 'timeout');
        if (!unreachable || tried >= brokers.size) throw error;
        brokers.next();
      }
    }
  }

  /** Watches the streaming connection: exit, displacement, loss, and silence. */
  private link(sendBack: (event: SessionEvent) => void): () => void {
    const connection = this.connection;
    if (!connection) {
      sendBack({ type: 'link.lost', reason: 'no connection' });
      return () => {};
    }
    const deadAfter = this.options.deadAfterMs ?? connection.welcome?.heartbeatMs ?? 3000;
    /** The link is reported lost once, whether the socket closed or went silent. */
    let lost = false;
    const lose = (event: SessionEvent) => {
      if (lost) return;
      lost = true;
      this.live = false;
      this.microphone.lost();
      sendBack(event);
    };
    let nextPing = 1;
    const silence = watchSilence({
      deadAfterMs: deadAfter,
      ping: () => connection.sendJson({ type: 'ping', id: 2 ** 30 + (nextPing++ % 2 ** 30) }),
      lost: (reason) => {
        // A node that stopped answering may be hung: try another one first.
        this.options.brokers.next();
        lose({ type: 'link.lost', reason });
        connection.close(CloseCode.goingAway, 'no answer');
      },
    });
    // Replaces the consumer connect() bound; this one stays until dropConnection.
    this.unbind = connection.bind({
      binary: (frame) => {
        silence.heard();
        this.onFrame(frame);
      },
      message: (message) => {
        silence.heard();
        if (message.type === 'session.exited') sendBack({ type: 'link.exited', message: message.message, exitCode: message.exitCode });
        else if (message.type === 'session.detached') sendBack({ type: 'link.displaced', message: message.message });
        else if (message.type === 'session.left') sendBack({ type: 'link.exited', message: message.message, exitCode: -1 });
        else this.onMessage(message);
      },
      closed: (code, reason) => lose({ type: 'link.lost', reason, atOnce: code === CloseCode.moved }),
    });
    return () => silence.stop();
  }

  // ---- frames -----------------------------------------------------------------

  private resumed(reply: SessionResumed | SessionJoined): void {
    this.inputs.joined(reply.inputAck);
    this.received = this.consumed = this.acked = reply.outputOffset;
    this.cols = reply.cols;
    this.rows = reply.rows;
    if (this.sink) this.sink.reset(reply.snapshot);
    else this.backlog = [{ snapshot: reply.snapshot }];
    this.applied(reply.inputAck);
    this.inputs.resendAll((frame) => this.connection?.sendBinary(frame));
  }

  private onFrame(frame: Uint8Array): void {
    const decoded = decodeFrame(frame);
    // Sound comes only to a client that asked for it (listen); one that arrives after it stopped listening is dropped.
    if (typeof decoded !== 'string' && decoded.type === 'audio') return this.soundSink?.packet(decoded.at, decoded.data);
    if (typeof decoded === 'string' || decoded.type !== 'output') {
      this.connection?.close(CloseCode.protocolError, 'unexpected binary frame from broker');
      return;
    }
    this.applied(decoded.inputAck);
    if (decoded.offset !== this.received) {
      this.connection?.close(CloseCode.protocolError, `output gap: expected offset ${this.received}, got ${decoded.offset}`);
      return;
    }
    if (decoded.data.length === 0) return;
    this.received += decoded.data.length;
    if (this.sink) this.deliver(decoded.data);
    else this.backlog.push(decoded.data);
  }

  /** The host applied every input up to `seq`: stop keeping them. */
  private applied(seq: number): void {
    if (this.inputs.applied(seq) > 0) this.notePending();
  }

  /** A warning before the session ends on its own, or word that it is over; a GUI app's window title. */
  private onMessage(message: ServerMessage): void {
    if (message.type === 'session.microphone') return this.microphone.answered(message.on, message.message);
    if (message.type === 'session.sound') {
      const sink = this.soundSink;
      this.soundSink = null;
      return sink?.refused?.(message.message);
    }
    if (message.type === 'session.title') {
      this.title = message.title;
      this.view = { ...this.view, title: this.title };
    } else if (message.type === 'session.echo') {
      this.echo = message.mode;
      this.view = { ...this.view, echo: this.echo };
    } else if (message.type === 'session.printed') {
      this.prints = [...this.prints, message].slice(-MAX_PRINTS);
      this.view = { ...this.view, prints: this.prints };
    } else if (message.type === 'session.sharing') {
      this.sharing = { sessionId: message.sessionId, shares: message.shares, watchers: message.watchers, maxWatchers: message.maxWatchers, ...(message.guestsAllowed !== undefined ? { guestsAllowed: message.guestsAllowed } : {}) };
      this.view = { ...this.view, sharing: this.sharing };
    } else if (message.type === 'session.shadow.request') {
      this.shadowAsk = { requestId: message.requestId, admin: message.admin, adminName: message.adminName, control: message.control, endsAt: Date.now() + message.msLeft, onTimeout: message.onTimeout };
      this.view = { ...this.view, shadowAsk: this.shadowAsk };
    } else if (message.type === 'session.shadow.closed') {
      if (this.shadowAsk?.requestId !== message.requestId) return;
      this.shadowAsk = null;
      this.view = { ...this.view, shadowAsk: null };
    } else if (message.type === 'session.share.mode' && this.watching) {
      this.watching = { ...this.watching, mode: message.mode, message: message.message };
      this.view = { ...this.view, watching: this.watching };
    } else if (message.type === 'session.resized' && this.watching) {
      this.watching = { ...this.watching, cols: message.cols, rows: message.rows };
      this.view = { ...this.view, watching: this.watching };
    } else if (message.type === 'session.notice') {
      this.notice = message.kind === 'cleared' || message.msLeft === null ? null : { kind: message.kind, endsAt: Date.now() + message.msLeft, message: message.message };
      this.view = { ...this.view, notice: this.notice };
    } else {
      return;
    }
    for (const listener of this.listeners) listener(this.view);
  }

  private notePending(): void {
    if (this.view.pendingInputs === this.inputs.size) return;
    this.view = { ...this.view, pendingInputs: this.inputs.size };
    for (const listener of this.listeners) listener(this.view);
  }

  private deliver(data: Uint8Array): void {
    let called = false;
    const connection = this.connection;
    this.sink!.write(data, () => {
      if (called || connection !== this.connection) return;
      called = true;
      this.consumed += data.length;
      if (this.consumed - this.acked >= this.ackEvery) this.sendAck();
      else if (this.ackTimer === undefined) this.ackTimer = setTimeout(() => this.sendAck(), 50);
    });
  }

  private sendAck(): void {
    if (this.ackTimer !== undefined) clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    // Not between links: a timer set on the old one went out on the next connection before
    // its resume, and a node closes a connection that sends frames before it has a session
    // (seen in the failover bench: a planned move ended the session for its client).
    if (!this.live || this.consumed <= this.acked) return;
    this.acked = this.consumed;
    this.connection?.sendBinary(encodeOutputAck(this.acked));
  }

  private dropConnection(): void {
    this.live = false;
    const connection = this.connection;
    this.connection = null;
    if (!connection) return;
    this.unbind();
    this.unbind = ignore;
    connection.close();
  }
}

/** A join's tab id: only a numbering key (the host keys it by the person too), so not a secret. */
function randomTab(): string {
  let tab = '';
  while (tab.length < 24) tab += Math.floor(Math.random() * 2 ** 32).toString(36);
  return tab.slice(0, 24);
}
