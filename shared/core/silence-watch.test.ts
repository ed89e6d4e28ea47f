// The link's silence watch on a simulated clock: pings while the broker talks, lost
// after 80 % of the period without a word, and a page frozen longer than that is not
// taken for a silent broker (its answers were queued behind the check).
import { describe, expect, it } from 'vitest';
import { watchSilence } from './silence-watch.js';

function clock() {
  let now = 0;
  let run: (() => void) | null = null;
  let every = 0;
  let due = 0;
  return {
    now: () => now,
    setInterval: (fn: () => void, ms: number) => ((run = fn), (every = ms), (due = ms), 1),
    clearInterval: () => void (run = null),
    /** Time passes with the page awake: the timer runs on schedule. */
    pass(ms: number) {
      const end = now + ms;
      while (run && due <= end) {
        now = due;
        due += every;
        run();
      }
      now = end;
    },
    /** The page is frozen for `ms`: the timer runs once, late, when it wakes. */
    freeze(ms: number) {
      now += ms;
      due = now;
      if (run) {
        due += every;
        run();
      }
    },
  };
}

describe('watchSilence', () => {
  it('pings while the link talks and loses it after 80 % of the period of silence', () => {
    const c = clock();
    const events: string[] = [];
    const watch = watchSilence({ deadAfterMs: 3000, ping: () => events.push(`ping ${c.now()}`), lost: (why) => events.push(`lost ${c.now()} ${why}`), ...c });
    for (let i = 0; i < 10; i++) {
      c.pass(500);
      watch.heard();
    }
    expect(events.filter((e) => e.startsWith('lost'))).toEqual([]);
    expect(events.filter((e) => e.startsWith('ping')).length).toBeGreaterThanOrEqual(4);
    c.pass(3000);
    expect(events.at(-1)).toBe('lost 7500 no answer from the broker for 3 s');
  });

  it('does not take a frozen page for a silent broker, and still finds real silence after it', () => {
    const c = clock();
    const lost: number[] = [];
    const watch = watchSilence({ deadAfterMs: 3000, ping: () => {}, lost: () => lost.push(c.now()), ...c });
    c.pass(1000);
    watch.heard();
    // Frozen for 5 s: the broker's answers wait behind this tick.
    c.freeze(5000);
    expect(lost).toEqual([]);
    watch.heard();
    c.pass(1000);
    expect(lost).toEqual([]);
    // Awake and nothing comes: lost within the period.
    c.pass(3000);
    expect(lost).toHaveLength(1);
  });
});

describe('watchSilence on a loaded machine', () => {
  it('still finds a dead path when every tick comes late', () => {
    let now = 0;
    let run: (() => void) | null = null;
    const lost: number[] = [];
    watchSilence({ deadAfterMs: 3000, ping: () => {}, lost: () => lost.push(now), now: () => now, setInterval: (fn) => ((run = fn), 1), clearInterval: () => void (run = null) });
    // Ticks due every 250 ms arrive 1.2 s late, over and over; the broker says nothing.
    while (run && now < 20_000) {
      now += 250 + 1200;
      (run as () => void)();
    }
    expect(lost).toHaveLength(1);
    expect(lost[0]).toBeLessThanOrEqual(6000);
  });
});
