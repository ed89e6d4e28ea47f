// A client's session stream carried through this node to the node that hosts the
// session's primary: a second WebSocket to that node's /ws, opened on the client's
// behalf, with frames piped both ways untouched. The far node handles the request as
// if the client were its own (the LOCAL subprotocol tells it not to route again), so
// resume, flow control and acks are end to end. When the far node dies the client
// is closed with "going away" and resumes — through any node — on the new primary.
import WebSocket, { type RawData } from 'ws';
import { BEARER_PREFIX, CloseCode, SUBPROTOCOL, WS_PATH } from '../../shared/protocol/index.js';
import { wsTrustOptions, type Trust } from '../tls/trust.js';

/** Offered by a gateway: handle this connection's session here, do not route it on. */
export const LOCAL_SUBPROTOCOL = 'holdfast.local';

const OPEN_TIMEOUT_MS = 1000;
/** Codes the far node closes with that mean the same to the client. */
const PASS_THROUGH = new Set<number>([CloseCode.normal, CloseCode.displaced, CloseCode.moved, CloseCode.unauthenticated, CloseCode.protocolError, CloseCode.unsupportedData, CloseCode.invalidPayload, CloseCode.policyViolation, CloseCode.tooBig]);

export interface TunnelOptions {
  url: string;
  /** The far node must answer within 80 % of this, or the client is sent to resume elsewhere. */
  heartbeatMs: number;
  accessToken: string | null;
  /** The request (JSON text) that starts the session on the far node. */
  first: string;
  client: WebSocket;
  /** Whom to trust when the far node serves TLS. */
  trust: Trust;
}

export class Tunnel {
  private upstream: WebSocket;
  private queue: Array<{ data: Buffer; isBinary: boolean }> = [];
  private established = false;
  private clientGone = false;

  private constructor(upstream: WebSocket) {
    this.upstream = upstream;
  }

  /**
   * Opens the tunnel; resolves with it once the far node welcomed us and has the
   * request, or with why not: 'refused' (the connection failed: the process is likely
   * gone) or 'silent' (connected, but no answer in time: hung or stopped).
   */
  static open(options: TunnelOptions): Promise<Tunnel | 'refused' | 'silent'> {
    const protocols = [SUBPROTOCOL, LOCAL_SUBPROTOCOL];
    if (options.accessToken) protocols.push(BEARER_PREFIX + options.accessToken);
    const upstream = new WebSocket(options.url.replace(/^http/, 'ws') + WS_PATH, protocols, {
      perMessageDeflate: false,
      handshakeTimeout: OPEN_TIMEOUT_MS,
      maxPayload: 64 * 1024 * 1024,
      ...wsTrustOptions(options.url, options.trust),
    });
    const tunnel = new Tunnel(upstream);
    return new Promise((resolve) => {
      let settled = false;
      const timer = setTimeout(() => fail('silent'), OPEN_TIMEOUT_MS * 2);
      const fail = (why: 'refused' | 'silent') => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        upstream.terminate();
        resolve(why);
      };
      // A refused or reset connection: the process is likely gone. A handshake that
      // times out: something holds the port but does not answer.
      const onError = (error: NodeJS.ErrnoException) => fail(error.code === 'ECONNREFUSED' || error.code === 'ECONNRESET' ? 'refused' : 'silent');
      const onClose = () => fail('refused');
      upstream.once('error', onError);
      upstream.once('close', onClose);
      upstream.once('message', (data, isBinary) => {
        // The far node's welcome: the client had ours already.
        if (isBinary || settled) return fail('refused');
        settled = true;
        clearTimeout(timer);
        upstream.removeListener('error', onError);
        upstream.removeListener('close', onClose);
        (upstream as unknown as { _socket?: { setNoDelay(v: boolean): void } })._socket?.setNoDelay(true);
        upstream.send(options.first);
        tunnel.pipe(options.client, options.heartbeatMs);
        void data;
        resolve(tunnel);
      });
    });
  }

  /**
   * Pipes frames both ways. The client's liveness pings are answered by this node (see
   * ClientConnection), so the far node's liveness is watched here: pinged every quarter
   * period, and if it is silent for 80 % of it — a hung or stopped process keeps its TCP
   * connections open — the client is closed with "going away" and resumes, through this
   * node, on whichever replica takes over.
   */
  private pipe(client: WebSocket, heartbeatMs: number): void {
    this.established = true;
    let lastHeard = Date.now();
    const heard = () => (lastHeard = Date.now());
    this.upstream.on('pong', heard);
    const watch = setInterval(() => {
      if (Date.now() - lastHeard > heartbeatMs * 0.8) {
        clearInterval(watch);
        if (!this.clientGone && client.readyState === client.OPEN) client.close(CloseCode.goingAway, 'the node hosting the session is not answering; reconnect to resume it');
        this.clientGone = true;
        this.upstream.terminate();
        return;
      }
      if (this.upstream.readyState === this.upstream.OPEN) this.upstream.ping();
    }, Math.max(50, Math.floor(heartbeatMs / 4)));
    this.upstream.once('close', () => clearInterval(watch));
    for (const { data, isBinary } of this.queue.splice(0)) this.upstream.send(data, { binary: isBinary });
    this.upstream.on('message', (data: RawData, isBinary) => {
      heard();
      if (client.readyState === client.OPEN) client.send(data as Buffer, { binary: isBinary });
    });
    this.upstream.on('close', (code, reason) => {
      if (this.clientGone || client.readyState !== client.OPEN) return;
      if (PASS_THROUGH.has(code)) client.close(code, reason.toString());
      else client.close(CloseCode.goingAway, 'the node hosting the session went away; reconnect to resume it');
    });
    this.upstream.on('error', () => {});
  }

  /** A frame from the client, for the far node. */
  forward(data: Buffer, isBinary: boolean): void {
    if (this.established && this.upstream.readyState === this.upstream.OPEN) this.upstream.send(data, { binary: isBinary });
    else if (!this.established) this.queue.push({ data, isBinary });
  }

  /** The client went away: the far node detaches the session (it keeps running for the hold time). */
  clientClosed(): void {
    this.clientGone = true;
    if (this.upstream.readyState === this.upstream.OPEN) this.upstream.close(CloseCode.goingAway, 'client connection closed');
    else this.upstream.terminate();
  }
}
