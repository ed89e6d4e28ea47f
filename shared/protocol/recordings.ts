// Recordings of sessions, as the admin API lists them (docs/protocol.md#recordings):
// one copy a node holds (GET /api/recordings/local), and the cluster's list — each
// session once, its best copy (GET /api/recordings). Parsed as unknown by the node
// that gathers them and by `holdfast recording`.
import { z } from 'zod';

export const RecordingCopySchema = z.object({
  sessionId: z.string().min(1).max(64),
  /** What it records: a terminal app (an asciicast file) or a graphical one (an RFB recording); copies written before graphical ones existed say nothing: terminal. */
  kind: z.enum(['terminal', 'rfb']).default('terminal'),
  owner: z.string(),
  appId: z.string(),
  appName: z.string(),
  /** The node this copy is on. */
  node: z.string(),
  /** When the session started (ms since the epoch). */
  startedAt: z.number(),
  /** When this copy ended (ms since the epoch); null while it is written, or if its node died first. */
  endedAt: z.number().nullable(),
  /** Length: the time of its last event (s). */
  seconds: z.number().min(0),
  /** Size of its file (bytes). */
  bytes: z.number().int().min(0),
  /** Every event was written and the copy ended with the session. */
  complete: z.boolean(),
  /** What kept it from being complete, if anything. */
  problem: z.string().nullable(),
});
export type RecordingCopy = z.infer<typeof RecordingCopySchema>;

export const RecordingListSchema = z.object({ recordings: z.array(RecordingCopySchema) });
export type RecordingList = z.infer<typeof RecordingListSchema>;

/** GET /api/recordings/ID/search?q=WORD: where the typed input contains WORD (each match: its first keystroke's time, and its last's). */
export const RecordingSearchSchema = z.object({
  sessionId: z.string(),
  query: z.string(),
  matches: z.array(z.object({ start: z.number(), end: z.number() })),
});
export type RecordingSearch = z.infer<typeof RecordingSearchSchema>;

/** Which of two copies of one session's recording is the one to list and serve: complete first, then the longest. */
export function betterCopy(a: RecordingCopy, b: RecordingCopy): RecordingCopy {
  if (a.complete !== b.complete) return a.complete ? a : b;
  if (a.seconds !== b.seconds) return a.seconds > b.seconds ? a : b;
  return a.bytes >= b.bytes ? a : b;
}

/**
 * An asciicast v2 file as GET /api/recordings/ID serves it, line by line: the header
 * (its `holdfast` object is ours; other players ignore it), then events `[t, code,
 * data]` — `o` output, `i` input, `r` resize "COLSxROWS", `m` a marker ("input: NAME").
 * Other codes are asciicast's own or later ones: a player skips what it does not know.
 */
export const AsciicastHeaderSchema = z.object({
  version: z.literal(2),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  timestamp: z.number().optional(),
  title: z.string().optional(),
  holdfast: z.object({ session: z.string(), owner: z.string(), app: z.string(), node: z.string(), startedAt: z.number() }).partial().optional(),
});
export type AsciicastHeader = z.infer<typeof AsciicastHeaderSchema>;

export const AsciicastEventSchema = z.tuple([z.number().min(0), z.string().min(1), z.string()]);
export type AsciicastEvent = z.infer<typeof AsciicastEventSchema>;
