// The key namespace every control-plane user shares (cluster records, sign-in limits,
// second factors, revocations all live under PREFIX), and how a stored value is read
// back: as unknown, through a schema — the control plane is a boundary like any other.
import type { z } from 'zod';

export const PREFIX = '/holdfast/';

/** A stored value parsed by `schema`; null if it is not JSON or not of that shape. */
export function parseRecord<T>(schema: z.ZodType<T>, text: string): T | null {
  try {
    const parsed = schema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
