// `holdfast cp`: a file from a running session's home to this machine
// (docs/protocol.md#session-files), or from this machine into it (copy-upload.ts). The session's side is written `:PATH`, relative to
// its home, as `kubectl cp` and `docker cp` write a container's; LOCAL `-` is standard
// output. A download whose connection drops resumes where it stopped — Range, on
// condition that the file is still the version it started (If-Range with its ETag), so
// the result is never a splice of two versions — a bounded number of times in a row.
import { once } from 'node:events';
import { open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { basename, dirname, join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { HoldfastClient, ProtocolError } from '../../shared/core/index.js';
import { FilesErrorSchema, type SessionSummary } from '../../shared/protocol/index.js';
import { requestStream, type Trust } from '../tls/trust.js';
import { sleep } from '../sleep.js';
import { nodeSocketFactoryWith } from './connect.js';
import { uploadFile } from './copy-upload.js';
import { readPassword } from './password-prompt.js';
import { TRUST_OPTIONS, TRUST_USAGE, trustFrom } from './trust-options.js';

export const COPY_USAGE = `Usage:
  holdfast cp [--broker URL --user NAME] (--app ID | --session ID) :REMOTE LOCAL
      download REMOTE (a path in the session's home, after ":") to LOCAL: a file, a
      folder to put it in, or "-" for standard output. A dropped connection resumes
      where it stopped. --app: your one running session of that app.
  holdfast cp [--broker URL --user NAME] (--app ID | --session ID) LOCAL :REMOTE
      upload LOCAL (a file, or "-" for standard input) to REMOTE in the session's
      home: a file name, or a folder to put it in (":" alone is the home). A dropped
      connection, or a failover of the session, resumes where it stopped.
Options: --broker and --user default to $HOLDFAST_BROKER and $HOLDFAST_USER; the
password is asked for (or read from $HOLDFAST_PASSWORD, or --password-stdin).
${TRUST_USAGE}: trust a broker whose certificate this system does not.
`;

/** Tries in a row that make no progress before a download is given up. */
const RETRIES = 6;
const HEAD_TIMEOUT_MS = 30_000;
const IDLE_MS = 60_000;
/** Answers worth asking again: the session is moving, its node is busy or not answering. */
const TRANSIENT = new Set([409, 429, 502, 503, 504]);

/** A failure to report: its message, the exit status (2: the command line was wrong), and whether the usage helps. */
class CopyError extends Error {
  constructor(
    message: string,
    readonly status = 1,
    readonly usage = status === 2,
  ) {
    super(message);
  }
}

export async function runCopy(args: string[]): Promise<number> {
  try {
    return await copy(args);
  } catch (error) {
    const message = error instanceof ProtocolError || error instanceof Error ? error.message : String(error);
    process.stderr.write(`holdfast cp: ${message}\n`);
    if (error instanceof CopyError && error.usage) process.stderr.write(`\n${COPY_USAGE}`);
    return error instanceof CopyError ? error.status : 1;
  }
}

function parse(args: string[]) {
  try {
    return parseArgs({
      args,
      allowPositionals: true,
      options: { broker: { type: 'string' }, user: { type: 'string' }, app: { type: 'string' }, session: { type: 'string' }, 'password-stdin': { type: 'boolean' }, help: { type: 'boolean', short: 'h' }, ...TRUST_OPTIONS },
    });
  } catch (error) {
    throw new CopyError((error as Error).message, 2);
  }
}

async function copy(args: string[]): Promise<number> {
  const { values, positionals } = parse(args);
  if (values.help) {
    process.stdout.write(COPY_USAGE);
    return 0;
  }
  if (positionals.length !== 2) throw new CopyError('give what to copy and where: holdfast cp --app ID :REMOTE LOCAL', 2);
  const [source, target] = positionals as [string, string];
  const remote = (side: string) => side.startsWith(':');
  if (remote(source) && remote(target)) throw new CopyError('both sides start with ":"; one of them must be on this machine', 2);
  if (!remote(source) && !remote(target)) throw new CopyError('mark the session\'s side with ":", as in holdfast cp --app ID :notes.txt ./notes.txt', 2);
  const uploading = remote(target);
  const path = (uploading ? target : source).slice(1);
  if (!uploading && path.replace(/[/.]/g, '') === '') throw new CopyError('name a file after ":" (a path relative to the session\'s home)', 2);
  if ((values.app === undefined) === (values.session === undefined)) throw new CopyError('give --app ID (your running session of that app) or --session ID, one of them', 2);
  const broker = values.broker ?? process.env.HOLDFAST_BROKER;
  const user = values.user ?? process.env.HOLDFAST_USER;
  if (!broker || !user) throw new CopyError(`missing ${[broker ? '' : '--broker URL (or $HOLDFAST_BROKER)', user ? '' : '--user NAME (or $HOLDFAST_USER)'].filter(Boolean).join(' and ')}`, 2);
  let trust: Trust;
  try {
    trust = trustFrom(values);
  } catch (error) {
    throw new CopyError((error as Error).message, 2);
  }
  const password = process.env.HOLDFAST_PASSWORD ?? (await readPassword(`Password for ${user}: `, values['password-stdin'] ?? false));
  const client = new HoldfastClient({ brokerUrl: broker, socketFactory: nodeSocketFactoryWith(trust), connectTimeoutMs: 10_000 });
  try {
    await client.signIn(user, password);
    const session = choose(await client.listSessions(), values.app, values.session);
    const base = broker.replace(/\/+$/, '').replace(/^ws/, 'http');
    if (uploading) {
      const sent = await uploadFile({ base, sessionId: session.sessionId, local: source, remote: path, token: () => client.apiToken ?? '', trust, say: (line) => process.stderr.write(`holdfast cp: ${line}\n`) }).catch((error: unknown) => {
        throw new CopyError(error instanceof Error ? error.message : String(error));
      });
      process.stderr.write(`holdfast cp: ${sent.path} is in the session's home (${sent.size} bytes, SHA-256 ${sent.sha256})\n`);
      return 0;
    }
    const url = `${base}/api/sessions/${encodeURIComponent(session.sessionId)}/files/content?path=${encodeURIComponent(path)}`;
    const sink = target === '-' ? stdoutSink() : await fileSink(target, basename(path));
    try {
      await download(url, () => client.apiToken ?? '', sink, basename(path), trust);
      await sink.finish();
    } catch (error) {
      await sink.abandon();
      throw error;
    }
    return 0;
  } finally {
    client.signOut({ sessions: 'disconnect' });
  }
}

/** The session meant: the one with that id, or the person's one session of that app. */
function choose(running: SessionSummary[], app: string | undefined, id: string | undefined): SessionSummary {
  if (id !== undefined) {
    const found = running.find((s) => s.sessionId === id);
    if (!found) throw new CopyError(`you have no running session with id ${id} (holdfast cp --app ID picks yours of an app)`);
    return found;
  }
  const ofApp = running.filter((s) => s.appId === app).sort((a, b) => a.startedAt - b.startedAt);
  if (ofApp.length === 0) throw new CopyError(`you have no running session of "${app}"; start one first (in the launcher, or holdfast connect --app ${app})`);
  if (ofApp.length > 1) {
    const lines = ofApp.map((s) => `  --session ${s.sessionId}   started ${new Date(s.startedAt).toLocaleString()}${s.attached ? ' (open in a client)' : ''}`);
    throw new CopyError(`you have ${ofApp.length} running sessions of "${app}"; say which with --session:\n${lines.join('\n')}`);
  }
  return ofApp[0]!;
}

/** Where the bytes go. */
interface Sink {
  write(chunk: Buffer): Promise<void>;
  /** Back to nothing written (the file changed): false when that cannot be undone (stdout). */
  restart(): Promise<boolean>;
  finish(): Promise<void>;
  /** A failure: nothing half-made is left behind. */
  abandon(): Promise<void>;
}

function stdoutSink(): Sink {
  let written = 0;
  let broken: Error | null = null;
  process.stdout.on('error', (error) => (broken = error));
  return {
    async write(chunk) {
      if (broken) throw new CopyError(`standard output was closed (${broken.message})`);
      written += chunk.length;
      if (!process.stdout.write(chunk)) await once(process.stdout, 'drain');
    },
    restart: async () => written === 0,
    finish: () => new Promise<void>((resolve) => process.stdout.write('', () => resolve())),
    abandon: async () => {},
  };
}

/** A file, written under a temporary name beside it and renamed into place once whole. */
async function fileSink(target: string, name: string): Promise<Sink> {
  const into = (await stat(target).catch(() => null))?.isDirectory() ?? false;
  const final = into ? join(target, name) : target;
  const part = join(dirname(final), `.${basename(final)}.holdfast-${randomBytes(4).toString('hex')}.part`);
  let handle: FileHandle;
  try {
    handle = await open(part, 'wx', 0o644);
  } catch (error) {
    throw new CopyError(`cannot write ${final}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  let position = 0;
  return {
    async write(chunk) {
      await handle.write(chunk, 0, chunk.length, position);
      position += chunk.length;
    },
    async restart() {
      await handle.truncate(0);
      position = 0;
      return true;
    },
    async finish() {
      await handle.close();
      await rename(part, final);
    },
    async abandon() {
      await handle.close().catch(() => {});
      await rm(part, { force: true });
    },
  };
}

/** GETs the file into `sink`, resuming after drops; throws CopyError with the broker's words. */
async function download(url: string, token: () => string, sink: Sink, name: string, trust: Trust): Promise<void> {
  let offset = 0;
  let total: number | null = null;
  let etag: string | null = null;
  let failures = 0;
  /** The SHA-256 of what arrived: proves to another replica (after a failover) that the rest belongs to it. */
  let head = createHash('sha256');
  const retry = async (why: string) => {
    failures++;
    if (failures > RETRIES) throw new CopyError(`${why}; gave up after ${RETRIES} tries in a row`);
    process.stderr.write(`holdfast cp: ${why}; ${offset > 0 ? `resuming at byte ${offset}` : 'trying again'} (${failures} of ${RETRIES})\n`);
    await sleep(Math.min(10_000, 250 * 2 ** failures));
  };
  for (;;) {
    const headers: Record<string, string> = { authorization: `Bearer ${token()}` };
    if (offset > 0 && etag !== null) Object.assign(headers, { range: `bytes=${offset}-`, 'if-range': etag, 'holdfast-resume': `${offset} ${head.copy().digest('hex')}` });
    let reply: IncomingMessage;
    try {
      reply = await requestStream(url, { headers, timeoutMs: HEAD_TIMEOUT_MS, idleMs: IDLE_MS }, trust);
    } catch (error) {
      await retry(`the broker did not answer (${(error as Error).message})`);
      continue;
    }
    const status = reply.statusCode ?? 0;
    if (status === 200) {
      if (offset > 0) {
        // Not the bytes after ours: the file changed (or the broker cannot resume). From the start, if we can.
        if (!(await sink.restart())) {
          reply.destroy();
          throw new CopyError(`${name} changed in the session while it was being downloaded, and standard output already has part of the earlier version; run holdfast cp again`);
        }
        process.stderr.write(`holdfast cp: ${name} changed in the session; downloading it again from the start\n`);
        offset = 0;
        head = createHash('sha256');
      }
      etag = typeof reply.headers.etag === 'string' ? reply.headers.etag : null;
      total = Number(reply.headers['content-length']);
    } else if (status === 206) {
      const range = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(reply.headers['content-range'] ?? '');
      if (!range || Number(range[1]) !== offset) {
        reply.destroy();
        throw new CopyError(`the broker answered a resume with another part of the file (${reply.headers['content-range'] ?? 'no Content-Range'})`);
      }
      total = Number(range[3]);
      // Another replica's copy (after a failover) has its own validator: resume against it from now on.
      if (typeof reply.headers.etag === 'string') etag = reply.headers.etag;
    } else if (status === 416 && total !== null && offset === total) {
      reply.destroy();
      return;
    } else {
      const message = await refusal(reply, status);
      if (!TRANSIENT.has(status)) throw new CopyError(message);
      await retry(message);
      continue;
    }
    if (!Number.isSafeInteger(total)) {
      reply.destroy();
      throw new CopyError('the broker did not say how large the file is (no Content-Length)');
    }
    try {
      for await (const chunk of reply as AsyncIterable<Buffer>) {
        await sink.write(chunk);
        head.update(chunk);
        offset += chunk.length;
        failures = 0;
      }
    } catch (error) {
      if (error instanceof CopyError) throw error;
      if (offset >= total!) return;
      await retry(`the connection was lost at byte ${offset} of ${total}`);
      continue;
    }
    if (offset === total) return;
    await retry(`the connection ended at byte ${offset} of ${total}`);
  }
}

/** The broker's words for a refusal (its JSON error), or the status. */
async function refusal(reply: IncomingMessage, status: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of reply as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > 64 * 1024) break;
      chunks.push(chunk);
    }
  } catch {
    /* what came is enough */
  }
  let body: unknown = null;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    /* not JSON */
  }
  const error = FilesErrorSchema.safeParse(body);
  if (error.success) return error.data.message;
  return status === 401 ? 'your sign-in is not valid any more; run the command again' : `the broker answered HTTP ${status}`;
}
