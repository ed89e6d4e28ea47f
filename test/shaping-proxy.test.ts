// The shaping proxy against a real echo server on loopback: the round trip it adds, the
// bandwidth it allows, and bytes in order through jitter.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LINK_PROFILES, ShapingProxy } from '../support/shaping-proxy.js';

let echo: net.Server;
let port: number;
beforeAll(async () => {
  echo = net.createServer((socket) => socket.pipe(socket));
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  port = (echo.address() as net.AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => echo.close(() => resolve())));

async function connect(proxy: ShapingProxy): Promise<net.Socket> {
  const socket = net.connect({ host: '127.0.0.1', port: proxy.port });
  socket.setNoDelay(true);
  await new Promise((resolve) => socket.once('connect', resolve));
  return socket;
}

describe('ShapingProxy', () => {
  it('adds its round trip to each echo', async () => {
    const proxy = await ShapingProxy.start({ host: '127.0.0.1', port }, LINK_PROFILES.broadband);
    const socket = await connect(proxy);
    const rtts: number[] = [];
    for (let i = 0; i < 5; i++) {
      const start = performance.now();
      socket.write('x');
      await new Promise((resolve) => socket.once('data', resolve));
      rtts.push(performance.now() - start);
    }
    // Two lanes each way (client → proxy → echo → proxy → client): 30 ms in all, at least.
    expect(Math.min(...rtts)).toBeGreaterThanOrEqual(29);
    expect(Math.max(...rtts)).toBeLessThan(60);
    socket.destroy();
    await proxy.stop();
  });

  it('carries no more than its bandwidth, in order through jitter', async () => {
    const proxy = await ShapingProxy.start({ host: '127.0.0.1', port }, { name: 'slow', bitsPerSecond: 8e6, rttMs: 10, jitterMs: 20 });
    const socket = await connect(proxy);
    const sent = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < sent.length; i++) sent[i] = (i * 7) & 0xff;
    const start = performance.now();
    const got: Buffer[] = [];
    let size = 0;
    const done = new Promise<void>((resolve) =>
      socket.on('data', (chunk: Buffer) => {
        got.push(chunk);
        size += chunk.length;
        if (size >= sent.length) resolve();
      }),
    );
    socket.write(sent);
    await done;
    const seconds = (performance.now() - start) / 1000;
    // 1 MiB at 8 Mbit/s is about 1.05 s one way (the echo's way back overlaps it).
    expect(seconds).toBeGreaterThan(1.0);
    expect(seconds).toBeLessThan(3);
    expect(Buffer.concat(got).equals(sent)).toBe(true);
    socket.destroy();
    await proxy.stop();
  }, 20_000);
});
