// When a session on its primary ends on its own — idle, at its maximum length, or when
// no client came back within the hold time — and the warning before the first two. Idle time counts only while a client is attached — with none,
// the hold time governs — but a client coming back does not reset it (a reconnect is
// not the person): one coming back after the idle limit passed is given the warning
// time, and the warning, to press a key. Only input resets it; output never does.
// Keystrokes are the hot path: an input only stamps the time, unless a warning stands.
import { describeWarning, type EndReason } from './end-reason.js';
import { warnSecondsFor, type SessionLimits } from './session-policy.js';

export type DeadlineKind = 'idle' | 'max-length';

/** A warning that stands: the session ends at `endsAt` (ms since the epoch) for `kind`. */
export interface DeadlineNotice {
  kind: DeadlineKind;
  endsAt: number;
}

export interface DeadlineEvents {
  /** A warning starts (or its end moved): tell the attached client, in these words. */
  warn(notice: DeadlineNotice, message: string): void;
  /** The warning that stood is over (the person pressed a key): tell the attached client. */
  cleared(): void;
  /** A deadline came (idle, maximum length, or the hold with no client back): end the session. */
  ended(reason: EndReason): void;
}

/** setTimeout's longest delay; a later deadline is looked at again then. */
const MAX_DELAY_MS = 2 ** 31 - 1;

export class Deadlines {
  /** When the person last gave input (ms since the epoch); on a standby too, so a promoted one keeps it. */
  lastInputAt: number;
  private attached = false;
  /** Idle time may not end the session before this (a client came back after the limit passed). */
  private idleFloor = 0;
  private active = false;
  private timer: NodeJS.Timeout | undefined;
  private standing: DeadlineNotice | null = null;
  /** When the session ends if no client comes back (ms since the epoch); null while one is attached. */
  holdExpiresAt: number | null = null;
  private holdTimer: NodeJS.Timeout | undefined;

  constructor(
    private limits: SessionLimits,
    private readonly startedAt: number,
    /** What a warning and an end call the app. */
    private readonly appName: string,
    private readonly events: DeadlineEvents,
  ) {
    // This replica's start: a restarted app (failover: restart) counts idle time afresh.
    this.lastInputAt = Date.now();
  }

  get current(): SessionLimits {
    return this.limits;
  }

  /** The warning standing now, for a client that attaches while it does. */
  get notice(): DeadlineNotice | null {
    return this.standing;
  }

  /**
   * When the session ends on its own, as others may be told (the launcher): the end a
   * standing warning names, else its maximum length; null: neither. An idle end moves
   * with every key, so it is only named once its warning stands.
   */
  get endsAt(): number | null {
    if (this.standing) return this.standing.endsAt;
    return this.limits.maxSeconds === null ? null : this.startedAt + this.limits.maxSeconds * 1000;
  }

  /** Limits learnt later (a standby reads its session's from the record). */
  setLimits(limits: SessionLimits): void {
    this.limits = limits;
    if (this.active) this.evaluate();
  }

  /** This replica is (now) the primary: deadlines act from here on. */
  start(): void {
    this.active = true;
    this.evaluate();
  }

  /** Input from the person. */
  input(): void {
    this.lastInputAt = Date.now();
    if (this.standing?.kind === 'idle') this.evaluate();
  }

  attach(): void {
    this.attached = true;
    this.endHold();
    const idle = this.limits.idleSeconds;
    if (idle !== null) this.idleFloor = Date.now() + warnSecondsFor(this.limits, idle) * 1000;
    if (!this.active) return;
    const before = this.standing;
    this.evaluate();
    // A warning that stood already was told to the client before: this one hears it too.
    if (this.standing !== null && this.standing === before) this.tell(this.standing);
  }

  detach(): void {
    this.attached = false;
    // Nobody to warn: the warning is shown again, if it still stands, to the next client.
    if (this.standing?.kind === 'idle') this.standing = null;
    if (this.active) this.evaluate();
  }

  stop(): void {
    this.active = false;
    clearTimeout(this.timer);
    this.standing = null;
    this.endHold();
  }

  /** Waits for a client for the hold time (after a detach, or a promotion); a client's attach ends the wait. */
  hold(): void {
    clearTimeout(this.holdTimer);
    const holdSeconds = this.limits.holdSeconds;
    this.holdExpiresAt = Date.now() + holdSeconds * 1000;
    this.holdTimer = setTimeout(() => this.events.ended({ kind: 'hold-expired', holdSeconds }), holdSeconds * 1000);
    this.holdTimer.unref();
  }

  private endHold(): void {
    clearTimeout(this.holdTimer);
    this.holdExpiresAt = null;
  }

  /** The earliest deadline that applies now, with when its warning starts. */
  private next(): { kind: DeadlineKind; at: number; warnAt: number } | null {
    const { idleSeconds, maxSeconds } = this.limits;
    const ends: Array<{ kind: DeadlineKind; at: number; warnAt: number }> = [];
    if (maxSeconds !== null) {
      const at = this.startedAt + maxSeconds * 1000;
      ends.push({ kind: 'max-length', at, warnAt: at - warnSecondsFor(this.limits, maxSeconds) * 1000 });
    }
    if (idleSeconds !== null && this.attached) {
      const at = Math.max(this.lastInputAt + idleSeconds * 1000, this.idleFloor);
      ends.push({ kind: 'idle', at, warnAt: at - warnSecondsFor(this.limits, idleSeconds) * 1000 });
    }
    return ends.sort((a, b) => a.at - b.at)[0] ?? null;
  }

  private evaluate(): void {
    clearTimeout(this.timer);
    if (!this.active) return;
    const now = Date.now();
    const next = this.next();
    if (next !== null && now >= next.at) {
      this.stop();
      const { idleSeconds, maxSeconds } = this.limits;
      if (next.kind === 'idle') return this.events.ended({ kind: 'idle', appName: this.appName, idleSeconds: idleSeconds ?? 0 });
      return this.events.ended({ kind: 'max-length', appName: this.appName, maxSeconds: maxSeconds ?? 0 });
    }
    if (next !== null && now >= next.warnAt) {
      if (this.standing?.kind !== next.kind || this.standing.endsAt !== next.at) {
        this.standing = { kind: next.kind, endsAt: next.at };
        if (this.attached) this.tell(this.standing);
      }
    } else if (this.standing !== null) {
      this.standing = null;
      if (this.attached) this.events.cleared();
    }
    if (next === null) return;
    const wake = now >= next.warnAt ? next.at : next.warnAt;
    this.timer = setTimeout(() => this.evaluate(), Math.min(MAX_DELAY_MS, Math.max(0, wake - now)));
    this.timer.unref();
  }

  private tell(notice: DeadlineNotice): void {
    this.events.warn(notice, describeWarning(notice.kind, this.appName, (notice.endsAt - Date.now()) / 1000, this.limits.maxSeconds));
  }
}
