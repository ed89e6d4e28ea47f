// What a session's replica runs its app on, and what its log writes to: the display
// (a terminal or a GUI screen, host/) made from the session's options, and the
// LogTarget (input-log.ts) that applies log entries to it — input, resizes, clock and
// upload operations — with what a standby must note on the way.
import type { AppConfig, SandboxProfile } from '../config/schema.js';
import type { AppExit } from '../host/app-process.js';
import type { Display } from '../host/display.js';
import { RfbDisplay } from '../host/rfb-display.js';
import type { Screens } from '../host/screens.js';
import type { SandboxHost } from '../host/sandbox-host.js';
import { TerminalDisplay } from '../host/terminal-display.js';
import type { LogTarget } from './input-log.js';
import { applyFileOp } from './session-uploads.js';

export interface DisplaySpec {
  sessionId: string;
  app: AppConfig;
  profile: SandboxProfile;
  stateDir: string;
  sandbox: SandboxHost;
  homeDir?: string;
  /** Lockstep: the shim, the session's key, and its start (µs). */
  lockstep?: { library: string; key: Uint8Array; startUs: number };
  /** The print spool bound into the sandbox (host/session-printing.ts). */
  print?: { jobs: string; bin: string };
  cols: number;
  rows: number;
  screens: Screens;
  onOutput: (data: Buffer, room?: boolean) => boolean;
  onExit: (exit: AppExit) => void;
  onProgress: () => void;
  /** A GUI display's viewer stream to the client failed. */
  onViewerLost: () => void;
  onTitle: (title: string) => void;
  warn: (message: string, fields: Record<string, unknown>) => void;
}

export function makeDisplay(spec: DisplaySpec): Display {
  const { onViewerLost, onTitle, warn, ...common } = spec;
  return spec.app.display === 'rfb' ? new RfbDisplay({ ...common, onViewerLost, onTitle, log: warn }) : new TerminalDisplay(common);
}

/** What a standby notes as entries are applied (a primary noted them when it logged them). */
export interface StandbyNotes {
  isStandby(): boolean;
  /** The person gave input (for the idle deadline, once promoted). */
  input(): void;
  /** The app's size now. */
  resized(cols: number, rows: number): void;
}

export function displayTarget(display: Display, notes: StandbyNotes): LogTarget {
  return {
    kind: display.kind,
    ready: () => display.ready(),
    checkInput: (data) => display.checkInput(data),
    setClock: (timeUs, inputBytes) => display.setClock(timeUs, inputBytes),
    write: (data) => {
      display.write(data);
      if (notes.isStandby()) notes.input();
    },
    file: (op, data) => applyFileOp(display.homeUploads, op, data),
    resize: (cols, rows) => {
      display.resize(cols, rows);
      if (notes.isStandby()) notes.resized(cols, rows);
    },
  };
}
