// Polling, for tests and the bench: the one way they wait for something a person would see.
/** Polls `check` until it returns a truthy value; fails with `what` and the last value seen. */
export async function waitFor<T>(what: string, check: () => Promise<T> | T, timeoutMs = 10_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      last = await check();
      if (last) return last as NonNullable<T>;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last saw: ${String(last)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
