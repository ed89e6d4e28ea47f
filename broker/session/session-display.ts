// What a session's replica runs its app on, and what its log writes to: the display
// (a terminal or a GUI screen, host/) made from the session's options, and the
// LogTarget (input-log.ts) that applies log entries to it — input, resizes, clock,
// microphone and upload operations — with what a standby must note on the way.
import type { Display, DisplayOptions } from '../host/display.js';
import { RfbDisplay } from '../host/rfb-display.js';
import { TerminalDisplay } from '../host/terminal-display.js';
import type { LogTarget } from './log-target.js';
import { applyFileOp } from './session-uploads.js';
import type { EchoMode } from '../../shared/protocol/index.js';

/** A display's options (host/display.ts), with what only a GUI display takes. */
export interface DisplaySpec extends DisplayOptions {
  /** A GUI display's viewer stream to the client failed. */
  onViewerLost: () => void;
  onTitle: (title: string) => void;
  /** A terminal app's echo mode changed (followed on a primary only: Display.followEcho). */
  onEcho: (mode: EchoMode) => void;
  warn: (message: string, fields: Record<string, unknown>) => void;
}

export function makeDisplay(spec: DisplaySpec): Display {
  const { onViewerLost, onTitle, onEcho, warn, ...common } = spec;
  return spec.app.display === 'rfb' ? new RfbDisplay({ ...common, onViewerLost, onTitle, log: warn }) : new TerminalDisplay({ ...common, onEcho, log: warn });
}

/** What a standby notes as entries are applied (a primary noted them when it logged them). */
export interface StandbyNotes {
  isStandby(): boolean;
  /** The person gave input (for the idle deadline, once promoted). */
  input(): void;
  /** The app's size now. */
  resized(cols: number, rows: number): void;
}

/**
 * The LogTarget of `display`. `clocks`: whether a fast-forwarding standby's app has
 * reached the primary's process clocks at the entries applied (clock-targets.ts).
 */
export function displayTarget(
  display: Display,
  notes: StandbyNotes,
  clocks: { behind(applied: number): boolean; forget(): void },
  /** Where the person's microphone goes on this replica (host/microphone-feed.ts). */
  microphone: (packet: Uint8Array) => void,
): LogTarget {
  return {
    kind: display.kind,
    ready: () => display.ready(),
    checkInput: (data) => display.checkInput(data),
    setClock: (timeUs, inputBytes) => display.setClock(timeUs, inputBytes),
    modes: () => (display.kind === 'terminal' ? display.clocks?.readModes() : undefined),
    processClocks: () => display.clocks?.readClocks() ?? null,
    clocksBehind: (applied) => clocks.behind(applied),
    forgetClocks: () => clocks.forget(),
    write: (data) => {
      display.write(data);
      if (notes.isStandby()) notes.input();
    },
    microphone,
    file: (op, data, timeUs) => applyFileOp(display.homeUploads, op, data, timeUs),
    resize: (cols, rows) => {
      display.resize(cols, rows);
      if (notes.isStandby()) notes.resized(cols, rows);
    },
  };
}
