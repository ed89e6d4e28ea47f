// Playing a graphical session's recording (shared/protocol/rfb-recording.ts) in noVNC:
// the timeline of what the display sent, the playback clock (play, pause, speed, seek),
// and which recorded bytes to give noVNC next. Pure: RfbRecordingPlayer.tsx runs it.
//
// noVNC's decoders keep state from the stream's start (ZRLE's zlib stream, the
// framebuffer itself), so the picture at a time is the whole stream up to it: seeking
// forward feeds what lies between at once; seeking back starts a new noVNC and feeds
// everything from the start to the target at once, then plays on in time.
import { parseRfbRecording, typedText, type RfbRecord, type RfbRecordingHeader } from '../../shared/protocol/index.js';

export const SPEEDS = [0.5, 1, 2, 4, 8] as const;

export class Timeline {
  readonly header: RfbRecordingHeader;
  /** What the display sent, in order. */
  readonly server: RfbRecord[];
  readonly durationMs: number;
  /** The file ends inside a record (its node stopped while writing it). */
  readonly truncated: boolean;
  /** What was typed, with each character's time (ms). */
  readonly typed: { text: string; times: number[] };

  constructor(file: Uint8Array) {
    const read = parseRfbRecording(file);
    this.header = read.header;
    this.server = read.records.filter((r) => r.kind === 'server');
    this.durationMs = read.durationMs;
    this.truncated = read.truncated;
    this.typed = typedText(read.records);
    if (this.server.length === 0) throw new Error('This recording holds nothing the display sent: there is no picture to play.');
  }

  /** The number of server records at or before `ms` (the index of the first one after it). */
  countUntil(ms: number): number {
    let low = 0;
    let high = this.server.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (this.server[mid]!.t <= ms) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  /**
   * What to feed to reach `targetMs`, when the first `fed` records are already fed:
   * records [from, to), after a new noVNC if `restart` (the target is before what was fed).
   */
  plan(fed: number, targetMs: number): { restart: boolean; from: number; to: number } {
    const to = this.countUntil(targetMs);
    const restart = to < fed;
    return { restart, from: restart ? 0 : fed, to };
  }

  /** Records [from, to) as one buffer (one message for noVNC: it decodes them in one go). */
  bytes(from: number, to: number): Uint8Array {
    let size = 0;
    for (let i = from; i < to; i++) size += this.server[i]!.bytes.length;
    const out = new Uint8Array(size);
    let at = 0;
    for (let i = from; i < to; i++) {
      out.set(this.server[i]!.bytes, at);
      at += this.server[i]!.bytes.length;
    }
    return out;
  }
}

/** Where playback stands: a position that moves at `speed` while playing, and stops at the end. */
export class PlaybackClock {
  private anchorMs = 0;
  private anchorAt = 0;
  private playing_ = false;
  private speed_ = 1;

  constructor(readonly durationMs: number) {}

  get playing(): boolean {
    return this.playing_;
  }

  get speed(): number {
    return this.speed_;
  }

  /** The position (ms) at `now` (ms, any monotonic clock); playing stops at the end. */
  position(now: number): number {
    if (!this.playing_) return this.anchorMs;
    const at = this.anchorMs + (now - this.anchorAt) * this.speed_;
    if (at < this.durationMs) return at;
    this.playing_ = false;
    this.anchorMs = this.durationMs;
    return this.durationMs;
  }

  /** Plays on; from the start if it stood at the end. */
  play(now: number): void {
    const at = this.position(now);
    this.anchor(at >= this.durationMs ? 0 : at, now);
    this.playing_ = true;
  }

  pause(now: number): void {
    this.anchor(this.position(now), now);
    this.playing_ = false;
  }

  seek(ms: number, now: number): void {
    this.position(now);
    this.anchor(Math.max(0, Math.min(this.durationMs, ms)), now);
  }

  setSpeed(speed: number, now: number): void {
    if (!(speed >= SPEEDS[0] && speed <= SPEEDS[SPEEDS.length - 1]!)) throw new Error(`speed ${speed} is outside ${SPEEDS[0]}–${SPEEDS.at(-1)}×`);
    this.anchor(this.position(now), now);
    this.speed_ = speed;
  }

  private anchor(ms: number, now: number): void {
    this.anchorMs = ms;
    this.anchorAt = now;
  }
}

/** "1:05" (m:ss), or "1:02:05" past an hour. */
export function formatTime(ms: number): string {
  const total = Math.floor(Math.max(0, ms) / 1000);
  const [h, m, s] = [Math.floor(total / 3600), Math.floor((total % 3600) / 60), total % 60];
  const ss = String(s).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}
