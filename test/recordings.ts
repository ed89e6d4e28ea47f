// What the recording tests share: reading an asciicast v2 file back as a player would
// (and a graphical recording's stream, as a viewer would),
// and asking a node's admin API for recordings.
import { z } from 'zod';
import { RfbRecorder } from '../broker/host/rfb-recorder.js';
import { request, requestJson, type Trust } from '../broker/tls/trust.js';
import { RecordingListSchema, RecordingSearchSchema, type RecordingCopy, type RecordingSearch, type RfbRecord } from '../shared/protocol/index.js';

const Header = z.object({ version: z.literal(2), width: z.number().int().positive(), height: z.number().int().positive(), timestamp: z.number().int(), title: z.string() }).passthrough();
const Event = z.tuple([z.number().min(0), z.enum(['o', 'i', 'r', 'm']), z.string()]);

export interface Cast {
  header: z.infer<typeof Header>;
  events: Array<z.infer<typeof Event>>;
  /** The "i" events' text, in order. */
  typed: string;
  /** The "o" events' text, in order. */
  output: string;
}

/** Parses an asciicast v2 file strictly: a header, then only well-formed events whose times never go back. */
export function parseCast(text: string): Cast {
  const [head, ...lines] = text.trimEnd().split('\n');
  const header = Header.parse(JSON.parse(head!));
  const events = lines.map((line) => Event.parse(JSON.parse(line)));
  events.forEach((event, i) => {
    if (i > 0 && event[0] < events[i - 1]![0]) throw new Error(`event ${i + 1} goes back in time: ${JSON.stringify(events[i - 1])} then ${JSON.stringify(event)}`);
  });
  const of = (code: string) => events.filter((e) => e[1] === code).map((e) => e[2]).join('');
  return { header, events, typed: of('i'), output: of('o') };
}

/** The admin API's recordings, as the admin (`token`) sees them through the node at `url`. */
export function recordingsApi(url: string, token: string, trust?: Trust) {
  const headers = { authorization: `Bearer ${token}` };
  return {
    list: async (): Promise<RecordingCopy[]> => {
      const reply = await requestJson(`${url}/api/recordings`, { headers, timeoutMs: 10_000 }, trust);
      if (!reply.ok) throw new Error(`GET /api/recordings: HTTP ${reply.status}: ${JSON.stringify(reply.body)}`);
      return RecordingListSchema.parse(reply.body).recordings;
    },
    cast: async (id: string): Promise<string> => {
      const reply = await request(`${url}/api/recordings/${encodeURIComponent(id)}`, { headers, timeoutMs: 10_000 }, trust);
      if (!reply.ok) throw new Error(`GET /api/recordings/${id}: HTTP ${reply.status}: ${reply.text}`);
      return reply.text;
    },
    /** The file as bytes, and its Content-Type (a graphical session's is binary). */
    file: async (id: string): Promise<{ bytes: Uint8Array; type: string; disposition: string }> => {
      const reply = await fetch(`${url}/api/recordings/${encodeURIComponent(id)}`, { headers, signal: AbortSignal.timeout(10_000) });
      if (!reply.ok) throw new Error(`GET /api/recordings/${id}: HTTP ${reply.status}: ${await reply.text()}`);
      return { bytes: new Uint8Array(await reply.arrayBuffer()), type: reply.headers.get('content-type') ?? '', disposition: reply.headers.get('content-disposition') ?? '' };
    },
    search: async (id: string, word: string): Promise<RecordingSearch> => {
      const reply = await requestJson(`${url}/api/recordings/${encodeURIComponent(id)}/search?q=${encodeURIComponent(word)}`, { headers, timeoutMs: 10_000 }, trust);
      if (!reply.ok) throw new Error(`search: HTTP ${reply.status}: ${JSON.stringify(reply.body)}`);
      return RecordingSearchSchema.parse(reply.body);
    },
  };
}

/** Counts the times `needle` occurs in `text`. */
export const occurrences = (text: string, needle: string) => text.split(needle).length - 1;

/** The recorded server stream read as a viewer would: how many whole updates it holds (the recorder's own reader, fed the bytes). */
export async function updatesIn(records: RfbRecord[]): Promise<number> {
  const reader = new RfbRecorder({ send: () => {}, sink: { output: () => {}, behind: true }, intervalMs: 1e6 });
  for (const record of records) if (record.kind === 'server') reader.push(record.bytes);
  await new Promise((r) => setImmediate(r));
  const updates = reader.updates;
  reader.close();
  return updates;
}
