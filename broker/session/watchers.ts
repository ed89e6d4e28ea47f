// The people watching a session through its share links (docs/protocol.md#sharing-a-session).
// Each has a stream of its own, in OUTPUT frames that acknowledge its own input (a link
// that lets it type): a terminal's output from the snapshot it joined at, or, for a
// graphical app, the display's bytes from a viewer connection of its own (its relay). Invariants:
// a watcher never holds the app back — one whose socket backs up past WATCHER_BUFFER is
// let go and joins again from a fresh snapshot, so the owner never waits for the
// slowest viewer; a terminal's output reaches watchers gathered for WATCHER_BATCH_MS,
// off the owner's keystroke path; a watcher leaves at once when its link is revoked, expires, or the
// owner sends it away.
import type { ShareMode, WatcherInfo } from '../../shared/protocol/index.js';
import { encodeOutput } from '../../shared/protocol/index.js';
import type { WatcherJoin, WatcherPeer } from './peer.js';
import type { WatchRelay } from '../host/display.js';

/** Bytes a watcher's socket may hold unsent before it is let go (it joins again from a snapshot). */
export const WATCHER_BUFFER = 1024 * 1024;
/**
 * How long a terminal's output is gathered for watchers before it goes, as one frame
 * each: a frame per watcher per read of the app cost the owner's echo 25–58 % with five
 * watchers (docs/performance.md, "Sharing"), the writes landing beside each keystroke's.
 * Gathered, a burst of typing or output is one write per watcher, and a watcher sees it
 * at most this much later — less than a screen's frame.
 */
export const WATCHER_BATCH_MS = 8;

interface Watcher extends WatcherJoin {
  peer: WatcherPeer;
  since: number;
  /** The offset after the last output byte it was given (sent, or gathered to send). */
  next: number;
  /** Output gathered for it since its last frame (WATCHER_BATCH_MS), from offset `next` less their length. */
  gathered: Uint8Array[];
  gatheredBytes: number;
  /** The ack its last frame carried: a frame goes when either has news. */
  sentAck: number;
  /** Its input's log indexes and numbers, not yet settled: acknowledged once they are. */
  pending: Array<{ index: number; seq: number }>;
  /** The highest of its inputs acknowledged. */
  ack: number;
  /** A graphical app's viewer stream of its own (null: it shares the terminal's output). */
  relay: WatchRelay | null;
  /** Its relay is paused until its socket drains. */
  drainTimer: unknown;
}

export interface WatchersOptions {
  /** Entries through here are settled: their input may be acknowledged. */
  settledIndex: () => number;
  /** Someone joined or left: the owner is told. */
  changed: () => void;
  /** Stands in for setTimeout in tests. */
  setTimer?: (fn: () => void, ms: number) => { unref?(): void };
  clearTimer?: (timer: unknown) => void;
  now?: () => number;
}

const EMPTY = new Uint8Array(0);
/** How often a paused relay looks whether its watcher's socket drained. */
const DRAIN_POLL_MS = 50;

export class Watchers {
  private readonly watchers = new Map<string, Watcher>();
  private expiryTimer: unknown;
  /** Gathered output goes when this fires (WATCHER_BATCH_MS). */
  private sendTimer: unknown;
  private readonly now: () => number;

  constructor(private readonly options: WatchersOptions) {
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.watchers.size;
  }

  /** Who watches, as the owner sees them. */
  list(): WatcherInfo[] {
    return [...this.watchers.values()].map((w) => ({ id: w.id, user: w.user, displayName: w.displayName, shareId: w.shareId, mode: w.mode, since: w.since, ...(w.shadow ? { shadow: true } : {}), ...(w.guest ? { guest: true } : {}) }));
  }

  /** A watcher: who, through which link, what it may do now. */
  find(id: string): Readonly<WatcherJoin> | undefined {
    return this.watchers.get(id);
  }

  /** Starts streaming to a watcher from `offset` (the snapshot it was given stands for all before); `ack`: its input taken so far. */
  add(join: WatcherJoin, peer: WatcherPeer, offset: number, ack: number, relay: WatchRelay | null = null): void {
    this.watchers.set(join.id, { ...join, peer, since: this.now(), next: offset, gathered: [], gatheredBytes: 0, sentAck: ack, pending: [], ack, relay, drainTimer: undefined });
    this.scheduleExpiry();
    this.options.changed();
  }

  /** Its connection went: nothing more is sent to it. */
  gone(id: string): void {
    const watcher = this.watchers.get(id);
    if (!watcher) return;
    this.drop(watcher);
    this.options.changed();
  }

  /** A graphical app's bytes for one watcher, from its own relay: sent, and its relay paused while its socket is behind. */
  relayed(id: string, data: Uint8Array): void {
    const watcher = this.watchers.get(id);
    if (!watcher?.relay) return;
    watcher.peer.sendBinary(encodeOutput(this.ackOf(watcher), watcher.next, data));
    watcher.next += data.length;
    if (watcher.peer.bufferedAmount > WATCHER_BUFFER && watcher.drainTimer === undefined) {
      watcher.relay.pause();
      const setTimer = this.options.setTimer ?? ((fn: () => void, ms: number) => setTimeout(fn, ms));
      const check = () => {
        watcher.drainTimer = undefined;
        if (!this.watchers.has(id)) return;
        if (watcher.peer.bufferedAmount > WATCHER_BUFFER / 2) watcher.drainTimer = setTimer(check, DRAIN_POLL_MS);
        else watcher.relay?.resume();
      };
      watcher.drainTimer = setTimer(check, DRAIN_POLL_MS);
    }
  }

  /** A watcher's viewer messages to its relay (a graphical app); why they are refused, or null. */
  relayInput(id: string, data: Uint8Array): string | null {
    const relay = this.watchers.get(id)?.relay;
    return relay ? relay.input(data) : 'this watcher has no viewer stream (the app is not graphical)';
  }

  /** The display dropped a watcher's relay: it joins again. */
  relayLost(id: string): void {
    const watcher = this.watchers.get(id);
    if (!watcher) return;
    this.drop(watcher);
    watcher.peer.lagging();
    this.options.changed();
  }

  /** Sends one watcher away (`message` tells it why); false if it is not watching. */
  remove(id: string, message: string): boolean {
    const watcher = this.watchers.get(id);
    if (!watcher) return false;
    this.drop(watcher);
    watcher.peer.left(message);
    this.options.changed();
    return true;
  }

  /** A link was revoked: everyone who came through it leaves. */
  removeShare(shareId: string, message: string): void {
    for (const watcher of [...this.watchers.values()]) if (watcher.shareId === shareId) this.remove(watcher.id, message);
  }

  /** A link now lets people do `mode`: everyone who came through it is told. */
  setMode(shareId: string, mode: ShareMode, message: string): void {
    let changed = false;
    for (const watcher of this.watchers.values()) {
      if (watcher.shareId !== shareId || watcher.mode === mode) continue;
      watcher.mode = mode;
      watcher.peer.mode(mode, message);
      changed = true;
    }
    if (changed) this.options.changed();
  }

  /** Everyone leaves (the session ended, or this replica stopped being its primary). */
  clear(message: string | null): void {
    const all = [...this.watchers.values()];
    for (const watcher of all) this.drop(watcher);
    this.cancelExpiry();
    for (const watcher of all) {
      if (message === null) watcher.peer.lagging();
      else watcher.peer.left(message);
    }
  }

  /** A watcher's input was logged at `index` (its number `seq`): acknowledged once settled. */
  typed(id: string, index: number, seq: number): void {
    this.watchers.get(id)?.pending.push({ index, seq });
  }

  /** Output shown to the session from `offset`: every watcher gets it, or is let go if it cannot keep up. */
  /** Output shown to the session from `offset` (its bytes are not reused): gathered for every watcher it follows on, sent soon. */
  output(data: Uint8Array, offset: number): void {
    if (this.watchers.size === 0) return;
    for (const watcher of this.watchers.values()) {
      if (watcher.relay || watcher.next !== offset) continue; // its own stream; or joined after this output was read: its snapshot holds it
      watcher.gathered.push(data);
      watcher.gatheredBytes += data.length;
      watcher.next = offset + data.length;
      this.sendSoon();
    }
  }

  /** Entries settled: a watcher whose input among them is told it was taken (with what it caused, or alone). */
  settled(): void {
    const through = this.options.settledIndex();
    for (const watcher of this.watchers.values()) if (watcher.pending.length > 0 && watcher.pending[0]!.index <= through) this.sendSoon();
  }

  /** The gathered output and acks go out: one frame per watcher; one whose socket is too far behind is let go instead. */
  private readonly send = (): void => {
    this.sendTimer = undefined;
    for (const watcher of [...this.watchers.values()]) {
      if (watcher.relay) continue;
      const ack = this.ackOf(watcher);
      if (watcher.gatheredBytes === 0 && ack === watcher.sentAck) continue;
      if (watcher.peer.bufferedAmount > WATCHER_BUFFER) {
        this.drop(watcher);
        watcher.peer.lagging();
        this.options.changed();
        continue;
      }
      const data = watcher.gathered.length === 1 ? watcher.gathered[0]! : watcher.gathered.length === 0 ? EMPTY : Buffer.concat(watcher.gathered, watcher.gatheredBytes);
      watcher.peer.sendBinary(encodeOutput(ack, watcher.next - watcher.gatheredBytes, data));
      watcher.gathered = [];
      watcher.gatheredBytes = 0;
      watcher.sentAck = ack;
    }
  };

  private sendSoon(): void {
    if (this.sendTimer !== undefined) return;
    const setTimer = this.options.setTimer ?? ((fn: () => void, ms: number) => setTimeout(fn, ms));
    this.sendTimer = setTimer(this.send, WATCHER_BATCH_MS);
  }

  /** The terminal was resized: everyone's view follows. */
  resized(cols: number, rows: number): void {
    for (const watcher of this.watchers.values()) watcher.peer.resized(cols, rows);
  }

  /** It watches no more: its relay (if any) closes and its timers stop. */
  private drop(watcher: Watcher): void {
    this.watchers.delete(watcher.id);
    watcher.relay?.close();
    if (watcher.drainTimer !== undefined) (this.options.clearTimer ?? ((t: unknown) => clearTimeout(t as NodeJS.Timeout)))(watcher.drainTimer);
  }

  private ackOf(watcher: Watcher): number {
    const through = this.options.settledIndex();
    while (watcher.pending.length > 0 && watcher.pending[0]!.index <= through) watcher.ack = watcher.pending.shift()!.seq;
    return watcher.ack;
  }

  /** Links expire while people watch through them: they leave then. */
  private scheduleExpiry(): void {
    this.cancelExpiry();
    let first = Infinity;
    for (const watcher of this.watchers.values()) first = Math.min(first, watcher.expiresAt);
    if (first === Infinity) return;
    const setTimer = this.options.setTimer ?? ((fn: () => void, ms: number) => setTimeout(fn, ms));
    const timer = setTimer(() => {
      this.expiryTimer = undefined;
      const now = this.now();
      for (const watcher of [...this.watchers.values()]) if (watcher.expiresAt <= now) this.remove(watcher.id, 'The link you joined with has expired. Ask for a new one to keep watching.');
      this.scheduleExpiry();
    }, Math.min(2 ** 31 - 1, Math.max(0, first - this.now())));
    timer.unref?.();
    this.expiryTimer = timer;
  }

  private cancelExpiry(): void {
    if (this.expiryTimer === undefined) return;
    (this.options.clearTimer ?? ((t: unknown) => clearTimeout(t as NodeJS.Timeout)))(this.expiryTimer);
    this.expiryTimer = undefined;
  }
}
