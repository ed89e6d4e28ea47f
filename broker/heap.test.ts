// The growing factor a node sets for its heap, and that an operator's own wins.
import { describe, expect, it } from 'vitest';
import { HEAP_GROWING_PERCENT, heapGrowingFlag } from './heap.js';

describe('heapGrowingFlag', () => {
  it('gives room to grow by default', () => {
    expect(heapGrowingFlag([])).toBe(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
    expect(heapGrowingFlag(['--max-old-space-size=2048', '--enable-source-maps'])).toBe(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  });

  it('leaves an operator’s own factor alone', () => {
    expect(heapGrowingFlag(['--heap-growing-percent=50'])).toBeNull();
    expect(heapGrowingFlag(['--heap_growing_percent=50'])).toBeNull();
  });
});
