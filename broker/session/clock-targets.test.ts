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
});
