// A promise that resolves after `ms` (for bounded waiting loops).

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
