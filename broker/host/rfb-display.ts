// A GUI app's display: the app and its own Xvnc in one sandbox (sandbox.ts,
// RFB_LAUNCH), reached only through a Unix socket in the sandbox's private directory.
// The host opens two kinds of connection to it:
//
//   - its own viewer (RfbViewer), through which every replica applies the session's
//     logged input messages — so all of them see the same keys and pointer, in order —
//     and reads the framebuffer to hash it;
//   - a relay per attached client: the client's noVNC does its own handshake and picks
//     its own encodings; the host passes Xvnc's bytes through untouched (its encoders
//     are C, ours would not be faster) and checks every message the client sends.
//
// Input never goes through a relay: the client sends it as numbered INPUT frames,
// which the session logs and applies here through the host's viewer.
import { existsSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { OUTPUT_HEADER, RfbClientParser, RfbType, checkInputMessage, setEncodingsWithQuality, withoutExtendedClipboard, type ImageQuality, type Thumbnail } from '../../shared/protocol/index.js';
import { sleep } from '../sleep.js';
import { AppProcess } from './app-process.js';
import type { HomeFiles } from './home-files.js';
import type { HomeUploads } from './home-uploads.js';
import type { ProcessClocks } from './lockstep-clock.js';
import { processOptions, type Display, type DisplayOptions, type WatchRelay } from './display.js';
import { RfbRecorder, type RecorderSink } from './rfb-recorder.js';
import { RfbViewer } from './rfb-viewer.js';
import { imageThumbnail } from './thumbnail.js';
import { WindowTitle } from './window-title.js';

/** Connections of the host's viewer tried before the display is given up on, and the pause between them. */
const CONTROL_ATTEMPTS = 5;
const CONTROL_RETRY_MS = 200;
/** How long Xvnc may take to listen before the display is given up on. */
const SOCKET_WAIT_MS = 10_000;
/**
 * The app has started once it has drawn and its screen held still this long after it
 * changed… An app that takes input before it is done starting loses it (xedit drops
 * what was typed before it loaded its file), and the replicas of a session lose
 * different keys: a burst held for a slow start must not land mid-start.
 */
const SETTLE_QUIET_MS = 500;
const SETTLE_POLL_MS = 150;
/** …or after this long with no change at all since it drew (an app that draws nothing new). */
const SETTLE_UNCHANGED_MS = 2500;
const SETTLE_MAX_MS = 6000;
/**
 * A screen still black and unchanged (the bare display: the app has mapped no window
 * yet) is waited on longer — an app starts in 0.3 s on one host and in 4 s on a loaded one. Input
 * waits meanwhile (input-log.ts); it is not lost.
 */
const SETTLE_BLANK_MAX_MS = 20_000;
/** Two full frames this far apart must agree for a hash to count. */
const HASH_STEADY_MS = 100;
/** A relay reads the display's socket into a buffer of this size (Xvnc's pieces are a few KiB). */
const RELAY_READ_BYTES = 64 * 1024;
/**
 * A recorder's connection that closes while the app still runs is a broken recording once
 * the app has not exited within this (Xvnc goes first when an app ends, and the exit is
 * known only once the sandbox is torn down: seconds on a loaded host, where 2 s marked
 * recordings of apps that simply ended incomplete).
 */
const RECORDER_GRACE_MS = 10_000;
/** What the app and Xvnc print (to their PTY) is kept for the operator and for exit messages. */
const TAIL_BYTES = 4096;

interface Relay {
  parser: RfbClientParser;
  socket: Socket | null;
  queue: Uint8Array[];
  handshake: number;
  /** The viewer's own SetEncodings, as last sent: what a change of quality rewrites. */
  encodings?: Uint8Array;
  /** The quality its SetEncodings are given (the client's link's: setQuality); absent: the viewer's own. */
  quality?: () => ImageQuality | null;
}

export class RfbDisplay implements Display {
  readonly kind = 'rfb';
  private readonly process: AppProcess;
  private readonly socketPath: string;
  private control: RfbViewer | null = null;
  private controlSocket: Socket | null = null;
  private settled = false;
  private relay: Relay | null = null;
  /** The quality the client's link can carry (setQuality); null until the session's governor says. */
  private quality: ImageQuality | null = null;
  private held = false;
  private tail = Buffer.alloc(0);
  private gone = false;
  private readonly socketReady: Promise<boolean>;
  private readonly windowTitle: WindowTitle | null;
  private recorder: { socket: Socket; recorder: RfbRecorder } | null = null;
  private closing = false;
  /** The node ended the app (kill()): the display's connections closing is expected. */
  private killed = false;

  constructor(
    private readonly options: DisplayOptions & {
      /** The client's relay broke (the display dropped it): the client should reconnect. */
      onViewerLost: () => void;
      /** The app's active window has a new title (window-title.ts); '' when it has none. */
      onTitle: (title: string) => void;
      log: (message: string, fields: Record<string, unknown>) => void;
    },
  ) {
    this.process = new AppProcess({
      ...processOptions(options),
      onOutput: (data) => {
        this.tail = Buffer.concat([this.tail, data]).subarray(-TAIL_BYTES);
      },
      onExit: (exit) => {
        this.gone = true;
        this.close();
        options.onExit(exit);
      },
    });
    this.socketPath = this.process.displaySocket!;
    this.windowTitle = options.app.windowManager ? new WindowTitle(dirname(this.socketPath), options.onTitle) : null;
    this.socketReady = this.waitForSocket();
    void this.start();
  }

  get pid(): number {
    return this.process.pid;
  }

  get sound(): { socket: string; uid: number | null } | null {
    return this.process.soundSocket ? { socket: this.process.soundSocket, uid: this.process.uid } : null;
  }

  /** The last line the app or its display printed (why it stopped, usually). */
  lastWords(): string | null {
    const lines = this.tail
      .toString('utf8')
      .split(/\r?\n/)
      .map((line) => line.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').trim())
      .filter((line) => line.length > 0);
    return lines.at(-1) ?? null;
  }

  ready(): boolean {
    return this.settled;
  }

  checkInput(data: Uint8Array): string | null {
    return checkInputMessage(data);
  }

  write(data: Uint8Array): void {
    this.control?.input(data);
  }

  homeDigest(): Promise<string | null> {
    return this.process.homeDigest();
  }

  get clocks(): ProcessClocks | null {
    return this.process.clocks;
  }

  get homeFiles(): HomeFiles {
    return this.process.homeFiles;
  }

  get homeUploads(): HomeUploads {
    return this.process.homeUploads;
  }

  setClock(timeUs: number): void {
    // Input goes to the display server, not to the app's terminal.
    this.process.setClock(timeUs, 0);
  }

  resize(): void {
    // A GUI display is resized by its viewer's SetDesktopSize, an input message like any other.
  }

  hold(): void {
    this.held = true;
    this.relay?.socket?.pause();
  }

  release(): void {
    this.held = false;
    this.relay?.socket?.resume();
  }

  backlog(): number {
    return 0;
  }

  async snapshot(): Promise<string> {
    return '';
  }

  async hash(): Promise<string | null> {
    const control = this.control;
    if (!control || !this.settled) return null;
    try {
      const first = await control.frameHash();
      await sleep(HASH_STEADY_MS);
      const second = await control.frameHash();
      return first === second ? first : null;
    } catch {
      return null;
    }
  }

  /** The screen as the host's own viewer reads it now, scaled down (thumbnail.ts). */
  async thumbnail(): Promise<Thumbnail | null> {
    const control = this.control;
    if (!control) return null;
    try {
      await control.fullFrame();
    } catch {
      return null;
    }
    // Read at once, before the viewer takes another update.
    return control.width > 0 && control.height > 0 ? imageThumbnail(control.framebuffer, control.width, control.height) : null;
  }

  attachViewer(): void {
    this.detachViewer();
    const relay: Relay = { parser: new RfbClientParser(), socket: null, queue: [], handshake: 0, quality: () => this.quality };
    this.relay = relay;
    void this.socketReady.then((ok) => {
      if (!ok || this.relay !== relay) return;
      // Xvnc writes an update in pieces of a few KiB, each read on its own. They are read
      // into one buffer, after room for the frame header, and go out from there: no
      // allocation, copy or stream event per read (docs/performance.md, RFB). New memory
      // is taken only when the client's socket kept the last read queued.
      let space = Buffer.allocUnsafeSlow(OUTPUT_HEADER + RELAY_READ_BYTES);
      let readInto = space.subarray(OUTPUT_HEADER);
      let kept = false;
      const socket = createConnection({
        path: this.socketPath,
        onread: {
          buffer: () => {
            if (kept) {
              space = Buffer.allocUnsafeSlow(OUTPUT_HEADER + RELAY_READ_BYTES);
              readInto = space.subarray(OUTPUT_HEADER);
              kept = false;
            }
            return readInto;
          },
          callback: (bytes: number) => {
            if (this.relay === relay) kept = this.options.onOutput(readInto.subarray(0, bytes), true);
            return true;
          },
        },
      });
      relay.socket = socket;
      if (this.held) socket.pause();
      socket.on('connect', () => {
        for (const bytes of relay.queue.splice(0)) socket.write(bytes);
      });
      socket.on('error', () => {});
      socket.on('close', () => {
        if (this.relay !== relay) return;
        this.relay = null;
        if (!this.gone) this.options.onViewerLost();
      });
    });
  }

  /**
   * The image quality of the client's stream from now on (the session's link governor):
   * the viewer's own SetEncodings, sent again with it.
   */
  setQuality(quality: ImageQuality): void {
    this.quality = quality;
    const relay = this.relay;
    if (relay?.encodings) send(relay, setEncodingsWithQuality(relay.encodings, quality));
  }

  detachViewer(): void {
    const relay = this.relay;
    this.relay = null;
    relay?.socket?.destroy();
  }

  viewerInput(data: Uint8Array): string | null {
    const relay = this.relay;
    if (!relay) return 'no viewer stream is open for this connection';
    return relayMessages(relay, data);
  }

  /**
   * Someone watching (a share link, an administrator): a connection of their own to the
   * display, so their noVNC picks its own encodings and asks for updates at its own
   * pace — Xvnc serves each viewer apart, and one slow watcher never holds up the
   * owner's stream. Their input, where they may type, comes through the log like the
   * owner's; nothing they send on this stream reaches the app.
   */
  watch(onData: (data: Buffer) => void, onClose: () => void): WatchRelay | null {
    if (this.gone) return null;
    const relay: Relay = { parser: new RfbClientParser(), socket: null, queue: [], handshake: 0 };
    let closed = false;
    let paused = false;
    void this.socketReady.then((ok) => {
      if (closed) return;
      if (!ok) return onClose();
      const socket = createConnection(this.socketPath);
      relay.socket = socket;
      if (paused) socket.pause();
      socket.on('connect', () => {
        for (const bytes of relay.queue.splice(0)) socket.write(bytes);
      });
      socket.on('data', (data: Buffer) => onData(data));
      socket.on('error', () => {});
      socket.on('close', () => {
        if (!closed) onClose();
        closed = true;
      });
    });
    return {
      input: (data) => relayMessages(relay, data),
      pause: () => {
        paused = true;
        relay.socket?.pause();
      },
      resume: () => {
        paused = false;
        relay.socket?.resume();
      },
      close: () => {
        closed = true;
        relay.socket?.destroy();
      },
    };
  }

  kill(): void {
    // The display goes with the app: its recorder losing it now is the end, not a failure.
    this.killed = true;
    this.process.kill();
  }

  /** The app's window title now ('' until it names one). */
  title(): string {
    return this.windowTitle?.title ?? '';
  }

  /**
   * Records the display from now on: a connection of its own (once Xvnc listens), whose
   * every byte goes to `sink`. A stream that breaks while the app runs is told to
   * `failed` (the recording is incomplete; the session goes on).
   */
  record(sink: RecorderSink & { failed(why: string): void }): void {
    void this.socketReady.then((ok) => {
      if (this.closing || this.gone) return;
      if (!ok) return sink.failed('the display did not start');
      const socket = createConnection(this.socketPath);
      const recorder = new RfbRecorder({ send: (bytes) => socket.write(bytes), sink });
      this.recorder = { socket, recorder };
      socket.on('data', (data) => recorder.push(data));
      socket.on('error', () => {});
      socket.on('close', () => recorder.end());
      void recorder.done.then((error) => {
        if (this.closing) return;
        // Lost before the node stopped the app: a break, whatever happens after.
        const stopped = this.killed;
        socket.destroy();
        // An app that ends takes Xvnc with it, and its connections may close before its exit is known.
        setTimeout(() => {
          if (this.closing || this.gone || stopped) return;
          this.options.log('the recording lost its connection to the display', { session: this.options.sessionId, error: error.message });
          sink.failed(`the recording lost its connection to the display: ${error.message}`);
        }, RECORDER_GRACE_MS).unref();
      });
    });
  }

  close(): void {
    this.closing = true;
    this.recorder?.recorder.close();
    this.recorder?.socket.destroy();
    this.windowTitle?.close();
    this.detachViewer();
    this.control?.close();
    this.controlSocket?.destroy();
  }

  private async waitForSocket(): Promise<boolean> {
    const deadline = performance.now() + SOCKET_WAIT_MS;
    while (!existsSync(this.socketPath)) {
      if (this.gone || performance.now() > deadline) return false;
      await sleep(20);
    }
    return true;
  }

  /**
   * Connects the host's own viewer, then waits for the app to draw and hold still. A
   * display that drops the host's connection before then is connected to again (seen
   * once under load, a second after a standby's start: that standby never settled, so
   * once promoted it could apply no input); the app and its screen are unharmed by it.
   */
  private async start(): Promise<void> {
    if (!(await this.socketReady)) {
      if (!this.gone) this.options.log('the display did not start', { session: this.options.sessionId, output: this.lastWords() });
      return;
    }
    for (let attempt = 1; attempt <= CONTROL_ATTEMPTS && !this.gone; attempt++) {
      if (await this.connectAndSettle()) {
        this.settled = true;
        return;
      }
      if (!this.gone) this.options.log('the host connects to the display again', { session: this.options.sessionId, attempt });
      await sleep(CONTROL_RETRY_MS);
    }
  }

  /** One connection of the host's viewer: true once the app's screen held still through it. */
  private async connectAndSettle(): Promise<boolean> {
    this.control?.close();
    this.controlSocket?.destroy();
    const socket = createConnection(this.socketPath);
    this.controlSocket = socket;
    const control = new RfbViewer({
      send: (bytes) => socket.write(bytes),
      close: () => socket.destroy(),
    });
    socket.on('data', (data) => control.push(data));
    socket.on('error', () => {});
    socket.on('close', () => control.end());
    void control.done.then((error) => {
      if (error && !this.gone) this.options.log('the display stopped answering the host', { session: this.options.sessionId, error: error.message });
    });
    try {
      await control.ready;
    } catch {
      return false;
    }
    this.control = control;
    const started = performance.now();
    try {
      const first = await control.frameHash();
      let previous = first;
      let changedAt = started;
      let drawnAt = control.drawn() ? started : null;
      for (;;) {
        await sleep(SETTLE_POLL_MS);
        const hash = await control.frameHash();
        const now = performance.now();
        if (hash !== previous) changedAt = now;
        previous = hash;
        // A dark app's window may light too little to count as drawn: any change counts too.
        if (drawnAt === null && (hash !== first || control.drawn())) drawnAt = now;
        if (drawnAt === null) {
          if (now - started >= SETTLE_BLANK_MAX_MS) break;
          continue;
        }
        const still = now - changedAt >= SETTLE_QUIET_MS;
        if (still && (hash !== first || now - drawnAt >= SETTLE_UNCHANGED_MS)) break;
        if (now - drawnAt >= SETTLE_MAX_MS) break;
      }
    } catch {
      return false;
    }
    return true;
  }
}

/**
 * A client's viewer messages to the display, checked: input never goes this way (it
 * comes numbered, through the log), the display is always shared, and the extended
 * clipboard is not offered (clipboard text is input). Returns why they are refused, or null.
 */
function relayMessages(relay: Relay, data: Uint8Array): string | null {
  const messages = relay.parser.push(data);
  if (typeof messages === 'string') return messages;
  for (const message of messages) {
    let bytes = message.bytes;
    if (message.kind === 'input') return `RFB input (message type ${message.type}) must come in a numbered INPUT frame`;
    if (message.kind === 'handshake' && ++relay.handshake === 3) bytes = new Uint8Array([1]); // ClientInit: always shared
    if (message.type === RfbType.setEncodings) {
      bytes = withoutExtendedClipboard(bytes);
      relay.encodings = bytes;
      const quality = relay.quality?.() ?? null;
      if (quality) bytes = setEncodingsWithQuality(bytes, quality);
    }
    send(relay, bytes);
  }
  return null;
}

function send(relay: Relay, bytes: Uint8Array): void {
  if (relay.socket && !relay.socket.connecting) relay.socket.write(bytes);
  else relay.queue.push(bytes);
}
