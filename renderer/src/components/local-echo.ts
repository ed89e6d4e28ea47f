// Predictive local echo (issue 27, as Mosh does it): on a slow link a keystroke shows
// where the terminal will show it before the host's output comes back, and the output
// then confirms or refutes it. This module is the pure logic — it reads the terminal's
// screen through EchoScreen and never writes to it; what it predicts is drawn over the
// screen by echo-overlay.ts, so the screen itself is always exactly what the host sent.
//
// What may be predicted comes from the host (session.echo): `echo` (the terminal echoes
// what is typed: predictions are shown at once), `app` (the app decides — readline,
// vim, less: predictions are tracked, and shown only once the app has confirmed one of
// the current "epoch"), `hidden` or not told (nothing, ever). A prediction that the
// output refutes — another character, the cursor somewhere else — drops every pending
// one and starts a new epoch that must earn its confidence again. A key whose effect
// cannot be known (Enter, Tab, Ctrl+…, up and down) stops predicting until the host has
// applied it and its output has gone quiet; in `app` mode it starts a new epoch too.
import type { EchoMode } from '../../../shared/protocol/index.js';
import { echoKeys, type EchoKey } from './echo-keys.js';

/** Automatic (the default): predictions show once the measured echo delay is above AUTO_THRESHOLD_MS. */
export type LocalEchoSetting = 'auto' | 'always' | 'never';
export const LOCAL_ECHO_SETTINGS: readonly LocalEchoSetting[] = ['auto', 'always', 'never'];

/** Below this echo delay, typing already feels local: `auto` shows nothing. */
export const AUTO_THRESHOLD_MS = 30;
/** After a key whose effect is unknown, output must have been quiet this long before the screen is predicted from. */
export const QUIET_MS = 20;
/** A prediction the output neither confirms nor refutes within this (or four echo delays) is taken as refuted. */
export const MIN_EXPIRY_MS = 750;
/** Predictions pending at once, at most: past that, keys go unpredicted until the output catches up. */
const MAX_PENDING = 200;
/** Blank cells that set text apart from the line being edited (a right-hand prompt). */
const SEPARATE_TEXT = 4;

/** A cell on the screen: `row` counts from the top of the scrollback, so it survives scrolling. */
export interface CellPoint {
  x: number;
  row: number;
}

/** What the engine reads of the terminal (xterm.js's active buffer: echo-screen.ts). */
export interface EchoScreen {
  readonly cols: number;
  /** The cursor, on the buffer's absolute rows. */
  cursor(): CellPoint;
  /** A cell's text (a blank cell reads ' ') and width in cells (0 for the second half of a wide character). */
  cell(x: number, row: number): { chars: string; width: number };
  /** Whether the alternate screen (full-screen apps: vim, less) is shown. */
  alternate(): boolean;
}

export interface LocalEchoOptions {
  screen: EchoScreen;
  /**
   * How many of the inputs numbered through typed() the host has applied: the output
   * read after an input is applied shows its effect.
   */
  applied: () => number;
  setting?: LocalEchoSetting;
  mode?: EchoMode | null;
}

/** What to draw over the screen now: cells whose prediction differs from what is there, and where the cursor will be. */
export interface EchoView {
  cells: Array<CellPoint & { chars: string }>;
  cursor: CellPoint | null;
}

interface CellChange extends CellPoint {
  before: string;
  after: string;
}

interface Prediction {
  /** The input it came with (typed()'s number). */
  input: number;
  sentAt: number;
  epoch: number;
  cells: Map<string, CellChange>;
  cursorBefore: CellPoint;
  cursorAfter: CellPoint;
}

/** The span of the cursor's row that is being typed: backspace and left stop at `start`, right at `end`. */
interface EditSpan {
  row: number;
  start: number;
  end: number;
}

const cellKey = (x: number, row: number) => `${row}:${x}`;
const samePoint = (a: CellPoint, b: CellPoint) => a.x === b.x && a.row === b.row;

export class LocalEcho {
  private readonly screen: EchoScreen;
  private readonly applied: () => number;
  private setting: LocalEchoSetting;
  private mode: EchoMode | null;
  private predictions: Prediction[] = [];
  private edit: EditSpan | null = null;
  /** Raised on each refutation, mode change and unknown key; predictions of an epoch show once one of it is confirmed. */
  private epoch = 1;
  private confirmedEpoch = 0;
  /** The last input typed; while `barrier` is set, nothing is predicted until the host has applied it and output is quiet. */
  private lastInput = 0;
  private barrier: number | null = null;
  /** Keys typed while waiting for the barrier: those still unapplied then are predicted from the screen as it has become. */
  private tail: Array<{ input: number; at: number; key: EchoKey }> = [];
  private lastOutputAt = -Infinity;
  private onAlternate = false;
  private smoothedDelay: number | null = null;

  constructor(options: LocalEchoOptions) {
    this.screen = options.screen;
    this.applied = options.applied;
    this.setting = options.setting ?? 'auto';
    this.mode = options.mode ?? null;
    this.onAlternate = this.screen.alternate();
    if (this.mode === 'echo') this.confirmedEpoch = this.epoch;
  }

  /** Time from a keystroke to the output confirming it, smoothed (ms); null until one was confirmed. */
  get delay(): number | null {
    return this.smoothedDelay;
  }

  /** Whether predictions of the current epoch would be shown (the setting and the delay aside). */
  get confident(): boolean {
    return this.confirmedEpoch >= this.epoch;
  }

  /** Predictions made and neither confirmed nor refuted yet, shown or not. */
  get pending(): number {
    return this.predictions.length;
  }

  setSetting(setting: LocalEchoSetting): void {
    this.setting = setting;
    if (setting === 'never') this.restart();
  }

  /** The host told how keystrokes come back now (session.echo). */
  setMode(mode: EchoMode | null): void {
    if (mode === this.mode) return;
    this.mode = mode;
    this.restart();
    // The terminal itself echoes: nothing to earn. (A password prompt is announced before it is shown.)
    if (mode === 'echo') this.confirmedEpoch = this.epoch;
  }

  /** The screen was replaced (a resume's snapshot) or resized: nothing predicted still holds. */
  reset(): void {
    this.restart();
  }

  /**
   * Keys typed, as sent to the host as input number `input` (1, 2, 3… in the order
   * typed), at `now` (ms).
   */
  typed(data: string, input: number, now: number): void {
    this.lastInput = input;
    if (!this.tracking()) return;
    const keys = echoKeys(data);
    if (this.barrier !== null && !this.settle(now)) {
      for (const key of keys) {
        if (key.kind === 'other') return this.unknown(key, input);
        this.tail.push({ input, at: now, key });
      }
      return;
    }
    for (const key of keys) {
      if (!this.predict(key, input, now)) return this.unknown(key, input);
    }
  }

  /** Output was parsed into the screen (xterm's write callback): confirm, refute or keep waiting. */
  outputParsed(now: number): void {
    this.lastOutputAt = now;
    const alternate = this.screen.alternate();
    if (alternate !== this.onAlternate) {
      // A full-screen app came or went: its screen has to earn confidence of its own.
      this.onAlternate = alternate;
      this.restart();
      return;
    }
    this.judge(now);
  }

  /** Time passed: expire predictions nothing answered, and predict keys typed while waiting once the output is quiet. */
  tick(now: number): void {
    this.expire(now);
    if (this.barrier !== null && this.tail.length > 0) this.settle(now);
  }

  /** When tick() has something to do next (ms), or null. */
  nextDeadline(now: number): number | null {
    const deadlines: number[] = [];
    if (this.predictions.length > 0) deadlines.push(this.predictions[0]!.sentAt + this.expiry());
    if (this.barrier !== null && this.tail.length > 0) deadlines.push(Math.max(this.lastOutputAt + QUIET_MS, now + QUIET_MS / 2));
    return deadlines.length > 0 ? Math.min(...deadlines) : null;
  }

  /** What to draw now: nothing unless predictions are on, the mode allows them and their epoch is confirmed. */
  view(): EchoView {
    const none: EchoView = { cells: [], cursor: null };
    if (!this.showing()) return none;
    const shown = new Map<string, CellPoint & { chars: string }>();
    let cursor: CellPoint | null = null;
    for (const prediction of this.predictions) {
      if (prediction.epoch > this.confirmedEpoch) break;
      for (const [key, change] of prediction.cells) shown.set(key, { x: change.x, row: change.row, chars: change.after });
      cursor = prediction.cursorAfter;
    }
    const cells = [...shown.values()].filter((cell) => this.screen.cell(cell.x, cell.row).chars !== cell.chars);
    if (cursor && samePoint(cursor, this.screen.cursor())) cursor = null;
    return { cells, cursor };
  }

  private tracking(): boolean {
    return this.setting !== 'never' && (this.mode === 'echo' || this.mode === 'app');
  }

  private showing(): boolean {
    if (!this.tracking()) return false;
    return this.setting === 'always' || (this.smoothedDelay !== null && this.smoothedDelay > AUTO_THRESHOLD_MS);
  }

  /** Nothing pending still holds, and keys already sent have effects not seen yet: wait for them, in a new epoch. */
  private restart(): void {
    this.predictions = [];
    this.edit = null;
    this.epoch += 1;
    this.barrier = this.lastInput;
    this.tail = [];
  }

  /** A key whose effect cannot be known: wait until the host has applied it. */
  private unknown(key: EchoKey, input: number): void {
    this.barrier = input;
    this.tail = [];
    this.edit = null;
    // A terminal that echoes moves to the next line on Enter, and a backspace it cannot apply does nothing: still sure of it.
    const harmless = this.mode === 'echo' && !this.onAlternate && ((key.kind === 'other' && key.newline) || key.kind === 'erase');
    if (!harmless) this.epoch += 1;
  }

  /** Whether the screen can be predicted from again; if so, predicts the keys typed meanwhile that the host has not applied. */
  private settle(now: number): boolean {
    if (this.barrier === null) return true;
    const applied = this.applied();
    if (applied < this.barrier || now - this.lastOutputAt < QUIET_MS) return false;
    this.barrier = null;
    const tail = this.tail;
    this.tail = [];
    for (const { input, at, key } of tail) {
      if (input <= applied) continue;
      if (!this.predict(key, input, at)) {
        this.unknown(key, input);
        return false;
      }
    }
    return true;
  }

  private expiry(): number {
    return Math.max(MIN_EXPIRY_MS, 4 * (this.smoothedDelay ?? 0));
  }

  private expire(now: number): void {
    const oldest = this.predictions[0];
    if (oldest && now - oldest.sentAt > this.expiry()) this.restart();
  }

  /** The cursor as predicted: after the last pending prediction, else where the screen has it. */
  private cursor(): CellPoint {
    return this.predictions.at(-1)?.cursorAfter ?? this.screen.cursor();
  }

  /** A cell as predicted: the newest pending prediction of it, else the screen. */
  private predicted(x: number, row: number): string {
    const key = cellKey(x, row);
    for (let i = this.predictions.length - 1; i >= 0; i--) {
      const change = this.predictions[i]!.cells.get(key);
      if (change) return change.after;
    }
    return this.screen.cell(x, row).chars;
  }

  /** The span being typed, from the screen when nothing is pending: kept while the cursor stays in it. */
  private editSpan(cursor: CellPoint): EditSpan {
    const edit = this.edit;
    if (edit && edit.row === cursor.row && cursor.x >= edit.start && cursor.x <= edit.end) return edit;
    let end = cursor.x;
    // An app edits a line with text after the cursor (readline after a move left): that
    // text moves with insertions. Text further off (a right-hand prompt, a clock) does not.
    if (this.mode === 'app') {
      for (let x = cursor.x, blanks = 0; x < this.screen.cols && blanks < SEPARATE_TEXT; x++) {
        if (this.screen.cell(x, cursor.row).chars === ' ') blanks += 1;
        else [end, blanks] = [x + 1, 0];
      }
    }
    this.edit = { row: cursor.row, start: cursor.x, end };
    return this.edit;
  }

  /** Predicts one key; false if its effect cannot be known. */
  private predict(key: EchoKey, input: number, now: number): boolean {
    if (this.predictions.length >= MAX_PENDING || key.kind === 'other') return false;
    const cursor = this.cursor();
    const edit = this.predictions.length === 0 ? this.editSpan(cursor) : this.edit;
    if (!edit || edit.row !== cursor.row) return false;
    const { x, row } = cursor;
    // An app such as readline or vim inserts and deletes within a line; a terminal that echoes overwrites.
    const inserting = this.mode === 'app' && x < edit.end;
    const changes: Array<[number, string]> = [];
    let end = edit.end;
    let to = x;
    if (key.kind === 'char') {
      // The last column wraps, as each terminal and app sees fit: not predicted.
      if (x >= this.screen.cols - 1 || (inserting && edit.end >= this.screen.cols - 1)) return false;
      if (inserting) for (let i = edit.end; i > x; i--) changes.push([i, this.predicted(i - 1, row)]);
      changes.push([x, key.chars]);
      end = inserting ? edit.end + 1 : Math.max(edit.end, x + 1);
      to = x + 1;
    } else if (key.kind === 'erase') {
      if (x <= edit.start) return false;
      if (inserting) {
        for (let i = x - 1; i < edit.end - 1; i++) changes.push([i, this.predicted(i + 1, row)]);
        changes.push([edit.end - 1, ' ']);
        end = edit.end - 1;
      } else {
        changes.push([x - 1, ' ']);
        end = x - 1;
      }
      to = x - 1;
    } else {
      // Moves along the line are an app's (readline); a terminal that echoes prints them as ^[[D.
      if (this.mode !== 'app') return false;
      if (key.kind === 'left' ? x <= edit.start : x >= edit.end) return false;
      to = key.kind === 'left' ? x - 1 : x + 1;
    }
    // Wide characters are laid out by rules of their own: not predicted over.
    if (changes.some(([at]) => this.screen.cell(at, row).width !== 1)) return false;
    const cells = new Map<string, CellChange>();
    for (const [at, after] of changes) cells.set(cellKey(at, row), { x: at, row, before: this.predicted(at, row), after });
    this.predictions.push({ input, sentAt: now, epoch: this.epoch, cells, cursorBefore: cursor, cursorAfter: { x: to, row } });
    edit.end = end;
    return true;
  }

  /**
   * Compares the screen with the states the pending predictions lead through: the
   * latest it equals (on every predicted cell, and the cursor) is how far the output has
   * come; if it equals none, a prediction was wrong.
   */
  private judge(now: number): void {
    if (this.predictions.length === 0) return;
    const reached = this.reached();
    if (reached === null) return this.restart();
    for (const prediction of this.predictions.splice(0, reached)) {
      const sample = now - prediction.sentAt;
      this.smoothedDelay = this.smoothedDelay === null ? sample : 0.75 * this.smoothedDelay + 0.25 * sample;
      this.confirmedEpoch = Math.max(this.confirmedEpoch, prediction.epoch);
    }
    this.expire(now);
  }

  /** How many pending predictions the screen shows applied (0: none yet); null if it is in none of their states. */
  private reached(): number | null {
    const predictions = this.predictions;
    const tracked = new Map<string, CellPoint>();
    for (const prediction of predictions) for (const [key, change] of prediction.cells) tracked.set(key, change);
    const actual = new Map<string, string>();
    for (const [key, cell] of tracked) actual.set(key, this.screen.cell(cell.x, cell.row).chars);
    const cursor = this.screen.cursor();
    for (let k = predictions.length; k >= 0; k--) {
      const expected = k === 0 ? predictions[0]!.cursorBefore : predictions[k - 1]!.cursorAfter;
      if (!samePoint(expected, cursor)) continue;
      if ([...actual].every(([key, chars]) => this.stateAfter(k, key) === chars)) return k;
    }
    return null;
  }

  /** A tracked cell as it would be with the first k predictions applied. */
  private stateAfter(k: number, key: string): string {
    for (let i = k - 1; i >= 0; i--) {
      const change = this.predictions[i]!.cells.get(key);
      if (change) return change.after;
    }
    for (let i = k; i < this.predictions.length; i++) {
      const change = this.predictions[i]!.cells.get(key);
      if (change) return change.before;
    }
    return ' ';
  }
}
