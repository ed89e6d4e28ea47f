// Links between broker nodes: a WebSocket at /peer, authenticated with an HMAC of
// the cluster's shared token key. A node opens one outbound link to each node it
// sends to (a primary to its standbys) and answers on the links others open to it.
// Losing a link is reported at once, and `probe()` tells a dead process (its port
// refuses connections) from a live one, so failover need not wait for a lease. A link
// opened to us is pinged, and one that stops answering (its node hung or stopped) is
// reported as silent, also sooner than a lease would tell.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer, type RawData } from 'ws';
import { watchSilence } from '../../shared/core/silence-watch.js';
import { SYSTEM_TRUST, wsTrustOptions, type Trust } from '../tls/trust.js';
import type { Logger } from '../log.js';
import { PEER_BEARER_PREFIX, PEER_PATH, PEER_SUBPROTOCOL, PeerMessage, decodePeerFrame, type BinaryPeerFrame } from './peer-protocol.js';

export type Incoming = PeerMessage | BinaryPeerFrame;

export interface PeerHandlers {
  /** A message on a link `from` opened to us; `reply` answers on the same link. */
  inbound(from: string, message: Incoming, reply: PeerReply): void;
  /** A message on a link we opened to `to` (replies to what we sent). */
  outbound(to: string, message: Incoming): void;
  inboundClosed(from: string): void;
  /** A link `from` opened to us answered nothing, not even a ping, for the silence period. */
  inboundSilent(from: string): void;
  outboundClosed(to: string): void;
}

export interface PeerReply {
  json(message: PeerMessage): void;
  binary(frame: Uint8Array): void;
}

const MAX_PEER_PAYLOAD = 64 * 1024 * 1024;
const CONNECT_TIMEOUT_MS = 1000;

/**
 * A link's frames go unmasked (ws skips an all-zero mask on both ends). Masking guards
 * proxies from bytes a web page chose; a peer link carries only what a node wrote, to
 * a node that proved the cluster key — and masking in JavaScript cost more CPU than the
 * rest of replicating an upload (an XOR of every byte on both nodes: 5 of 7 CPU-seconds
 * for 1 GiB, profiled in the files bench).
 */
export const unmasked = (mask: Buffer): void => void mask.fill(0);

class OutboundLink {
  readonly ws: WebSocket;
  private readonly queue: Array<string | Uint8Array> = [];
  open = false;

  constructor(url: string, protocols: string[], trust: Trust, onMessage: (data: RawData, isBinary: boolean) => void, onClose: () => void) {
    this.ws = new WebSocket(url.replace(/^http/, 'ws') + PEER_PATH, protocols, {
      perMessageDeflate: false,
      maxPayload: MAX_PEER_PAYLOAD,
      generateMask: unmasked,
      handshakeTimeout: CONNECT_TIMEOUT_MS,
      ...wsTrustOptions(url, trust),
    });
    this.ws.on('open', () => {
      this.open = true;
      (this.ws as unknown as { _socket?: { setNoDelay(v: boolean): void } })._socket?.setNoDelay(true);
      for (const item of this.queue.splice(0)) this.ws.send(item);
    });
    this.ws.on('message', onMessage);
    this.ws.on('close', onClose);
    this.ws.on('error', () => {
      /* close follows */
    });
  }

  send(data: string | Uint8Array): void {
    if (this.open) this.ws.send(data);
    else this.queue.push(data);
  }
}

export class PeerHub {
  private readonly wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_PEER_PAYLOAD,
    perMessageDeflate: false,
    handleProtocols: (protocols) => (protocols.has(PEER_SUBPROTOCOL) ? PEER_SUBPROTOCOL : false),
  });
  private readonly outbound = new Map<string, OutboundLink>();
  private readonly inbound = new Map<string, Set<WebSocket>>();

  constructor(
    private readonly self: string,
    private readonly key: Uint8Array,
    private readonly log: Logger,
    private readonly trust: Trust = SYSTEM_TRUST,
    /**
     * Who handles what arrives: the node's session registry, which sends on these
     * links too, so it is made after them (null until then: messages are dropped).
     */
    private readonly handlers: () => PeerHandlers | null = () => null,
    /** A link opened to us that answers nothing for this long is reported silent (0: never). */
    private readonly silenceMs = 0,
  ) {}

  /** The credential a node presents: its name and an HMAC of it under the cluster key. */
  private credential(name: string): string {
    return createHmac('sha256', this.key).update(`holdfast-peer:${name}`).digest('hex');
  }

  /** Handles an upgrade to /peer; refuses anything without a valid node credential. */
  accept(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const offered = (request.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
    const bearer = offered.find((p) => p.startsWith(PEER_BEARER_PREFIX))?.slice(PEER_BEARER_PREFIX.length) ?? '';
    const dot = bearer.lastIndexOf('.');
    const name = bearer.slice(0, dot);
    const presented = Buffer.from(bearer.slice(dot + 1), 'hex');
    const expected = Buffer.from(this.credential(name), 'hex');
    if (!offered.includes(PEER_SUBPROTOCOL) || dot <= 0 || presented.length !== expected.length || !timingSafeEqual(presented, expected)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(request, socket, head, (ws) => {
      (socket as unknown as { setNoDelay?(v: boolean): void }).setNoDelay?.(true);
      let set = this.inbound.get(name);
      if (!set) this.inbound.set(name, (set = new Set()));
      set.add(ws);
      const reply: PeerReply = {
        json: (message) => ws.readyState === ws.OPEN && ws.send(JSON.stringify(message)),
        binary: (frame) => ws.readyState === ws.OPEN && ws.send(frame),
      };
      const liveness = this.watchLiveness(ws, name);
      ws.on('message', (data, isBinary) => {
        liveness.heard();
        const message = this.parse(data, isBinary);
        if (message) this.handlers()?.inbound(name, message, reply);
        else ws.close(1002, 'malformed peer message');
      });
      ws.on('pong', () => liveness.heard());
      ws.on('close', () => {
        liveness.stop();
        set.delete(ws);
        this.handlers()?.inboundClosed(name);
      });
      ws.on('error', () => {});
    });
  }

  /**
   * Pings a link `name` opened to us and reports it silent when nothing came back for
   * `silenceMs` (the shared watch forgives this node's own isolated stall: the answers
   * wait unread behind it). Reported once per silence; watched again once it speaks.
   */
  private watchLiveness(ws: WebSocket, name: string): { heard(): void; stop(): void } {
    if (this.silenceMs <= 0) return { heard: () => {}, stop: () => {} };
    let stopped = false;
    let watch: { heard(): void; stop(): void } | null = null;
    const start = () => {
      watch = watchSilence({
        // The watch reports at 80 % of its period.
        deadAfterMs: this.silenceMs / 0.8,
        ping: () => ws.readyState === ws.OPEN && ws.ping(),
        lost: () => {
          watch = null;
          this.log.warn('peer link silent', { peer: name, ms: this.silenceMs });
          this.handlers()?.inboundSilent(name);
        },
      });
    };
    start();
    return {
      heard: () => {
        if (stopped) return;
        if (watch) watch.heard();
        else start();
      },
      stop: () => {
        stopped = true;
        watch?.stop();
      },
    };
  }

  /** Sends to node `to` at `url` over our link to it, opening the link if needed. */
  send(to: string, url: string, data: PeerMessage | Uint8Array): void {
    let link = this.outbound.get(to);
    if (!link) {
      const created: OutboundLink = new OutboundLink(
        url,
        [PEER_SUBPROTOCOL, `${PEER_BEARER_PREFIX}${this.self}.${this.credential(this.self)}`],
        this.trust,
        (raw, isBinary) => {
          const message = this.parse(raw, isBinary);
          if (message) this.handlers()?.outbound(to, message);
        },
        () => {
          if (this.outbound.get(to) === created) this.outbound.delete(to);
          this.handlers()?.outboundClosed(to);
        },
      );
      link = created;
      this.outbound.set(to, link);
    }
    link.send(data instanceof Uint8Array ? data : JSON.stringify(data));
  }

  /**
   * Is the node at `url` alive? A refused TCP connection means its process is gone
   * (the port is closed); an accepted one means something listens there — perhaps a
   * stopped process, which only its lease can rule on. Resolves 'dead' | 'listening'
   * | 'unknown' (timeout).
   */
  probe(url: string, timeoutMs = 300): Promise<'dead' | 'listening' | 'unknown'> {
    const parsed = new URL(url);
    return new Promise((resolve) => {
      const socket = connect({ host: parsed.hostname.replace(/^\[|\]$/g, ''), port: Number(parsed.port || (parsed.protocol === 'https:' ? 443 : 80)) });
      const done = (result: 'dead' | 'listening' | 'unknown') => {
        clearTimeout(timer);
        socket.destroy();
        resolve(result);
      };
      const timer = setTimeout(() => done('unknown'), timeoutMs);
      socket.once('connect', () => done('listening'));
      socket.once('error', (error: NodeJS.ErrnoException) => done(error.code === 'ECONNREFUSED' ? 'dead' : 'unknown'));
    });
  }

  close(): void {
    for (const link of this.outbound.values()) link.ws.terminate();
    this.outbound.clear();
    for (const set of this.inbound.values()) for (const ws of set) ws.terminate();
    this.wss.close();
  }

  private parse(data: RawData, isBinary: boolean): Incoming | null {
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    if (isBinary) {
      const frame = decodePeerFrame(bytes);
      if (typeof frame === 'string') {
        this.log.warn('malformed peer frame', { error: frame });
        return null;
      }
      return frame;
    }
    try {
      const parsed = PeerMessage.safeParse(JSON.parse(bytes.toString('utf8')));
      if (parsed.success) return parsed.data;
      this.log.warn('malformed peer message', { error: parsed.error.message.slice(0, 200) });
    } catch {
      this.log.warn('peer message is not JSON');
    }
    return null;
  }
}
