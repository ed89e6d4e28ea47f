// The admin API's recordings (docs/protocol.md#recordings), for the admin API's callers
// (admin-api.ts has checked they are administrators):
//   GET /api/recordings                 every session recorded, cluster-wide, once each: its best copy
//   GET /api/recordings/ID              that copy's file (asciicast, or an RFB recording), from whichever node holds it
//   GET /api/recordings/ID/search?q=W   the times where the typed input contains W
//   GET /api/recordings/local[/ID]      this node's own copies, and one's file (what the others gather)
// Every replica of a recorded session writes a copy, so after a failover several nodes
// hold one: complete beats incomplete, then the longest (betterCopy). A node that does
// not answer within a moment shows no copies.
import { createReadStream } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { requestJson, requestStream } from '../tls/trust.js';
import { betterCopy, RecordingListSchema, type RecordingCopy, type RecordingSearch } from '../../shared/protocol/index.js';
import { ADMIN_GROUP } from '../catalog.js';
import { HttpError, json } from './admin-api.js';
import type { NodeContext } from './context.js';
import { SECURITY_HEADERS } from './static-files.js';
import { searchTyped, searchTypedRfb } from './recording-search.js';

const LIST_TIMEOUT_MS = 2000;
/** A recording searched is read whole into memory: at most this much of it. */
const MAX_SEARCHED_BYTES = 256 * 1024 * 1024;

/** Whether this module answers the request (by its path). */
export function isRecordingsCall(url: string | undefined): boolean {
  const path = (url ?? '').split('?')[0]!;
  return path === '/api/recordings' || path.startsWith('/api/recordings/');
}

/** Answers a recordings call: administrators only, as the rest of the admin API (admin-api.ts). */
export async function recordingsHandler(ctx: NodeContext, request: IncomingMessage, response: ServerResponse): Promise<void> {
  try {
    if (request.method !== 'GET' && request.method !== 'HEAD') throw new HttpError(405, 'method_not_allowed', 'Recordings are read with GET.');
    const header = request.headers.authorization ?? '';
    const token = header.startsWith('Bearer ') ? header.slice(7) : '';
    const claims = token ? await ctx.tokens.verify(token) : null;
    if (!claims) throw new HttpError(401, 'unauthenticated', 'Send an access token: Authorization: Bearer <token>.');
    if (!ctx.catalog.identify(claims.user, claims.federated)?.groups.includes(ADMIN_GROUP)) {
      ctx.audit.record('admin.denied', { user: claims.user, address: request.socket.remoteAddress ?? 'unknown', target: request.url ?? '' });
      throw new HttpError(403, 'forbidden', `Only members of the "${ADMIN_GROUP}" group may use the admin API.`);
    }
    await recordingsCall(ctx, token, request.url ?? '', response);
  } catch (error) {
    if (response.headersSent) return void response.destroy();
    if (error instanceof HttpError) return json(response, error.status, { error: error.code, message: error.message });
    ctx.log.error('recordings call failed', { url: request.url, error: String(error) });
    json(response, 503, { error: 'unavailable', message: `The cluster could not answer: ${error instanceof Error ? error.message : String(error)}` });
  }
}

async function recordingsCall(ctx: NodeContext, token: string, url: string, response: ServerResponse): Promise<void> {
  const [path, search = ''] = url.split('?') as [string, string?];
  if (path === '/api/recordings/local') return json(response, 200, { recordings: ctx.sessions.recordings.list() });
  if (path === '/api/recordings') return json(response, 200, { recordings: [...(await clusterCopies(ctx, token)).values()].map((copies) => copies[0]!).sort((a, b) => b.startedAt - a.startedAt) });
  const local = /^\/api\/recordings\/local\/([^/]+)$/.exec(path);
  if (local) {
    const file = ctx.sessions.recordings.file(decode(local[1]!));
    if (!file) throw new HttpError(404, 'no_such_recording', 'This node holds no copy of that recording.');
    return sendFile(response, file.path, file.size, file.copy);
  }
  const one = /^\/api\/recordings\/([^/]+)(\/search)?$/.exec(path);
  if (!one) throw new HttpError(404, 'not_found', 'No such recordings call; see docs/protocol.md#recordings.');
  const id = decode(one[1]!);
  const copies = (await clusterCopies(ctx, token)).get(id);
  if (!copies) throw new HttpError(404, 'no_such_recording', `No node holds a recording of session "${id}".`);
  if (!one[2]) return serveBest(ctx, token, copies, response);
  const query = new URLSearchParams(search).get('q') ?? '';
  if (query === '') throw new HttpError(400, 'bad_request', 'Say what to look for: ?q=WORD.');
  const file = await readBest(ctx, token, copies);
  let matches: RecordingSearch['matches'];
  try {
    matches = copies[0]!.kind === 'rfb' ? searchTypedRfb(file, query) : searchTyped(file.toString('utf8'), query);
  } catch (error) {
    throw new HttpError(422, 'damaged', `That recording could not be read: ${(error as Error).message}`);
  }
  const answer: RecordingSearch = { sessionId: id, query, matches };
  return json(response, 200, answer);
}

function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new HttpError(404, 'no_such_recording', 'No such recording.');
  }
}

/** Every node's copies, by session, the best first. */
async function clusterCopies(ctx: NodeContext, token: string): Promise<Map<string, RecordingCopy[]>> {
  const service = ctx.sessions;
  const lists = await Promise.all(
    service.members().map(async (node): Promise<RecordingCopy[]> => {
      if (node.name === service.self) return service.recordings.list();
      try {
        const reply = await requestJson(`${node.url}/api/recordings/local`, { headers: { authorization: `Bearer ${token}` }, timeoutMs: LIST_TIMEOUT_MS }, ctx.trust);
        const parsed = RecordingListSchema.safeParse(reply.body);
        return reply.ok && parsed.success ? parsed.data.recordings : [];
      } catch {
        return [];
      }
    }),
  );
  const bySession = new Map<string, RecordingCopy[]>();
  for (const copy of lists.flat()) bySession.set(copy.sessionId, [...(bySession.get(copy.sessionId) ?? []), copy]);
  for (const copies of bySession.values()) copies.sort((a, b) => (betterCopy(a, b) === a ? -1 : 1));
  return bySession;
}

function sendFile(response: ServerResponse, path: string, size: number, copy: RecordingCopy): Promise<void> {
  response.writeHead(200, headers(copy, size));
  // Read to the size it had when asked: a copy still written grows meanwhile.
  return pipeline(createReadStream(path, { start: 0, end: Math.max(0, size - 1) }), response);
}

/** A terminal's asciicast, or a graphical session's RFB recording (shared/protocol/rfb-recording.ts). */
function headers(copy: RecordingCopy, size: number): Record<string, string> {
  const [type, extension] = copy.kind === 'rfb' ? ['application/x-holdfast-rfb', 'rfbrec'] : ['application/x-asciicast', 'cast'];
  return { ...SECURITY_HEADERS, 'Content-Type': type, 'Content-Length': String(size), 'Content-Disposition': `attachment; filename="${copy.sessionId}.${extension}"`, 'Cache-Control': 'no-store' };
}

/** The best copy's file, from its node; a node that cannot give it passes to the next copy. */
async function serveBest(ctx: NodeContext, token: string, copies: RecordingCopy[], response: ServerResponse): Promise<void> {
  for (const copy of copies) {
    if (copy.node === ctx.sessions.self) {
      const file = ctx.sessions.recordings.file(copy.sessionId);
      if (file) return sendFile(response, file.path, file.size, copy);
      continue;
    }
    const reply = await remoteFile(ctx, token, copy);
    if (!reply) continue;
    response.writeHead(200, headers(copy, Number(reply.headers['content-length'] ?? 0)));
    return pipeline(reply, response);
  }
  throw new HttpError(502, 'unreachable', 'The nodes holding that recording did not give it.');
}

/** The best copy's bytes (for a search). */
async function readBest(ctx: NodeContext, token: string, copies: RecordingCopy[]): Promise<Buffer> {
  for (const copy of copies) {
    const source = copy.node === ctx.sessions.self ? localStream(ctx, copy) : await remoteFile(ctx, token, copy);
    if (!source) continue;
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of source as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_SEARCHED_BYTES) throw new HttpError(413, 'too_large', `The recording is larger than ${MAX_SEARCHED_BYTES / 1024 / 1024} MiB; export it and search it there.`);
      chunks.push(chunk);
    }
    return Buffer.concat(chunks);
  }
  throw new HttpError(502, 'unreachable', 'The nodes holding that recording did not give it.');
}

function localStream(ctx: NodeContext, copy: RecordingCopy): NodeJS.ReadableStream | null {
  const file = ctx.sessions.recordings.file(copy.sessionId);
  return file ? createReadStream(file.path, { start: 0, end: Math.max(0, file.size - 1) }) : null;
}

async function remoteFile(ctx: NodeContext, token: string, copy: RecordingCopy): Promise<IncomingMessage | null> {
  const node = ctx.sessions.member(copy.node);
  if (!node) return null;
  try {
    const reply = await requestStream(`${node.url}/api/recordings/local/${encodeURIComponent(copy.sessionId)}`, { headers: { authorization: `Bearer ${token}` }, timeoutMs: 5000, idleMs: 30_000 }, ctx.trust);
    if (reply.statusCode === 200) return reply;
    reply.resume();
  } catch {
    /* that node is gone: the next copy */
  }
  return null;
}
