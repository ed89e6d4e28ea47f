// A promise that resolves after `ms` (the cluster modules wait in bounded loops).

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
