// `holdfast cp LOCAL :REMOTE`: a file (or standard input, `-`) from this machine into a
// running session's home (docs/protocol.md#uploads), resumable: a dropped connection
// or a failover of the session goes on from where the session stands
// (shared/core/resumable-upload.ts). REMOTE names the file, or a folder to put it in
// (ending in "/", or a folder that is there); `:` alone is the home.
import { open, stat } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import { UploadRefused, resumableUpload, type FetchLike, type UploadSource } from '../../shared/core/index.js';
import { FileListingSchema } from '../../shared/protocol/index.js';
import { requestStream, type Trust } from '../tls/trust.js';

const HEAD_TIMEOUT_MS = 30_000;
const IDLE_MS = 60_000;

export interface UploadCall {
  /** The broker, http(s)://… */
  base: string;
  sessionId: string;
  /** The local file, or "-" for standard input. */
  local: string;
  /** After ":" as the person wrote it. */
  remote: string;
  token: () => string;
  trust: Trust;
  /** Progress lines (standard error). */
  say: (line: string) => void;
}

/** Uploads; resolves with where the file went and its SHA-256, or throws with the broker's words. */
export async function uploadFile(call: UploadCall): Promise<{ path: string; sha256: string; size: number }> {
  const fetcher = nodeFetch(call.trust);
  const source = call.local === '-' ? stdinSource() : await fileSource(call.local);
  const name = call.local === '-' ? null : basename(call.local);
  const path = await destination(call, fetcher, name);
  let lastSaid = 0;
  const done = await resumableUpload({
    baseUrl: call.base,
    sessionId: call.sessionId,
    path,
    source,
    headers: () => ({ authorization: `Bearer ${call.token()}` }),
    fetch: fetcher,
    onProgress: (p) => {
      if (p.retrying) return call.say(p.retrying);
      if (Date.now() - lastSaid < 2000) return;
      lastSaid = Date.now();
      call.say(`${mib(p.sent)}${p.total === null ? '' : ` of ${mib(p.total)}`}${p.bytesPerSecond ? ` at ${mib(p.bytesPerSecond)}/s` : ''}`);
    },
  });
  return { path: done.path, sha256: done.sha256 ?? '', size: done.offset };
}

/** Where the file goes: REMOTE, or REMOTE/NAME when REMOTE is a folder (ends in "/", is "", or is a folder in the home). */
async function destination(call: UploadCall, fetcher: FetchLike, name: string | null): Promise<string> {
  const remote = call.remote.replace(/^\.\/+/, '');
  let folder = remote === '' || remote === '.' || remote.endsWith('/');
  if (!folder) {
    const listing = await fetcher(`${call.base}/api/sessions/${encodeURIComponent(call.sessionId)}/files?path=${encodeURIComponent(remote)}`, { method: 'GET', headers: { authorization: `Bearer ${call.token()}` } });
    folder = listing.ok && FileListingSchema.safeParse(await listing.json()).success;
  }
  if (!folder) return remote;
  if (name === null) throw new UploadRefused('standard input has no name: give one after ":", as in holdfast cp - :notes.txt', 0, 'no_name');
  return `${remote.replace(/\/+$/, '')}${remote.replace(/\/+$/, '') === '' ? '' : '/'}${name}`;
}

async function fileSource(local: string): Promise<UploadSource> {
  const info = await stat(local).catch((error: NodeJS.ErrnoException) => {
    throw new UploadRefused(`cannot read ${local}: ${error.code ?? error.message}`, 0, 'local');
  });
  if (info.isDirectory()) throw new UploadRefused(`${local} is a folder; upload the files in it one by one (or drop the folder on the session in the launcher)`, 0, 'local');
  const handle = await open(local, 'r');
  return {
    size: info.size,
    async read(offset, length) {
      const buffer = Buffer.allocUnsafe(length);
      const { bytesRead } = await handle.read(buffer, 0, length, offset);
      return buffer.subarray(0, bytesRead);
    },
  };
}

/** Standard input, read in order: each piece is asked for once, at the offset after the last (resends come from what is kept). */
function stdinSource(): UploadSource {
  let chunks: Buffer[] = [];
  /** The offset of chunks[0]. */
  let start = 0;
  let ended = false;
  const reader = process.stdin[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const held = () => chunks.reduce((sum, c) => sum + c.length, 0);
  return {
    size: null,
    async read(offset, length) {
      // What was sent before `offset` is not needed again: the session has it.
      while (chunks.length > 0 && start + chunks[0]!.length <= offset) start += chunks.shift()!.length;
      while (!ended && start + held() < offset + length) {
        const next = await reader.next();
        if (next.done) ended = true;
        else chunks.push(next.value);
      }
      const all = Buffer.concat(chunks);
      chunks = [all];
      return all.subarray(offset - start, offset - start + length);
    },
  };
}

/** FetchLike over the node's own HTTP client: it trusts what the CLI was told to (--ca). */
function nodeFetch(trust: Trust): FetchLike {
  return async (url, init) => {
    const body = init.body === undefined ? undefined : typeof init.body === 'string' ? Buffer.from(init.body) : Buffer.from(init.body.buffer, init.body.byteOffset, init.body.byteLength);
    const headers = { ...init.headers, ...(body ? { 'content-length': String(body.length) } : {}) };
    const reply: IncomingMessage = await requestStream(url, { method: init.method as 'GET', headers, ...(body ? { body: Readable.from([body]) } : {}), timeoutMs: HEAD_TIMEOUT_MS, idleMs: IDLE_MS }, trust);
    const chunks: Buffer[] = [];
    for await (const chunk of reply as AsyncIterable<Buffer>) chunks.push(chunk);
    const status = reply.statusCode ?? 0;
    return {
      ok: status >= 200 && status < 300,
      status,
      json: async () => JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown,
    };
  };
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
