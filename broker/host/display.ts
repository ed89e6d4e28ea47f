// What a session's replica shows and takes input through. A terminal display is a
// PTY with a headless screen beside it; an RFB display is an Xvnc server with the app
// on it. The session above them keeps the log, the numbering and the flow control,
// the same for both.
import type { AppConfig, SandboxProfile } from '../config/schema.js';
import type { AppExit, AppProcessOptions, LockstepOptions } from './app-process.js';
import type { Screens } from './screens.js';
import type { SandboxHost } from './sandbox-host.js';
import type { EchoMode, Thumbnail } from '../../shared/protocol/index.js';
import type { HomeFiles } from './home-files.js';
import type { HomeUploads } from './home-uploads.js';
import type { ProcessClocks } from './lockstep-clock.js';

export interface Display {
  readonly kind: 'terminal' | 'rfb';
  readonly pid: number;
  /** An app with sound: where its sound server listens (host path) and as whom to read it; null: no sound. */
  readonly sound: { socket: string; uid: number | null } | null;
  /** Input may be applied: the app has started and settled (every replica waits the same way). */
  ready(): boolean;
  /** Refuses bytes that cannot be one input entry for this display; null when they can. */
  checkInput(data: Uint8Array): string | null;
  /** Applies an input entry's bytes. */
  write(data: Uint8Array): void;
  /** Applies a resize entry (terminal cells). */
  resize(cols: number, rows: number): void;
  /** A lockstep replica: the time of the entry about to be applied (µs) and the bytes of input it carries. */
  setClock(timeUs: number, inputBytes: number): void;
  /** A lockstep replica's process clocks (null: not lockstep, or the app is gone). */
  readonly clocks: ProcessClocks | null;
  /** Stops (and restarts) reading what streams to the client: backpressure. */
  hold(): void;
  release(): void;
  /** Output taken but not yet processed by the display's own screen (bytes). */
  backlog(): number;
  /** What a resuming client is given before the stream continues ('' for RFB: its viewer starts afresh). */
  snapshot(): Promise<string>;
  /** A hash of what the app shows, to compare replicas; null if it would not hold still. */
  hash(): Promise<string | null>;
  /** A small picture of what the app shows (a terminal's rows as text, a screen as a PNG); null if there is none yet. */
  thumbnail(): Promise<Thumbnail | null>;
  /** A digest of the app's files (its home), to compare replicas; null if too large to compare. */
  homeDigest(): Promise<string | null>;
  /** The app's home as its person reads it (listings, downloads), from inside the sandbox's view. */
  readonly homeFiles: HomeFiles;
  /** Uploads into it, applied from the session's log. */
  readonly homeUploads: HomeUploads;
  /** A client attached: from here on the stream is its own (RFB: a fresh viewer stream). */
  attachViewer(): void;
  /** The client went: stop streaming to it. */
  detachViewer(): void;
  /** The client's own viewer stream (RFB frames); returns why it is refused, or null. */
  viewerInput(data: Uint8Array): string | null;
  /**
   * A viewer stream of its own for someone watching (a GUI display; absent on a
   * terminal, whose watchers share the session's output): `onData` gets the display's
   * bytes for them; `onClose` when the display dropped it. Null when the display is gone.
   */
  watch?(onData: (data: Buffer) => void, onClose: () => void): WatchRelay | null;
  /**
   * A terminal display: starts following how the app's keystrokes come back (its
   * termios, termios-watch.ts); DisplayOptions.onEcho hears each change. Only a
   * primary's client is told, so standbys do not (absent on a GUI display).
   */
  followEcho?(): void;
  /** How keystrokes come back now; null until known, or when it cannot be known. */
  readonly echo?: EchoMode | null;
  kill(): void;
  close(): void;
}

/** A watcher's own viewer stream of a GUI display (RfbDisplay.watch). */
export interface WatchRelay {
  /** The watcher's viewer messages (its handshake, encodings, update requests); why they are refused, or null. */
  input(data: Uint8Array): string | null;
  /** Its socket is behind: read no more from the display for it until resumed. */
  pause(): void;
  resume(): void;
  close(): void;
}

export interface DisplayOptions {
  sessionId: string;
  app: AppConfig;
  profile: SandboxProfile;
  stateDir: string;
  sandbox: SandboxHost;
  homeDir?: string;
  /** A lockstep replica (app-process.ts). */
  lockstep?: LockstepOptions;
  /** The session's print spool, bound into the sandbox (print-spool.ts). */
  print?: { jobs: string; bin: string; ipp: string };
  /** A GUI app: its launching screen's device pixels per CSS pixel (sandbox.ts scaleSettings). */
  scale?: number;
  cols: number;
  rows: number;
  screens: Screens;
  /**
   * What streams to the client. `room`: `data` is a view of a buffer the display reads
   * into again, valid only during the call, with OUTPUT_HEADER bytes free in front of it
   * for the frame's header, so the frame can go out as it lies. Returns true when
   * something still holds that memory after the call (the socket queued the frame): the
   * display then reads into new memory.
   */
  onOutput: (data: Buffer, room?: boolean) => boolean;
  onExit: (exit: AppExit) => void;
  /** The display caught up on some backlog (flow control may release). */
  onProgress: () => void;
}

/** What an AppProcess needs of a display's options; the display supplies the callbacks. */
export function processOptions(options: DisplayOptions): Omit<AppProcessOptions, 'onOutput' | 'onExit'> {
  const { app, profile, stateDir, sandbox, homeDir, cols, rows, lockstep, print, scale } = options;
  return { app, profile, stateDir, sandbox, homeDir, cols, rows, lockstep, print, scale };
}
