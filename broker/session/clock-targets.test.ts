import { describe, expect, it } from 'vitest';
import { ClockTargets } from './clock-targets.js';

describe('ClockTargets', () => {
  it('raises the primary’s clocks only once the entry they were read at is applied, merged into one wait per entry', async () => {
    let applied = 3;
    const waits: Array<{ index: number; resolve: () => void }> = [];
    const raised: Array<Array<[number, number]>> = [];
    const targets = new ClockTargets({
      whenApplied: (index) => (index <= applied ? Promise.resolve() : new Promise<void>((resolve) => waits.push({ index, resolve }))),
      raise: (clocks) => raised.push([...clocks] as Array<[number, number]>),
      own: () => null,
    });
    targets.add(5, [[1, 100], [2, 50]]);
    targets.add(5, [[1, 120]]);
    targets.add(5, [[2, 40]]);
    expect(waits.map((w) => w.index)).toEqual([5]);
    targets.add(2, [[1, 10]]);
    await Promise.resolve();
    expect(raised).toEqual([[[1, 10]]]);
    applied = 5;
    waits[0]!.resolve();
    await new Promise((r) => setTimeout(r, 0));
    expect(raised.at(-1)).toEqual([[1, 120], [2, 50]]);
  });

  it('says the app is behind until its processes reach the clocks raised for the entries applied here', async () => {
    let applied = 1;
    const start = 1_000_000;
    const own = new Map([[1, start - 5000], [2, start + 10]]);
    const targets = new ClockTargets({
      whenApplied: (index) => (index <= applied ? Promise.resolve() : new Promise<void>(() => {})),
      raise: () => {},
      own: () => ({ clocks: own, startUs: start }),
    });
    expect(targets.behind(1)).toBe(false);
    targets.add(1, [[1, start], [2, start + 10]]);
    // Applied already, raised a microtask later: behind until then.
    expect(targets.behind(1)).toBe(true);
    await Promise.resolve();
    expect(targets.behind(1)).toBe(true); // pid 1 is 5 ms short
    own.set(1, start - 1); // one clock read short: there (a wait moves a clock by what it waited)
    expect(targets.behind(1)).toBe(false);
    // Clocks for an entry not applied here yet hold nothing back.
    targets.add(3, [[1, start + 500_000]]);
    expect(targets.behind(1)).toBe(false);
    applied = 3;
    // A background job's command the primary had started (pid 3), not started here yet: behind
    // until it is and gets there. A launcher's process that never moved past the start (pid 9)
    // and that this replica never had holds nothing back.
    targets.add(2, [[3, start + 400_000], [9, start + 7]]);
    await Promise.resolve();
    expect(targets.behind(2)).toBe(true);
    own.set(3, start + 200_000);
    expect(targets.behind(2)).toBe(true);
    own.set(3, start + 400_000);
    expect(targets.behind(2)).toBe(false);
    // Forgotten, a process that never gets there holds nothing back; new targets may again.
    own.set(5, start);
    targets.add(2, [[5, start + 900_000]]);
    await Promise.resolve();
    expect(targets.behind(2)).toBe(true);
    targets.forget();
    expect(targets.behind(2)).toBe(false);
  });
});
