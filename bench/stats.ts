// Summary statistics every part reports alike: n, min, p50/p90/p99 (nearest rank),
// max and mean, rounded the same way, so figures from different parts compare.
export interface Stats {
  n: number;
  min?: number;
  p50?: number;
  p90?: number;
  p99?: number;
  max?: number;
  mean?: number;
}

export function stats(values: number[]): Stats {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  if (n === 0) return { n: 0 };
  const pct = (p: number) => sorted[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))]!;
  const mean = sorted.reduce((s, v) => s + v, 0) / n;
  return { n, min: sorted[0], p50: pct(50), p90: pct(90), p99: pct(99), max: sorted[n - 1], mean };
}

export function round(v: number, digits?: number): number;
export function round<T>(v: T, digits?: number): T;
export function round(v: unknown, digits = 1): unknown {
  return typeof v === 'number' ? Math.round(v * 10 ** digits) / 10 ** digits : v;
}

/** A figure of a Stats for arithmetic: NaN when the sample was empty (JSON writes null). */
export const fig = (v: number | undefined) => v ?? NaN;

export function roundStats<S extends Stats>(s: S, digits = 1): S {
  return Object.fromEntries(Object.entries(s).map(([k, v]) => [k, round(v, digits)])) as S;
}
