// FaultProxy: a TCP proxy on 127.0.0.1 in front of one target (a broker node), for fault
// tests that put it between a WebSocket client and the node. It injects network faults on
// demand: abrupt drops, black holes, refused connections, latency and drops mid-stream.
import net from 'node:net';

type Item = Buffer | 'end' | 'close';

/** One direction of a pair: bytes (and FIN/close) from src are written to dst, in order. */
interface Lane {
  src: net.Socket;
  dst: net.Socket;
  queue: { item: Item; due: number }[];
  timer: NodeJS.Timeout | null;
}

interface Pair {
  client: net.Socket;
  server: net.Socket | null; // null: accepted during a black hole, never connected through
  dead: boolean; // black-holed or dropped: nothing is forwarded any more, not even FIN or RST
  lanes: Lane[]; // [client → server, server → client]; empty when server is null
}

export class FaultProxy {
  private readonly server: net.Server;
  private readonly pairs = new Set<Pair>();
  private listenPort = 0;
  private holing = false;
  private refusing = false;
  private latency = 0;
  private budget: number | null = null; // client → server bytes left before a scheduled drop; 0: drop pending
  private acceptedCount = 0;

  private constructor(private readonly target: { host: string; port: number }) {
    this.server = net.createServer({ allowHalfOpen: true }, (socket) => this.accept(socket));
  }

  static async start(target: { host: string; port: number }): Promise<FaultProxy> {
    const proxy = new FaultProxy(target);
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

  /** Live connection pairs (including black-holed ones whose sockets are still open). */
  get connections(): number {
    return this.pairs.size;
  }

  /** Every TCP connection the proxy ever accepted, including refused and black-holed ones. */
  get accepted(): number {
    return this.acceptedCount;
  }

  /** Abruptly ends every current pair: the client gets a reset, the server a close. */
  drop(): void {
    for (const pair of this.pairs) {
      this.kill(pair);
      if (!pair.client.destroyed) pair.client.resetAndDestroy();
      pair.server?.destroy();
    }
    this.pairs.clear();
  }

  /**
   * While on, every pair carries nothing in either direction (no data, FIN or RST), and new
   * connections are accepted but never connected through. Turning it off only affects NEW
   * connections: pairs that were black-holed stay silent forever, since bytes were lost
   * mid-stream and resuming would corrupt it; like a real dead path, it is up to the peers'
   * heartbeats to notice and close them (or drop()/stop()).
   */
  blackhole(on: boolean): void {
    this.holing = on;
    if (on) for (const pair of this.pairs) this.kill(pair);
  }

  /** While on, new connections are reset as soon as they are accepted; existing ones carry on. */
  refuse(on: boolean): void {
    this.refusing = on;
  }

  /** Adds this latency to every chunk in both directions, keeping order; 0 removes it. */
  delay(ms: number): void {
    this.latency = Math.max(0, ms);
  }

  /** Drops every pair (as drop()) once n more bytes have passed client → server. */
  dropAfterBytes(n: number): void {
    this.budget = n > 0 ? n : null;
    if (n <= 0) this.drop();
  }

  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.budget = null;
    this.drop();
    await closed;
  }

  private accept(client: net.Socket): void {
    this.acceptedCount += 1;
    client.on('error', () => {});
    if (this.refusing) {
      client.resetAndDestroy();
      return;
    }
    const pair: Pair = { client, server: null, dead: this.holing, lanes: [] };
    this.pairs.add(pair);
    const forget = () => {
      if (pair.client.destroyed && (pair.server?.destroyed ?? true)) this.pairs.delete(pair);
    };
    client.on('close', forget);
    if (pair.dead) return void client.on('data', () => {}); // read and discard: looks alive, carries nothing
    const server = net.connect({ host: this.target.host, port: this.target.port, allowHalfOpen: true });
    pair.server = server;
    server.on('error', () => {});
    server.on('close', forget);
    pair.lanes = [this.wire(pair, client, server), this.wire(pair, server, client)];
  }

  private wire(pair: Pair, src: net.Socket, dst: net.Socket): Lane {
    const lane: Lane = { src, dst, queue: [], timer: null };
    src.on('data', (chunk: Buffer) => this.push(pair, lane, chunk));
    src.on('end', () => this.push(pair, lane, 'end'));
    src.on('close', () => this.push(pair, lane, 'close'));
    return lane;
  }

  private push(pair: Pair, lane: Lane, item: Item): void {
    if (pair.dead) return; // discarded, buffered nowhere
    lane.queue.push({ item, due: Date.now() + this.latency });
    this.pump(pair, lane);
  }

  /** Delivers queued items in order, each no earlier than its due time. */
  private pump(pair: Pair, lane: Lane): void {
    while (!lane.timer && !pair.dead && lane.queue.length > 0) {
      const head = lane.queue[0]!;
      const wait = head.due - Date.now();
      if (wait > 0) {
        lane.timer = setTimeout(() => {
          lane.timer = null;
          this.pump(pair, lane);
        }, wait);
        return;
      }
      lane.queue.shift();
      this.deliver(pair, lane, head.item);
    }
  }

  private deliver(pair: Pair, lane: Lane, item: Item): void {
    const { src, dst } = lane;
    if (dst.destroyed) return;
    if (item === 'end') dst.end();
    else if (item === 'close') dst.end(() => dst.destroy());
    else {
      let chunk = item;
      if (lane === pair.lanes[0] && this.budget !== null) {
        if (this.budget === 0) return; // a drop is pending: nothing more gets through
        if (chunk.length >= this.budget) {
          chunk = chunk.subarray(0, this.budget);
          this.budget = 0;
          dst.write(chunk, () => {
            this.budget = null;
            this.drop();
          });
          return;
        }
        this.budget -= chunk.length;
      }
      if (!dst.write(chunk)) {
        src.pause();
        dst.once('drain', () => src.resume());
      }
    }
  }

  /** Stops forwarding on a pair for good: queued items are discarded, timers cleared. */
  private kill(pair: Pair): void {
    pair.dead = true;
    for (const lane of pair.lanes) {
      if (lane.timer) clearTimeout(lane.timer);
      lane.timer = null;
      lane.queue.length = 0;
      lane.src.resume(); // keep reading (and discarding) even if paused for backpressure
    }
  }
}
