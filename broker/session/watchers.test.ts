// Watchers at unit level, with fake sockets: each gets the output from where it joined,
// acknowledging its own input once settled; a slow one is let go, never waited for; a
// revoked or expired link sends its watchers away with words.
import { describe, expect, it } from 'vitest';
import { decodeFrame } from '../../shared/protocol/index.js';
import type { WatcherJoin } from './peer.js';
import { WATCHER_BATCH_MS, WATCHER_BUFFER, Watchers } from './watchers.js';

function peer() {
  const events: string[] = [];
  const frames: Array<{ ack: number; offset: number; text: string }> = [];
  return {
    events,
    frames,
    bufferedAmount: 0,
    sendBinary(frame: Uint8Array) {
      const decoded = decodeFrame(frame);
      if (typeof decoded === 'string' || decoded.type !== 'output') throw new Error('not an OUTPUT frame');
      frames.push({ ack: decoded.inputAck, offset: decoded.offset, text: Buffer.from(decoded.data).toString() });
    },
    left: (message: string) => events.push(`left: ${message}`),
    lagging: () => events.push('lagging'),
    mode: (mode: string) => events.push(`mode ${mode}`),
    resized: (cols: number, rows: number) => events.push(`resized ${cols}x${rows}`),
  };
}

const join = (id: string, over: Partial<WatcherJoin> = {}): WatcherJoin => ({ id, user: id, displayName: id, tab: `tab-${id}`, shareId: 's1', mode: 'view', expiresAt: Date.now() + 60_000, ...over });

function setup() {
  let settled = 0;
  let changes = 0;
  const timers: Array<{ fn: () => void; ms: number }> = [];
  let now = 1_000_000;
  const watchers = new Watchers({
    settledIndex: () => settled,
    changed: () => void changes++,
    setTimer: (fn, ms) => (timers.push({ fn, ms }), {}),
    clearTimer: () => {},
    now: () => now,
  });
  /** The gathered output goes (its timer fires). */
  const sendNow = () => {
    for (const timer of timers.filter((t) => t.ms === WATCHER_BATCH_MS)) {
      timers.splice(timers.indexOf(timer), 1);
      timer.fn();
    }
  };
  return { watchers, settle: (index: number) => (settled = index), changes: () => changes, timers, advance: (ms: number) => (now += ms), sendNow };
}

describe('Watchers', () => {
  it('streams output to each watcher from the offset it joined at, gathered into one frame a burst, and tells the owner who came', () => {
    const { watchers, changes, sendNow } = setup();
    const a = peer();
    watchers.add(join('ann'), a, 0, 0);
    watchers.output(Buffer.from('6*7'), 0);
    watchers.output(Buffer.from('\r\n'), 3);
    // Nothing goes at once: the owner's keystroke path does not pay for the watchers.
    expect(a.frames).toEqual([]);
    sendNow();
    const b = peer();
    watchers.add(join('ben'), b, 5, 0);
    // Output read before ben joined is in his snapshot: he is not sent it.
    watchers.output(Buffer.from('42\r\n'), 5);
    sendNow();
    expect(a.frames.map((f) => [f.offset, f.text])).toEqual([[0, '6*7\r\n'], [5, '42\r\n']]);
    expect(b.frames.map((f) => [f.offset, f.text])).toEqual([[5, '42\r\n']]);
    expect(changes()).toBe(2);
    expect(watchers.list().map((w) => w.user)).toEqual(['ann', 'ben']);
  });

  it('acknowledges a watcher\'s own input once its entry settled, with an empty frame if it caused no output', () => {
    const { watchers, settle, sendNow } = setup();
    const a = peer();
    watchers.add(join('ann', { mode: 'type' }), a, 0, 3);
    watchers.typed('ann', 10, 4);
    watchers.output(Buffer.from('x'), 0);
    sendNow();
    settle(10);
    watchers.output(Buffer.from('y'), 1);
    sendNow();
    expect(a.frames.map((f) => f.ack)).toEqual([3, 4]);
    watchers.typed('ann', 11, 5);
    settle(11);
    watchers.settled();
    sendNow();
    expect(a.frames.at(-1)).toEqual({ ack: 5, offset: 2, text: '' });
    // Nothing new: no frame.
    watchers.settled();
    sendNow();
    expect(a.frames).toHaveLength(3);
  });

  it('lets a watcher whose socket backs up go (it joins again from a snapshot) and keeps sending to the rest', () => {
    const { watchers, sendNow } = setup();
    const slow = peer();
    const fast = peer();
    watchers.add(join('slow'), slow, 0, 0);
    watchers.add(join('fast'), fast, 0, 0);
    slow.bufferedAmount = WATCHER_BUFFER + 1;
    watchers.output(Buffer.from('a'), 0);
    sendNow();
    watchers.output(Buffer.from('b'), 1);
    sendNow();
    expect(slow.events).toEqual(['lagging']);
    expect(slow.frames).toEqual([]);
    expect(fast.frames.map((f) => f.text)).toEqual(['a', 'b']);
    expect(watchers.size).toBe(1);
  });

  it('sends everyone who came through a revoked link away, tells a changed mode, and lets an expired link\'s watchers go', () => {
    const { watchers, timers, advance } = setup();
    const a = peer();
    const b = peer();
    const c = peer();
    watchers.add(join('ann'), a, 0, 0);
    watchers.add(join('ben', { shareId: 's2' }), b, 0, 0);
    watchers.add(join('cat', { shareId: 's3', expiresAt: 1_000_000 + 5000 }), c, 0, 0);
    watchers.setMode('s2', 'type', 'You can type now.');
    expect(b.events).toEqual(['mode type']);
    expect(watchers.find('ben')?.mode).toBe('type');
    watchers.removeShare('s1', 'Ann stopped sharing.');
    expect(a.events).toEqual(['left: Ann stopped sharing.']);
    expect(watchers.size).toBe(2);
    const expiry = timers.at(-1)!;
    expect(expiry.ms).toBe(5000);
    advance(5000);
    expiry.fn();
    expect(c.events).toEqual([expect.stringMatching(/^left: The link you joined with has expired/)]);
    expect(watchers.list().map((w) => w.user)).toEqual(['ben']);
  });
});
