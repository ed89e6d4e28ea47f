import { describe, expect, it } from 'vitest';
import { ClockRecord } from './clock-record.js';

describe('ClockRecord', () => {
  it('gives the clocks that moved on since the last look, new processes included, and nothing when none did', () => {
    const record = new ClockRecord();
    expect(record.changed(new Map([[1, 100], [2, 50]]))).toEqual([[1, 100], [2, 50]]);
    expect(record.changed(new Map([[1, 100], [2, 80], [3, 0]]))).toEqual([[2, 80], [3, 0]]);
    expect(record.changed(new Map([[1, 100], [2, 80], [3, 0]]))).toBeUndefined();
  });
});
