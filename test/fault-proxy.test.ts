// FaultProxy against a tiny echo server: each fault does what fault tests rely on.
import net from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FaultProxy } from '../support/fault-proxy.js';

interface Echo {
  port: number;
  accepted: number;
  received: number; // bytes
  open: Set<net.Socket>;
  close(): Promise<void>;
}

async function startEcho(): Promise<Echo> {
  const open = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    echo.accepted += 1;
    open.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => open.delete(socket));
    socket.on('data', (chunk) => {
      echo.received += chunk.length;
      socket.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const echo: Echo = {
    port: (server.address() as net.AddressInfo).port,
    accepted: 0,
    received: 0,
    open,
    close: async () => {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return echo;
}

/** A client socket that records what it got back and whether it saw 'end' or 'close'. */
interface Peer {
  socket: net.Socket;
  got: () => string;
  events: string[];
  closed: Promise<void>;
}

const peers: net.Socket[] = [];

function connect(port: number): Peer {
  const socket = net.connect({ host: '127.0.0.1', port });
  peers.push(socket);
  let got = '';
  const events: string[] = [];
  socket.on('data', (chunk: Buffer) => (got += chunk.toString()));
  socket.on('error', (error: NodeJS.ErrnoException) => events.push(`error:${error.code}`));
  socket.on('end', () => events.push('end'));
  const closed = new Promise<void>((resolve) =>
    socket.on('close', () => {
      events.push('close');
      resolve();
    }),
  );
  return { socket, got: () => got, events, closed };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await sleep(5);
  }
  return true;
}

/** Writes text and waits (up to ms) for the peer's echo buffer to end with it. */
async function roundTrip(peer: Peer, text: string, ms = 2000): Promise<boolean> {
  const before = peer.got();
  peer.socket.write(text);
  return until(() => peer.got() === before + text, ms);
}

const within = <T>(promise: Promise<T>, ms: number) =>
  Promise.race([promise.then(() => true), sleep(ms).then(() => false)]);

let echo: Echo;
let proxy: FaultProxy;
beforeAll(async () => {
  echo = await startEcho();
});
afterAll(() => echo.close());
beforeEach(async () => {
  proxy = await FaultProxy.start({ host: '127.0.0.1', port: echo.port });
});
afterEach(async () => {
  await proxy.stop();
  for (const socket of peers.splice(0)) socket.destroy();
  expect(await until(() => echo.open.size === 0, 2000)).toBe(true); // nothing leaks to the target
});

describe('FaultProxy', () => {
  it('passes bytes through both ways', async () => {
    expect(proxy.url).toBe(`http://127.0.0.1:${proxy.port}`);
    const peer = connect(proxy.port);
    expect(await roundTrip(peer, 'hello')).toBe(true);
    expect(await roundTrip(peer, ' world')).toBe(true);
    expect(proxy.connections).toBe(1);
    expect(proxy.accepted).toBe(1);
    peer.socket.end();
    expect(await within(peer.closed, 2000)).toBe(true);
    expect(await until(() => proxy.connections === 0, 2000)).toBe(true);
  });

  it('drop() closes both sides promptly, and new connections still work', async () => {
    const peer = connect(proxy.port);
    expect(await roundTrip(peer, 'before')).toBe(true);
    proxy.drop();
    expect(await within(peer.closed, 500)).toBe(true);
    expect(await until(() => echo.open.size === 0, 500)).toBe(true);
    expect(proxy.connections).toBe(0);
    const next = connect(proxy.port);
    expect(await roundTrip(next, 'after')).toBe(true);
    expect(proxy.accepted).toBe(2);
  });

  it('blackhole() carries nothing yet closes nothing; lifting it only helps new connections', async () => {
    const old = connect(proxy.port);
    expect(await roundTrip(old, 'alive')).toBe(true);
    const echoAccepted = echo.accepted;
    proxy.blackhole(true);
    expect(await roundTrip(old, 'lost', 500)).toBe(false);
    const during = connect(proxy.port);
    await new Promise((resolve) => during.socket.once('connect', resolve)); // accepted by the proxy...
    expect(await roundTrip(during, 'void', 500)).toBe(false); // ...but connected through to nothing
    expect(echo.accepted).toBe(echoAccepted);
    during.socket.end(); // not even a FIN gets back
    await sleep(100);
    expect(old.events).toEqual([]);
    expect(during.events).toEqual([]);

    proxy.blackhole(false);
    const after = connect(proxy.port);
    expect(await roundTrip(after, 'back')).toBe(true);
    expect(await roundTrip(old, 'still', 300)).toBe(false); // black-holed pairs stay dead, open
    expect(old.events).toEqual([]);
    expect(old.got()).toBe('alive');
  });

  it('refuse() closes new connections without echo, leaving existing ones alone', async () => {
    const existing = connect(proxy.port);
    expect(await roundTrip(existing, 'one')).toBe(true);
    proxy.refuse(true);
    const refused = connect(proxy.port);
    refused.socket.write('nope');
    expect(await within(refused.closed, 1000)).toBe(true);
    expect(refused.got()).toBe('');
    expect(await roundTrip(existing, 'two')).toBe(true);
    proxy.refuse(false);
    expect(await roundTrip(connect(proxy.port), 'three')).toBe(true);
    expect(proxy.accepted).toBe(3);
  });

  it('delay() adds latency each way, keeping order', async () => {
    const peer = connect(proxy.port);
    expect(await roundTrip(peer, 'warm')).toBe(true);
    proxy.delay(100);
    let started = performance.now();
    expect(await roundTrip(peer, 'slow')).toBe(true);
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
    for (const part of ['a', 'b', 'c', 'd']) {
      peer.socket.write(part);
      await sleep(20);
    }
    expect(await until(() => peer.got().endsWith('abcd'), 2000)).toBe(true);
    proxy.delay(0);
    started = performance.now();
    expect(await roundTrip(peer, 'fast')).toBe(true);
    expect(performance.now() - started).toBeLessThan(100);
  });

  it('dropAfterBytes() drops mid-stream after exactly n more client bytes', async () => {
    const peer = connect(proxy.port);
    expect(await roundTrip(peer, 'ignored')).toBe(true);
    const received = echo.received;
    proxy.dropAfterBytes(15);
    expect(await roundTrip(peer, '0123456789')).toBe(true);
    peer.socket.write('abcdefghij');
    expect(await within(peer.closed, 1000)).toBe(true);
    expect(await until(() => echo.received - received === 15, 1000)).toBe(true);
    expect(peer.got()).toBe('ignored0123456789');
    expect(await roundTrip(connect(proxy.port), 'fresh')).toBe(true); // one-shot: new pairs are fine
  });

  it('stop() closes the listener and every connection', async () => {
    const peer = connect(proxy.port);
    expect(await roundTrip(peer, 'x')).toBe(true);
    proxy.delay(1000);
    peer.socket.write('queued'); // a pending delay timer must not outlive stop()
    await proxy.stop();
    expect(await within(peer.closed, 500)).toBe(true);
    expect(proxy.connections).toBe(0);
    const late = connect(proxy.port);
    await late.closed;
    expect(late.events).toContain('error:ECONNREFUSED');
  });
});
