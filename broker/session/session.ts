// One replica of a session on this node: one sandboxed app on its display, composed
// with its input log (input-log.ts: numbering, replication's commit, applying) and its
// output flow (output-flow.ts: frames, offsets, backpressure). The session itself owns
// what neither does: its role and epoch, the attached client, resume points, promotion,
// and ending (when it ends on its own — idle, its maximum length, the hold time with no
// client: deadlines.ts). Invariant: one client at most; a session outlives its client
// for the hold time; a standby is promoted when its primary dies.
import { randomBytes } from 'node:crypto';
import type { AppConfig } from '../config/schema.js';
import type { AppExit } from '../host/app-process.js';
import type { Display } from '../host/display.js';
import type { HomeFiles } from '../host/home-files.js';
import { RfbDisplay } from '../host/rfb-display.js';
import { SessionPrinting, type PrintEvent, type PrintJob } from '../host/session-printing.js';
import { reusedFor } from '../host/thumbnail.js';
import { Replicator } from '../cluster/replicator.js';
import type { LogEntry } from '../cluster/peer-protocol.js';
import { Deadlines, type DeadlineNotice } from './deadlines.js';
import { describeEnd, describeExit, type EndReason } from './end-reason.js';
import { ClockTargets } from './clock-targets.js';
import { InputLog } from './input-log.js';
import { LogSpool, SpooledChunks } from './log-spool.js';
import { OutputFlow } from './output-flow.js';
import { SessionUploads } from './session-uploads.js';
import { newSessionId } from './session-id.js';
import { displayTarget, makeDisplay } from './session-display.js';
import type { ResumePoint, SessionPeer, ShadowAsk, WatcherJoin, WatcherPeer } from './peer.js';
import { ShadowConsent, type ShadowAnswer } from './shadow-consent.js';
import { Watchers } from './watchers.js';
import { SessionSound } from './session-sound.js';
import { SessionMicrophone } from './session-microphone.js';
import { MicrophoneFeed } from '../host/microphone-feed.js';
import { LinkGovernor } from './link-governor.js';
import type { SessionLimits } from './session-policy.js';
import type { ReplicaRecording } from './recording.js';
import type { SessionOptions as Options } from './session-options.js';

/** What a session is made from (session-options.ts). */
export type SessionOptions = Options<Session>;

export class Session {
  /** Unguessable, but never the only proof: the resume token or the owner's sign-in is. */
  readonly id: string;
  readonly resumeToken: string;
  readonly owner: string;
  readonly app: AppConfig;
  readonly startedAt: number;
  epoch: number;
  readonly log: InputLog;
  /** The primary's side of the replica set (standbys get one too: they may be promoted). */
  readonly replicator: Replicator | null;
  cols: number;
  rows: number;
  endMessage: string | null = null;
  private readonly display: Display;
  private readonly flow: OutputFlow;
  private readonly options: SessionOptions;
  private lastReadAt = 0;
  /** Idle, maximum-length and hold-time ends, and the warnings before them (acting only on a primary). */
  private readonly deadlines: Deadlines;
  /** Its person's uploads, logged by the primary so every replica writes them (session-uploads.ts). */
  readonly uploads: SessionUploads;
  /** A small picture of the screen for the person's list of sessions (made at most once a second). */
  readonly thumbnail = reusedFor(1000, () => this.display.thumbnail());
  /** Its print spool and the PDFs made of it (every replica prints; only the primary's jobs count). */
  private readonly printing: SessionPrinting | null;
  /** A fast-forwarding standby's primary clocks, held until it reaches the entries they were read at. */
  private readonly clockTargets: ClockTargets;
  /** People watching through share links (watchers.ts); only a primary has any. */
  readonly watchers: Watchers;
  /** Its app's sound, sent while its client listens (session-sound.ts); null: its app has none. */
  private readonly sound: SessionSound | null;
  /** The person's microphone: taken from the client (primary) and heard by this replica's app; null: its app has no sound. */
  private readonly microphone: { intake: SessionMicrophone; feed: MicrophoneFeed } | null;
  /** A GUI stream's image quality, chosen for its client's link (link-governor.ts); null for a terminal. */
  private readonly governor: LinkGovernor | null;
  /** Administrators' requests to view it, put to its person (shadow-consent.ts). */
  private readonly consent = new ShadowConsent(() => this.flow.peer);
  /** This replica's copy of the session's recording (every replica records: recording.ts); null: not recorded. */
  private readonly recording: ReplicaRecording | null;

  constructor(options: SessionOptions) {
    this.options = options;
    this.id = options.id ?? newSessionId();
    this.resumeToken = options.resumeToken ?? randomBytes(24).toString('base64url');
    this.startedAt = options.startedAt ?? Date.now();
    this.epoch = options.epoch;
    this.owner = options.owner;
    this.app = options.app;
    this.cols = options.cols;
    this.rows = options.rows;
    this.deadlines = new Deadlines(options.limits ?? { holdSeconds: options.holdSeconds, idleSeconds: null, maxSeconds: null, warnSeconds: 300 }, this.startedAt, this.app.name, {
      // The attached client hears a warning and its end in words; the record shows when it ends.
      warn: (notice, message) => {
        this.flow.peer?.notice?.({ kind: notice.kind, endsAt: notice.endsAt, message });
        options.onDeadlines?.(this);
      },
      cleared: () => {
        this.flow.peer?.notice?.({ kind: 'cleared' });
        options.onDeadlines?.(this);
      },
      ended: (reason) => this.end(reason),
    });
    // Made before the display, whose sandbox binds its spool; it tells the client attached then, if any.
    const tell = (event: PrintEvent) => (this.flow.peer?.printed ? (this.flow.peer.printed(event), true) : false);
    this.printing = options.printing ? new SessionPrinting({ stateDir: options.stateDir, sessionId: this.id, owner: this.owner, app: options.app, isPrimary: () => this.log.role === 'primary', tell, deps: options.printing }) : null;
    const display = makeDisplay({
      sessionId: this.id,
      ...(this.printing ? { print: { jobs: this.printing.spool.jobsDir, bin: this.printing.spool.binDir, ipp: this.printing.spool.ippDir } } : {}),
      app: options.app,
      profile: options.profile,
      stateDir: options.stateDir,
      sandbox: options.sandbox,
      homeDir: options.homeDir,
      ...(options.lockstep ? { lockstep: { ...options.lockstep, startUs: this.startedAt * 1000 } } : {}),
      cols: options.cols,
      rows: options.rows,
      ...(options.scale ? { scale: options.scale } : {}),
      screens: options.screens,
      onOutput: (data, room) => this.output(data, room),
      onExit: (exit) => this.exited(exit),
      onProgress: () => this.flow.maybeRelease(),
      onViewerLost: () => this.dropClient(),
      onTitle: (title) => this.flow.peer?.title?.(title),
      onEcho: (mode) => this.flow.peer?.echo?.(mode),
      warn: options.warn,
    });
    this.display = display;
    // How a terminal app echoes is told to the primary's client only: a standby starts following it when promoted.
    if (options.role === 'primary') display.followEcho?.();
    this.sound = display.sound ? new SessionSound(display.sound, () => this.flow.peer, options.warn) : null;
    this.microphone = display.sound
      ? { intake: new SessionMicrophone(() => this.flow.peer, (packet) => this.log.microphone(packet)), feed: new MicrophoneFeed({ ...display.sound, log: options.warn }) }
      : null;
    // Once the display is made (its output comes later, from its reads). A standby replays its log first.
    this.recording = options.recordings?.start({ sessionId: this.id, kind: display.kind, owner: this.owner, appId: this.app.id, appName: this.app.name, startedAt: this.startedAt, cols: options.cols, rows: options.rows }, options.role === 'standby') ?? null;
    // A graphical app's recording is its display's own RFB stream (a connection of the recorder's), not a client's.
    if (this.recording && display instanceof RfbDisplay) display.record(this.recording);
    this.printing?.start();
    // It reads this session's id, epoch and log (made next) only once entries flow.
    this.replicator = options.replicate ? new Replicator(this, options.replicate) : null;
    this.clockTargets = new ClockTargets({
      whenApplied: (index) => this.log.whenApplied(index),
      raise: (clocks) => display.clocks?.raise(clocks),
      own: () => (display.clocks ? { clocks: display.clocks.readClocks(), startUs: display.clocks.startUs } : null),
    });
    this.log = new InputLog({
      role: options.role,
      // A standby keeps the person's last input time and the app's size, for when it is promoted.
      target: displayTarget(display, {
        isStandby: () => this.log.role === 'standby',
        input: () => this.deadlines.input(),
        resized: (cols, rows) => ((this.cols = cols), (this.rows = rows)),
      }, this.clockTargets, (packet) => this.microphone?.feed.packet(packet)),
      replication: this.replicator,
      outputBytes: () => this.flow.outputBytes,
      mayAct: options.mayAct,
      keepLog: options.keepLog,
      // A kept log's uploaded bytes on the node's disk, not in its memory.
      spool: options.keepLog && options.logSpool ? new SpooledChunks(new LogSpool(options.logSpool)) : null,
      inputBase: options.inputBase ?? 0,
      stampTime: options.lockstep !== undefined,
      onApplied: () => this.flow.inputApplied(),
      onSettled: (previous, typed) => {
        this.flow.settled(previous, typed);
        if (this.watchers.size > 0) this.watchers.settled();
      },
      ...(this.recording ? { onEntryApplied: (entry: LogEntry) => this.recording!.applied(entry) } : {}),
    });
    this.watchers = new Watchers({ settledIndex: () => this.log.settledIndex, changed: () => this.flow.peer?.sharing?.() });
    this.governor = display instanceof RfbDisplay ? new LinkGovernor({ apply: (quality) => display.setQuality(quality) }) : null;
    this.flow = new OutputFlow({ position: this.log, source: display, window: options.window, mayAct: options.mayAct, watchers: this.watchers, ...(this.governor ? { link: this.governor } : {}) });
    this.uploads = new SessionUploads(this.log, display.homeUploads);
    if (options.role === 'primary') this.uploads.startSweeping();
    // Once its maker holds it: a restarted session past its maximum length ends at once, and is reported as any end.
    if (options.role === 'primary') queueMicrotask(() => this.endMessage === null && this.deadlines.start());
  }

  /** The limits it lives under (its session policy's). */
  get limits(): SessionLimits {
    return this.deadlines.current;
  }

  /** How long it waits for a client that left. */
  get holdSeconds(): number {
    return this.deadlines.current.holdSeconds;
  }

  /** When it ends if no client comes back (ms since the epoch), or null while it has one or has ended. */
  get holdExpiresAt(): number | null {
    return this.deadlines.holdExpiresAt;
  }

  /** When it ends on its own, as the launcher may show it (a standing warning's end, else its maximum length), or null. */
  get endsAt(): number | null {
    return this.deadlines.endsAt;
  }

  /** The warning standing now (idle or maximum length), or null. */
  get notice(): DeadlineNotice | null {
    return this.deadlines.notice;
  }

  /** When the person last gave input (ms since the epoch). */
  get lastInputAt(): number {
    return this.deadlines.lastInputAt;
  }

  /** Its limits, learnt after it started (a standby reads them from the session's record). */
  setLimits(limits: SessionLimits): void {
    this.deadlines.setLimits(limits);
  }

  /** Whether it is recorded (this replica writes a copy). */
  get recorded(): boolean {
    return this.recording !== null;
  }

  /** A standby has applied the log it was opened with: what its app shows from here is live (its recording's times). */
  replayDone(): void {
    this.recording?.caughtUp();
  }

  /** The session's lockstep key, for its standbys (null: not run through the shim). */
  get lockstepKey(): Uint8Array | null {
    return this.options.lockstep?.key ?? null;
  }

  get role(): 'primary' | 'standby' {
    return this.log.role;
  }

  /** The size the app was started at (a new standby starts there and replays the resizes). */
  get initialSize(): { cols: number; rows: number } {
    return { cols: this.options.cols, rows: this.options.rows };
  }

  /** The scale a GUI app was started with (1 unless its launch said another): a new standby starts with it too. */
  get scale(): number {
    return this.options.scale ?? 1;
  }

  /** Output bytes produced so far (sent or gathered). */
  get outputBytes(): number {
    return this.flow.outputBytes;
  }

  /**
   * When the app last wrote output (performance.now()); now, while it is held back: it
   * may have output it has not been let write, so it is not quiet, and replicas'
   * screens are not compared then (cluster/screen-checks.ts) — a standby, never held
   * for want of a client, runs ahead of a detached primary.
   */
  get lastOutputAt(): number {
    return this.flow.holding ? performance.now() : this.lastReadAt;
  }

  get pid(): number {
    return this.display.pid;
  }

  /** A PDF its app printed, still kept (host/session-printing.ts). */
  printJob(id: string): PrintJob | undefined {
    return this.printing?.job(id);
  }

  /** Its person's files (host/home-files.ts). */
  get homeFiles(): HomeFiles {
    return this.display.homeFiles;
  }

  get attached(): boolean {
    return this.flow.peer !== null;
  }

  /** The app has started and settled: input may be applied (what the sandbox launch time measures to). */
  get displayReady(): boolean {
    return this.display.ready();
  }

  /** Makes `peer` the session's client (displacing any other) from the current output offset. */
  attach(peer: SessionPeer): void {
    const previous = this.flow.peer;
    this.flow.attach(peer);
    if (previous && previous !== peer) previous.displaced();
    this.display.attachViewer();
    this.governor?.start();
    this.flow.maybeRelease();
    // After the flow has the peer: a warning that stands reaches this client, a GUI app's title, a terminal app's echo mode.
    this.deadlines.attach();
    const title = this.display instanceof RfbDisplay ? this.display.title() : '';
    if (title) peer.title?.(title);
    const echo = this.display.echo;
    if (echo) peer.echo?.(echo);
    this.printing?.attached();
  }

  /**
   * Everything a resuming client needs, consistent with one output offset: output is
   * held while the snapshot is taken, and the caller attaches before releasing it.
   */
  async resumePoint(cols: number, rows: number): Promise<ResumePoint> {
    this.flow.suspend();
    // A GUI viewer starts a fresh RFB stream: the old one must not run on into it.
    this.display.detachViewer();
    this.display.hold();
    try {
      if (this.display.kind === 'terminal' && (cols !== this.cols || rows !== this.rows)) await this.log.whenApplied(this.resize(cols, rows));
      // The screen holds all output read so far: it must all be sent before the
      // snapshot, so none of it may still wait for its input's commit.
      while (this.log.settledIndex < this.log.appliedIndex && this.endMessage === null) await this.log.whenSettled(this.log.appliedIndex);
      this.flow.flush();
      const snapshot = await this.display.snapshot();
      return { snapshot, outputOffset: this.flow.offset, inputAck: this.log.inputSeq, cols: this.cols, rows: this.rows };
    } finally {
      this.flow.resume();
    }
  }

  /**
   * Someone starts watching through a share link (a terminal app): `joined` is handed
   * the screen now and the output offset their stream continues from, and from then on
   * they get what the owner gets. Returns why not, or null.
   */
  async watch(join: WatcherJoin, peer: WatcherPeer, joined: (point: ResumePoint) => void): Promise<string | null> {
    if (this.role !== 'primary') return 'this replica is not the session\'s primary';
    if (this.endMessage !== null) return this.endMessage;
    if (this.display.kind === 'rfb') {
      // A graphical app: a viewer connection of the watcher's own, from the display's first byte (its noVNC shakes hands afresh).
      const relay = this.display.watch?.((data) => this.watchers.relayed(join.id, data), () => this.watchers.relayLost(join.id)) ?? null;
      if (!relay) return `${this.app.name}'s display is not running.`;
      const point = { snapshot: '', outputOffset: 0, inputAck: this.log.tabSeq(join.tab), cols: this.cols, rows: this.rows };
      joined(point);
      this.watchers.add(join, peer, 0, point.inputAck, relay);
      return null;
    }
    // As for a resume: the app is held while the snapshot is taken, so it stands for every byte before the offset.
    this.flow.suspend();
    this.display.hold();
    try {
      while (this.log.settledIndex < this.log.appliedIndex && this.endMessage === null) await this.log.whenSettled(this.log.appliedIndex);
      this.flow.flush();
      const snapshot = await this.display.snapshot();
      if (this.endMessage !== null) return this.endMessage;
      const point = { snapshot, outputOffset: this.flow.offset, inputAck: this.log.tabSeq(join.tab), cols: this.cols, rows: this.rows };
      joined(point);
      this.watchers.add(join, peer, point.outputOffset, point.inputAck);
      return null;
    } finally {
      this.flow.resume();
      this.flow.maybeRelease();
    }
  }

  /**
   * Input from a watcher: logged, tagged with who typed it, if their link lets them
   * type; `refused` (the connection stays) if it only lets them watch; `problem` for
   * input out of order (the connection closes).
   */
  watcherInput(id: string, seq: number, data: Uint8Array): { refused: string } | { problem: string } | null {
    const watcher = this.watchers.find(id);
    if (!watcher) return { problem: 'this connection is not watching the session' };
    if (watcher.mode !== 'type') return { refused: 'You can only watch this session: its owner has not let you type. Your keys did not reach the app.' };
    const taken = this.log.inputBy(watcher.user, watcher.tab, seq, data);
    if ('problem' in taken) return taken;
    if (taken.index > 0) {
      this.watchers.typed(id, taken.index, seq);
      this.deadlines.input();
    }
    return null;
  }

  /**
   * The attached client `peer` plays sound (`on`) or stops: its app's sound is captured
   * and sent to it as AUDIO frames while it stays attached to this primary. Why not, or null.
   */
  listen(peer: SessionPeer, on: boolean): string | null {
    if (!this.sound) return `${this.app.name} has no sound.`;
    if (on && this.role === 'primary' && this.flow.peer === peer) this.sound.listen(peer);
    else this.sound.stop();
    return null;
  }

  /**
   * The attached client `peer` lets the app hear its microphone (`on`), or stops: from
   * here its MICROPHONE frames are logged, so every replica's app hears them. Why not, or null.
   */
  speak(peer: SessionPeer, on: boolean): string | null {
    if (!this.microphone) return `${this.app.name} has no sound, so it cannot hear a microphone.`;
    if (!on) return (this.microphone.intake.turn(peer, false), null);
    if (this.role !== 'primary' || this.flow.peer !== peer) return 'This connection is not attached to the session’s primary; connect again.';
    this.microphone.intake.turn(peer, true);
    return null;
  }

  /** One Opus packet of `peer`'s microphone: logged if it turned the microphone on (else dropped). */
  microphonePacket(peer: SessionPeer, data: Uint8Array): void {
    this.microphone?.intake.packet(peer, data);
  }

  /** Asks the person whether an administrator may view the session (shadowing). */
  askShadow(ask: ShadowAsk): Promise<ShadowAnswer> {
    return this.consent.ask(ask);
  }

  /** The person's answer, from the client that was asked; false if no such question is open. */
  answerShadow(requestId: string, peer: SessionPeer, allow: boolean): boolean {
    return this.consent.answer(requestId, peer, allow);
  }

  /** A watcher's own viewer stream of a graphical app (RFB frames); why it is refused, or null. */
  watcherViewer(id: string, data: Uint8Array): string | null {
    return this.watchers.relayInput(id, data);
  }

  /** The connection went away: keep the app running for the hold time. */
  detach(peer: SessionPeer): void {
    this.sound?.stop(peer);
    this.microphone?.intake.stop(peer);
    if (this.flow.peer !== peer || this.endMessage !== null) return;
    this.flow.detach();
    this.display.detachViewer();
    this.governor?.stop();
    this.deadlines.detach();
    this.startHold();
  }

  /** Waits for a client for the hold time (after a detach, or a promotion). */
  startHold(): void {
    this.deadlines.hold();
    // Nobody is reading now: the app runs on within its detached allowance, and only the screen keeps up with it.
    this.flow.unwatched();
    this.flow.maybeRelease();
  }

  /** Takes client input `seq` exactly once; returns an error text for out-of-order input. */
  input(seq: number, data: Uint8Array): string | null {
    const problem = this.log.input(seq, data);
    if (problem === null) this.deadlines.input();
    return problem;
  }

  /** A GUI client's own viewer stream (RFB frames); returns why it is refused, or null. */
  viewer(data: Uint8Array): string | null {
    if (this.role !== 'primary') return 'this replica is not the session\'s primary';
    return this.display.viewerInput(data);
  }

  /** Resizes the app (through the log, like input); returns the entry's index. */
  resize(cols: number, rows: number): number {
    this.cols = cols;
    this.rows = rows;
    this.watchers.resized(cols, rows);
    return this.log.resize(cols, rows);
  }

  outputAck(offset: number): string | null {
    return this.flow.ack(offset);
  }

  /** Resolves once this replica has applied every entry it holds now. */
  replayed(through = this.log.length): Promise<void> {
    return this.log.whenApplied(through);
  }

  /** Its app's process clocks now (pid → µs), for standbys that fast-forward; null: none. */
  processClocks(): Map<number, number> | null {
    return this.display.clocks?.readClocks() ?? null;
  }

  /** The primary's process clocks when it had applied `index`: this replica's timers may catch up to them once it has too. */
  primaryClocks(index: number, clocks: Array<[number, number]>): void {
    this.clockTargets.add(index, clocks);
  }

  /** A newer primary in `epoch` exists: this standby follows it. */
  follow(epoch: number): void {
    this.epoch = epoch;
  }

  /** This standby becomes the primary in `epoch` (its primary died); the client resumes here. */
  promote(epoch: number): void {
    this.epoch = epoch;
    // Its timers run in real time from here (they fast-forwarded to the old primary's).
    this.display.clocks?.fastForward(false);
    this.log.promote();
    this.display.followEcho?.();
    this.recording?.caughtUp();
    this.uploads.startSweeping();
    // The same deadlines as on the old primary: the same start, and the person's last input as this replica saw it.
    this.deadlines.start();
    this.startHold();
    // The record was given the node's hold when this replica was promoted: this session's is what counts.
    this.options.onDeadlines?.(this);
  }

  /** This replica's screen hash and files digest, at the log index it has applied. */
  async screenHash(): Promise<{ index: number; hash: string | null; files: string | null }> {
    const index = this.log.appliedIndex;
    this.flow.flush();
    const [hash, files] = await Promise.all([this.display.hash(), this.display.homeDigest()]);
    return { index, hash, files };
  }

  /** The person's client must move elsewhere (this replica was superseded, or moved on purpose): close it without ending. */
  dropClient(planned = false): void {
    this.sound?.stop();
    this.microphone?.intake.stop();
    // Watchers join again wherever the session goes on (from a snapshot there).
    this.watchers.clear(null);
    const peer = this.flow.detach();
    this.display.detachViewer();
    this.governor?.stop();
    this.deadlines.detach();
    peer?.moved(planned);
  }

  /** Ends the session on purpose (the person, an administrator, the hold timer, the node stopping). */
  end(reason: EndReason): void {
    if (this.endMessage !== null) return;
    this.finish(null, reason);
    this.display.kill();
  }

  /**
   * The app exited. Its last output may be waiting for the standbys to hold the input
   * before it (settle): the session ends once that is shown — or once they are given
   * up on, which commits too.
   */
  private exited(exit: AppExit): void {
    const { name: appName, sandbox } = this.app;
    const lastWords = () => (this.display instanceof RfbDisplay ? this.display.lastWords() : undefined);
    const reason = (): EndReason => ({ kind: 'app-exit', exit, message: describeExit(exit, { appName, sandbox, inputSeq: this.log.inputSeq, startedAt: this.startedAt, lastWords: lastWords() }) });
    if (this.log.settledIndex >= this.log.appliedIndex) return this.finish(exit, reason());
    void this.log.whenSettled(this.log.appliedIndex).then(() => this.finish(exit, reason()));
  }

  private finish(exit: AppExit | null, reason: EndReason): void {
    if (this.endMessage !== null) return;
    this.flow.close();
    const message = describeEnd(reason);
    this.endMessage = message;
    this.deadlines.stop();
    this.uploads.stop();
    this.replicator?.stop();
    this.log.close();
    this.display.close();
    this.printing?.close();
    // A replica removed goes away before the session ends: its copy is not the whole session.
    void this.recording?.end(reason.kind !== 'replica-removed');
    this.flow.detach()?.ended(exit, message);
    this.watchers.clear(`The session you were watching ended: ${message}`);
    this.consent.closeAll('nobody');
    this.sound?.stop();
    this.microphone?.intake.stop();
    this.microphone?.feed.close();
    this.governor?.stop();
    this.options.onEnd(this, reason, exit);
  }

  /** What the display read: to the client (through the flow), and to the log (a standby paces its replay by it). */
  private output(data: Buffer, room = false): boolean {
    this.lastReadAt = performance.now();
    if (this.display.kind === 'terminal') this.recording?.output(data);
    const kept = this.flow.push(data, room);
    this.log.outputProduced(this.flow.outputBytes);
    this.flow.checkBackpressure();
    return kept;
  }
}
