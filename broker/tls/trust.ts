// Whom a node or the CLI believes when it opens a TLS connection: the system's CAs,
// extra CA certificates (a company CA, or a node's own self-signed certificate), and
// pins (the SHA-256 of a server's public key, for a self-signed broker). The check is
// made after the handshake and before a single byte of the request is written, so a
// bearer token never reaches a server that has not been trusted.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type Socket } from 'node:net';
import { connect as tlsConnect, rootCertificates, type ConnectionOptions } from 'node:tls';
import type { ClientOptions } from 'ws';
import { spkiPin } from './certificate.js';
import { PIN_PROBLEM, normalizePin } from '../../shared/pin.js';

export interface Trust {
  /** PEM certificates trusted as anchors, besides the system's. */
  readonly ca: readonly string[];
  /** sha256/BASE64 public-key pins: a server presenting one of these keys is trusted whatever its chain. */
  readonly pins: readonly string[];
}

export const SYSTEM_TRUST: Trust = { ca: [], pins: [] };

/** The certificates in a PEM file; the error names the file and says what was expected. */
export function readCertificates(file: string, what = 'certificate file'): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`cannot read the ${what} ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new Error(`the ${what} ${file} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  for (const [i, block] of blocks.entries()) {
    try {
      new X509Certificate(block);
    } catch (error) {
      throw new Error(`certificate ${i + 1} in ${file} cannot be read: ${(error as Error).message}`);
    }
  }
  return blocks.map((b) => b + '\n');
}

/** Builds a Trust from CA files and pins as an operator writes them; throws with what is wrong. */
export function makeTrust(options: { caFiles?: readonly string[]; pins?: readonly string[]; extraCa?: readonly string[] }): Trust {
  const pins = (options.pins ?? []).map((pin) => {
    const normal = normalizePin(pin);
    if (!normal) throw new Error(`"${pin}" is not a pin: ${PIN_PROBLEM}`);
    return normal;
  });
  const ca = [...(options.extraCa ?? []), ...(options.caFiles ?? []).flatMap((file) => readCertificates(file, 'CA file'))];
  return { ca, pins };
}

export class UntrustedCertificateError extends Error {
  readonly code = 'HOLDFAST_UNTRUSTED_CERTIFICATE';
  constructor(
    readonly host: string,
    readonly reason: string,
    /** The pin of the key the server presented: for a person to compare with the broker's own. */
    readonly presentedPin: string | null,
  ) {
    super(
      `the certificate of ${host} is not trusted (${describe(reason)})` +
        (presentedPin ? `; its key's pin is ${presentedPin}. If that is your broker's (holdfast cert dev printed it), pass --pin ${presentedPin}; or pass --ca FILE with the CA that signed it` : ''),
    );
  }
}

function describe(reason: string): string {
  const known: Record<string, string> = {
    DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed',
    SELF_SIGNED_CERT_IN_CHAIN: 'signed by a CA this machine does not know',
    UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'signed by a CA this machine does not know',
    UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'signed by a CA this machine does not know',
    CERT_HAS_EXPIRED: 'expired',
    CERT_NOT_YET_VALID: 'not valid yet',
    ERR_TLS_CERT_ALTNAME_INVALID: 'made out for another name',
  };
  return known[reason] ?? reason;
}

type Callback = (error: Error | null, socket?: Socket) => void;
type ConnectOptions = ConnectionOptions & { host?: string; port?: number; timeout?: number };

/**
 * A `createConnection` for `ws` and `https.request`: connects with TLS, and hands the
 * socket over only once the server is trusted — by its chain and name, or by its pin.
 */
export function secureConnector(trust: Trust): (options: ConnectOptions, callback: Callback) => undefined {
  const ca = trust.ca.length > 0 ? [...rootCertificates, ...trust.ca] : undefined;
  return (options, callback) => {
    const host = options.host ?? 'localhost';
    const servername = options.servername ?? (isIP(host) ? '' : host);
    const socket = tlsConnect({ ...options, ca, servername, rejectUnauthorized: false });
    let done = false;
    const finish = (error: Error | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (!error) return void callback(null, socket);
      socket.destroy();
      callback(error);
    };
    const timer = setTimeout(() => finish(new Error(`no TLS handshake with ${host} within ${(options.timeout ?? 10_000) / 1000} s`)), options.timeout ?? 10_000);
    timer.unref?.();
    socket.once('secureConnect', () => {
      if (socket.authorized) return finish(null);
      const presented = socket.getPeerX509Certificate();
      const pin = presented ? spkiPin(presented) : null;
      if (pin !== null && trust.pins.includes(pin)) return finish(null);
      finish(new UntrustedCertificateError(host, String(socket.authorizationError ?? 'unknown'), pin));
    });
    socket.once('error', (error) => finish(error));
    return undefined;
  };
}

/**
 * Options for `new WebSocket(url, protocols, …)` that apply the trust to wss:// URLs.
 * `ws` hands createConnection to https.request, which also takes the callback form
 * (its types know only the synchronous one).
 */
export function wsTrustOptions(url: string, trust: Trust): Pick<ClientOptions, 'createConnection'> {
  return /^(wss|https):/i.test(url) ? { createConnection: secureConnector(trust) as unknown as ClientOptions['createConnection'] } : {};
}

export interface HttpReply {
  status: number;
  ok: boolean;
  text: string;
}

export interface JsonReply {
  status: number;
  ok: boolean;
  /** The parsed body, or null when it was not JSON. */
  body: unknown;
}

const MAX_REPLY_BYTES = 16 * 1024 * 1024;

type RequestInit = { method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: unknown; timeoutMs: number };

/**
 * A small HTTP(S) client for the admin API between nodes and from the CLI: a JSON
 * body out, a deadline, and the same trust as the WebSocket connections.
 */
export function request(url: string, init: RequestInit, trust: Trust = SYSTEM_TRUST): Promise<HttpReply> {
  const target = new URL(url);
  const secure = target.protocol === 'https:';
  const payload = init.body === undefined ? undefined : JSON.stringify(init.body);
  const headers: Record<string, string> = { ...init.headers };
  if (payload !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(Buffer.byteLength(payload));
  }
  return new Promise((resolve, reject) => {
    const options = { method: init.method ?? 'GET', headers, timeout: init.timeoutMs };
    const onReply = (reply: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      reply.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_REPLY_BYTES) return void outgoing.destroy(new Error(`${target.origin} sent more than ${MAX_REPLY_BYTES} bytes`));
        chunks.push(chunk);
      });
      reply.on('end', () => {
        clearTimeout(deadline);
        const status = reply.statusCode ?? 0;
        resolve({ status, ok: status >= 200 && status < 300, text: Buffer.concat(chunks).toString('utf8') });
      });
      reply.on('error', fail);
    };
    const outgoing = secure
      ? httpsRequest(target, { ...options, createConnection: secureConnector(trust) as unknown as RequestOptions['createConnection'] }, onReply)
      : httpRequest(target, options, onReply);
    const deadline = setTimeout(() => outgoing.destroy(new Error(`no answer within ${init.timeoutMs / 1000} s`)), init.timeoutMs);
    function fail(error: Error) {
      clearTimeout(deadline);
      reject(error);
    }
    outgoing.on('error', fail);
    outgoing.end(payload);
  });
}

/**
 * An HTTP(S) request whose answer is streamed, not gathered (a file passed from one
 * node to another, or to the CLI): resolves with the reply once its head has come,
 * within `timeoutMs`; its body then flows as the caller reads it, and a connection
 * quiet for `idleMs` is cut (the body errors). `body`, when given, is piped as the
 * request's body (an upload passed on): its pace is the far end's. The caller reads
 * the reply to its end or destroys it.
 */
export function requestStream(
  url: string,
  init: { method?: 'GET' | 'HEAD' | 'POST' | 'PATCH' | 'DELETE'; headers?: Record<string, string>; body?: NodeJS.ReadableStream; timeoutMs: number; idleMs: number },
  trust: Trust = SYSTEM_TRUST,
): Promise<IncomingMessage> {
  const target = new URL(url);
  const options = { method: init.method ?? 'GET', headers: { ...init.headers } };
  return new Promise((resolve, reject) => {
    const outgoing =
      target.protocol === 'https:'
        ? httpsRequest(target, { ...options, createConnection: secureConnector(trust) as unknown as RequestOptions['createConnection'] }, onReply)
        : httpRequest(target, options, onReply);
    let deadline: NodeJS.Timeout | undefined;
    let answered = false;
    const awaitAnswer = () => {
      if (!answered) deadline = setTimeout(() => outgoing.destroy(new Error(`no answer within ${init.timeoutMs / 1000} s`)), init.timeoutMs);
    };
    outgoing.setTimeout(init.idleMs, () => outgoing.destroy(new Error(`the connection was quiet for ${init.idleMs / 1000} s`)));
    function onReply(reply: IncomingMessage) {
      answered = true;
      clearTimeout(deadline);
      resolve(reply);
    }
    outgoing.on('error', (error) => {
      answered = true;
      clearTimeout(deadline);
      reject(error);
    });
    if (!init.body) {
      awaitAnswer();
      return void outgoing.end();
    }
    // The deadline is for the answer's head, which comes after the whole body: it starts once the body is sent.
    init.body.on('error', (error) => outgoing.destroy(error));
    init.body.pipe(outgoing);
    outgoing.on('finish', awaitAnswer);
  });
}

/** `request`, with the answer parsed as JSON (null when it is not JSON). */
export async function requestJson(url: string, init: RequestInit, trust: Trust = SYSTEM_TRUST): Promise<JsonReply> {
  const reply = await request(url, { ...init, headers: { accept: 'application/json', ...init.headers } }, trust);
  let body: unknown = null;
  try {
    body = JSON.parse(reply.text);
  } catch {
    /* not JSON */
  }
  return { status: reply.status, ok: reply.ok, body };
}
