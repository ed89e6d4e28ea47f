// How the node's V8 heap grows. With the small heap a node has (20–30 MB live), V8
// sizes the next full collection's limit from how fast the last ones were, and under a
// steady stream of buffers — an upload, a standby's log — it settles on little room:
// a full collection every half second on every node, 3–20 ms each, and a keystroke
// behind one waits for it (docs/performance.md, "Files in and out"). Room for the heap
// to grow to 4× what is live after a collection — V8's own factor for large heaps on
// machines with memory to spare — made them ten times rarer in the same run.
import v8 from 'node:v8';

/** The heap may grow to (100 + this)% of what is live after a full collection. */
export const HEAP_GROWING_PERCENT = 300;

/** The V8 flag to set, or null when the operator started node with a growing factor of their own. */
export function heapGrowingFlag(execArgv: readonly string[]): string | null {
  if (execArgv.some((arg) => /^--heap[-_]growing[-_]percent(=|$)/.test(arg))) return null;
  return `--heap-growing-percent=${HEAP_GROWING_PERCENT}`;
}

/**
 * Sets the growing factor for this process. V8 reads it at each collection, so setting
 * it at startup (rather than on node's command line, which NODE_OPTIONS cannot carry)
 * holds from the first collection on.
 */
export function tuneHeap(execArgv: readonly string[] = process.execArgv): void {
  const flag = heapGrowingFlag(execArgv);
  if (flag) v8.setFlagsFromString(flag);
}
