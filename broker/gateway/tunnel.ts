// A client's session stream carried through this node to the node that hosts the
// session's primary: a second WebSocket to that node's /ws, opened on the client's
// behalf, with frames piped both ways untouched. The far node handles the request as
// if the client were its own (the LOCAL subprotocol tells it not to route again), so
// resume, flow control and acks are end to end. When the far node dies the client
// is closed with "going away" and resumes — through any node — on the new primary.
import WebSocket, { type RawData } from 'ws';
import { BEARER_PREFIX, CloseCode, SUBPROTOCOL, WS_PATH } from '../../shared/protocol/index.js';

/** Offered by a gateway: handle this connection's session here, do not route it on. */
export const LOCAL_SUBPROTOCOL = 'holdfast.local';

const OPEN_TIMEOUT_MS = 1000;
/** Codes the far node closes with that mean the same to the client. */
const PASS_THROUGH = new Set<number>([CloseCode.normal, CloseCode.displaced, CloseCode.unauthenticated, CloseCode.protocolError, CloseCode.unsupportedData, CloseCode.invalidPayload, CloseCode.policyViolation, CloseCode.tooBig]);

export interface TunnelOptions {
  url: string;
  accessToken: string | null;
  /** The request (JSON text) that starts the session on the far node. */
  first: string;
  client: WebSocket;
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
   * request, or with why it could not be reached ('unreachable': nothing answered).
   */
  static open(options: TunnelOptions): Promise<Tunnel | 'unreachable'> {
    const protocols = [SUBPROTOCOL, LOCAL_SUBPROTOCOL];
    if (options.accessToken) protocols.push(BEARER_PREFIX + options.accessToken);
    const upstream = new WebSocket(options.url.replace(/^http/, 'ws') + WS_PATH, protocols, { perMessageDeflate: false, handshakeTimeout: OPEN_TIMEOUT_MS, maxPayload: 64 * 1024 * 1024 });
    const tunnel = new Tunnel(upstream);
    return new Promise((resolve) => {
      let settled = false;
      const timer = setTimeout(() => fail(), OPEN_TIMEOUT_MS * 2);
      const fail = () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        upstream.terminate();
        resolve('unreachable');
      };
      upstream.once('error', fail);
      upstream.once('close', fail);
      upstream.once('message', (data, isBinary) => {
        // The far node's welcome: the client had ours already.
        if (isBinary || settled) return fail();
        settled = true;
        clearTimeout(timer);
        upstream.removeListener('error', fail);
        upstream.removeListener('close', fail);
        (upstream as unknown as { _socket?: { setNoDelay(v: boolean): void } })._socket?.setNoDelay(true);
        upstream.send(options.first);
        tunnel.pipe(options.client);
        void data;
        resolve(tunnel);
      });
    });
  }

  private pipe(client: WebSocket): void {
    this.established = true;
    for (const { data, isBinary } of this.queue.splice(0)) this.upstream.send(data, { binary: isBinary });
    this.upstream.on('message', (data: RawData, isBinary) => {
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
