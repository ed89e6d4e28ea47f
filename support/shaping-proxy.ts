// ShapingProxy: a TCP proxy on 127.0.0.1 in front of one target (a broker node, or a
// baseline server), that makes loopback behave like the links people have: a bandwidth
// cap, a round trip, and jitter, in each direction. Bytes keep their order (jitter moves
// a chunk later, never ahead of the one before), and a lane that holds more than its
// queue stops reading its source, so TCP's own backpressure reaches the sender as on a
// real bottleneck — not an unbounded buffer that would hide congestion.
import net from 'node:net';

export interface LinkProfile {
  name: string;
  /** Bottleneck bandwidth, each direction, bits per second. */
  bitsPerSecond: number;
  /** Round trip added, ms (half each way). */
  rttMs: number;
  /** Up to this much more, ms, at random, each way (order kept). */
  jitterMs: number;
}

/** The links of issue 26: a LAN, home broadband, a VPN, a phone's connection. */
export const LINK_PROFILES = {
  lan: { name: 'lan', bitsPerSecond: 1e9, rttMs: 1, jitterMs: 0 },
  broadband: { name: 'broadband', bitsPerSecond: 20e6, rttMs: 30, jitterMs: 0 },
  vpn: { name: 'vpn', bitsPerSecond: 8e6, rttMs: 60, jitterMs: 5 },
  mobile: { name: 'mobile', bitsPerSecond: 2e6, rttMs: 120, jitterMs: 20 },
} as const satisfies Record<string, LinkProfile>;
export type LinkName = keyof typeof LINK_PROFILES;

/** What a lane holds before it stops reading its source: about what a bottleneck router queues. */
const QUEUE_BYTES = 256 * 1024;

interface Lane {
  src: net.Socket;
  dst: net.Socket;
  queue: Array<{ data: Buffer; due: number }>;
  queued: number;
  /** When the bottleneck is free to send the next byte (ms, performance.now()). */
  freeAt: number;
  /** The due time of the last chunk queued: the next is never earlier (order kept). */
  lastDue: number;
  timer: NodeJS.Timeout | null;
  ended: boolean;
}

export class ShapingProxy {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private listenPort = 0;

  private constructor(
    private readonly target: { host: string; port: number },
    private profile: LinkProfile,
    private readonly random: () => number,
  ) {
    this.server = net.createServer({ allowHalfOpen: true }, (socket) => this.accept(socket));
  }

  static async start(target: { host: string; port: number }, profile: LinkProfile, random: () => number = Math.random): Promise<ShapingProxy> {
    const proxy = new ShapingProxy(target, profile, random);
    await new Promise<void>((resolve, reject) => proxy.server.once('error', reject).listen(0, '127.0.0.1', resolve));
    proxy.listenPort = (proxy.server.address() as net.AddressInfo).port;
    return proxy;
  }

  get port(): number {
    return this.listenPort;
  }

  get url(): string {
    return `http://127.0.0.1:${this.listenPort}`;
  }

  /** Changes the link for what is sent from now on (a person walking out of Wi-Fi range). */
  set link(profile: LinkProfile) {
    this.profile = profile;
  }

  get link(): LinkProfile {
    return this.profile;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    const server = net.connect({ ...this.target, allowHalfOpen: true });
    for (const socket of [client, server]) {
      socket.setNoDelay(true);
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        server.destroy();
      });
    }
    this.lane(client, server);
    this.lane(server, client);
  }

  private lane(src: net.Socket, dst: net.Socket): void {
    const lane: Lane = { src, dst, queue: [], queued: 0, freeAt: 0, lastDue: 0, timer: null, ended: false };
    src.on('data', (data: Buffer) => {
      const now = performance.now();
      const { bitsPerSecond, rttMs, jitterMs } = this.profile;
      // Serialised through the bottleneck, then carried for half the round trip, plus jitter.
      lane.freeAt = Math.max(lane.freeAt, now) + (data.length * 8 * 1000) / bitsPerSecond;
      const due = Math.max(lane.lastDue, lane.freeAt + rttMs / 2 + this.random() * jitterMs);
      lane.lastDue = due;
      lane.queue.push({ data, due });
      lane.queued += data.length;
      if (lane.queued > QUEUE_BYTES) src.pause();
      this.schedule(lane);
    });
    src.on('end', () => {
      lane.ended = true;
      this.schedule(lane);
    });
  }

  private schedule(lane: Lane): void {
    if (lane.timer) return;
    const next = lane.queue[0];
    if (!next) {
      if (lane.ended && !lane.dst.destroyed) lane.dst.end();
      return;
    }
    lane.timer = setTimeout(() => {
      lane.timer = null;
      const now = performance.now();
      while (lane.queue.length > 0 && lane.queue[0]!.due <= now + 0.5) {
        const { data } = lane.queue.shift()!;
        lane.queued -= data.length;
        if (!lane.dst.destroyed) lane.dst.write(data);
      }
      if (lane.queued <= QUEUE_BYTES / 2 && lane.src.isPaused()) lane.src.resume();
      this.schedule(lane);
    }, Math.max(0, next.due - performance.now()));
  }
}
