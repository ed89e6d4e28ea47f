// Clocks and waiting: a monotonic nanosecond clock for samples, and bounded waits
// (a promise with a deadline, a polled condition) so no part of the bench can hang.
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
export const nowNs = () => process.hrtime.bigint();
export const msSince = (t0: bigint) => Number(nowNs() - t0) / 1e6;

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]);
}

export async function until(predicate: () => boolean, ms: number, what: string, every = 5): Promise<void> {
  const t0 = Date.now();
  while (!predicate()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(every);
  }
}
