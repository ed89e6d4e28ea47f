// A recording (asciicast v2, docs/protocol.md#recordings) as the player plays it: parsed
// line by line from text the broker sent (each line `unknown` until a schema says what it
// is), and put on a timeline. Pure: no terminal, no clock — the player asks "what is on
// the screen at t?" and writes the answer.
//
// Two clocks: the recording's own (`t`, seconds since the session started: what key
// search answers in) and the played one (`at`), which is the same except that, when
// idle gaps are skipped, no pause between two events lasts longer than `maxIdle` — a
// session left open over lunch plays in seconds, as asciinema's --idle-time-limit does.
import { AsciicastEventSchema, AsciicastHeaderSchema, type AsciicastHeader } from '../../shared/protocol/index.js';

export interface CastEvent {
  /** Seconds since the session started, as recorded. */
  t: number;
  code: 'o' | 'i' | 'r' | 'm';
  data: string;
}

export interface Cast {
  header: AsciicastHeader;
  /** In order of time; codes this player does not know are left out. */
  events: CastEvent[];
}

/** A recording this player cannot read, and where: the words a person sees. */
export class CastError extends Error {
  constructor(
    message: string,
    /** 1-based line of the file, when one line is at fault. */
    readonly line?: number,
  ) {
    super(message);
    this.name = 'CastError';
  }
}

const KNOWN = new Set(['o', 'i', 'r', 'm']);

function json(line: string, number: number): unknown {
  try {
    return JSON.parse(line) as unknown;
  } catch {
    throw new CastError(`Line ${number} of the recording is not JSON (“${clip(line)}”).`, number);
  }
}

const clip = (text: string) => (text.length > 60 ? `${text.slice(0, 60)}…` : text);

/** Reads an asciicast v2 file; throws a CastError naming the first line it cannot read. */
export function parseCast(text: string): Cast {
  const lines = text.split('\n');
  // A file cut off mid-write (its node died) may end with part of a line: the events before it still play.
  const cutOff = !text.endsWith('\n') && lines.length > 1 ? lines.length : -1;
  const head = AsciicastHeaderSchema.safeParse(json(lines[0] ?? '', 1));
  if (!head.success) throw new CastError('The recording does not start with an asciicast v2 header (version 2, width and height).', 1);
  const events: CastEvent[] = [];
  let last = 0;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = json(line, i + 1);
    } catch (error) {
      if (i + 1 === cutOff) break;
      throw error;
    }
    const event = AsciicastEventSchema.safeParse(value);
    if (!event.success) throw new CastError(`Line ${i + 1} of the recording is not an event [time, code, data] (“${clip(line)}”).`, i + 1);
    const [t, code, data] = event.data;
    if (!KNOWN.has(code)) continue;
    if (code === 'r' && !parseSize(data)) throw new CastError(`Line ${i + 1} of the recording is a resize to “${clip(data)}”, not COLSxROWS.`, i + 1);
    // Times never go back in a recording the broker wrote; a hand-edited one is played in file order.
    last = Math.max(last, t);
    events.push({ t: last, code: code as CastEvent['code'], data });
  }
  return { header: head.data, events };
}

export function parseSize(data: string): { cols: number; rows: number } | null {
  const match = /^(\d{1,4})x(\d{1,4})$/.exec(data);
  if (!match) return null;
  const cols = Number(match[1]);
  const rows = Number(match[2]);
  return cols > 0 && rows > 0 ? { cols, rows } : null;
}

export interface TimedEvent extends CastEvent {
  /** When it plays (s): `t` with idle gaps capped. */
  at: number;
}

export interface Timeline {
  cols: number;
  rows: number;
  events: TimedEvent[];
  /** Played length (s). */
  duration: number;
  /** The cap on a pause (s); Infinity: pauses play as recorded. */
  maxIdle: number;
}

/** Puts a cast on the played clock: every pause longer than `maxIdle` seconds lasts `maxIdle`. */
export function timeline(cast: Cast, maxIdle = Infinity): Timeline {
  let at = 0;
  let previous = 0;
  const events = cast.events.map((event) => {
    at += Math.min(event.t - previous, maxIdle);
    previous = event.t;
    return { ...event, at };
  });
  return { cols: cast.header.width, rows: cast.header.height, events, duration: at, maxIdle };
}

/** How many events have played by `at` (those at or before it). */
export function countUntil(line: Timeline, at: number): number {
  let lo = 0;
  let hi = line.events.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (line.events[mid]!.at <= at) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** A recorded time (key search's answer) on the played clock. */
export function playedTime(line: Timeline, t: number): number {
  let i = -1;
  for (let lo = 0, hi = line.events.length - 1; lo <= hi; ) {
    const mid = (lo + hi) >> 1;
    if (line.events[mid]!.t <= t) {
      i = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  const from = i < 0 ? { t: 0, at: 0 } : line.events[i]!;
  return Math.min(line.duration, from.at + Math.min(t - from.t, line.maxIdle));
}

/** A played time back on the recording's clock (to keep the place when skipping idle gaps is turned on or off). */
export function recordedTime(line: Timeline, at: number): number {
  const n = countUntil(line, at);
  const from = n === 0 ? { t: 0, at: 0 } : line.events[n - 1]!;
  return from.t + (at - from.at);
}

/** What to do to a terminal to play events [from, to): resizes, each followed by the output written at that size, in one piece. */
export interface Step {
  resize?: { cols: number; rows: number };
  text: string;
}

export function steps(line: Timeline, from: number, to: number): Step[] {
  const out: Step[] = [];
  let current: Step = { text: '' };
  for (let i = from; i < to; i++) {
    const event = line.events[i]!;
    if (event.code === 'o') current.text += event.data;
    else if (event.code === 'r') {
      if (current.text || current.resize) out.push(current);
      current = { resize: parseSize(event.data)!, text: '' };
    }
  }
  if (current.text || current.resize) out.push(current);
  return out;
}

/** Everything written by `at`, from a fresh terminal of the header's size: what seeking back plays. */
export function stepsUntil(line: Timeline, at: number): Step[] {
  return steps(line, 0, countUntil(line, at));
}

/** The terminal's size at `at`. */
export function sizeAt(line: Timeline, at: number): { cols: number; rows: number } {
  for (let i = countUntil(line, at) - 1; i >= 0; i--) {
    const event = line.events[i]!;
    if (event.code === 'r') return parseSize(event.data)!;
  }
  return { cols: line.cols, rows: line.rows };
}

/** Who was typing at `at`, by the last "input: NAME" marker before it (a shared session); null where none is. */
export function typistAt(line: Timeline, at: number): string | null {
  for (let i = countUntil(line, at) - 1; i >= 0; i--) {
    const event = line.events[i]!;
    if (event.code === 'm' && event.data.startsWith('input: ')) return event.data.slice('input: '.length);
  }
  return null;
}

/**
 * The keys typed around a key-search match (recorded times `start`..`end`), as a person
 * reads them: the line they were typed on, control keys left out, at most `max`
 * characters either side.
 */
export function typedAround(cast: Cast, start: number, end: number, max = 30): string {
  const keys = (from: number, to: number) => cast.events.filter((e) => e.code === 'i' && e.t >= from && e.t < to).map((e) => e.data).join('');
  const before = keys(0, start);
  const text = before + keys(start, Infinity);
  // The line the match began on: from the Enter before it to the Enter after it.
  const from = Math.max(before.search(/[^\r\n]*$/), before.length - max);
  const enter = text.slice(before.length).search(/[\r\n]/);
  const to = Math.min(enter < 0 ? text.length : before.length + enter, before.length + Math.max(max, keys(start, end + 1e-9).length + max));
  return text.slice(from, to).replace(/\x1b\[[0-9;]*[A-Za-z~]|[\x00-\x1f\x7f]/g, '').trim();
}

/** Seconds as m:ss (h:mm:ss from an hour). */
export function clockText(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const ss = String(s % 60).padStart(2, '0');
  if (s < 3600) return `${Math.floor(s / 60)}:${ss}`;
  return `${Math.floor(s / 3600)}:${String(Math.floor(s / 60) % 60).padStart(2, '0')}:${ss}`;
}

/** A file's size as KB or MB. */
export function sizeText(bytes: number): string {
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
