// Peer links over real sockets: a link opened to a node that stops answering (its
// sender hung) is reported silent within the silence period; a healthy one never is.
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../log.js';
import { encodeAppend } from './peer-protocol.js';
import { PeerHub, type PeerHandlers } from './peers.js';

const KEY = new Uint8Array(32).fill(7);
const SILENCE_MS = 300;
const opened: Array<{ hub: PeerHub; server?: Server; sockets?: Set<Socket> }> = [];

function handlers(events: string[], frames: unknown[] = []): PeerHandlers {
  return {
    inbound: (from, message) => {
      events.push(`inbound ${from}`);
      frames.push(message);
    },
    outbound: () => {},
    inboundClosed: (from) => events.push(`closed ${from}`),
    inboundSilent: (from) => events.push(`silent ${from}`),
    outboundClosed: () => {},
  };
}

/** Node `name` listening on loopback; what its handlers saw goes into `events`. */
async function listening(name: string, events: string[], frames: unknown[] = [], wire: Buffer[] = []): Promise<{ hub: PeerHub; url: string }> {
  const hub = new PeerHub(name, KEY, silentLogger, undefined, () => handlers(events, frames), SILENCE_MS);
  const server = createServer();
  // Upgraded sockets are destroyed with the server (server.close waits for them).
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('data', (data: Buffer) => wire.push(Buffer.from(data)));
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('upgrade', (request, socket, head) => hub.accept(request, socket, head));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  opened.push({ hub, server, sockets });
  return { hub, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

afterEach(async () => {
  for (const { hub, server, sockets } of opened.splice(0)) {
    hub.close();
    sockets?.forEach((socket) => socket.destroy());
    if (server) await new Promise((resolve) => server.close(resolve));
  }
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('peer links', () => {
  it('carries a log entry whole, its bytes unmasked on the wire (node to node, no XOR of every byte)', async () => {
    const frames: unknown[] = [];
    const wire: Buffer[] = [];
    const standby = await listening('node-2', [], frames, wire);
    const primary = new PeerHub('node-1', KEY, silentLogger, undefined, () => handlers([]));
    opened.push({ hub: primary });
    const bytes = Buffer.alloc(200_000);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919) % 251;
    primary.send('node-2', standby.url, encodeAppend('s-1', 3, [{ index: 1, seq: 1, data: bytes, cols: 0, rows: 0 }]));
    const t0 = performance.now();
    while (frames.length === 0 && performance.now() - t0 < 5000) await sleep(10);
    const [frame] = frames as Array<{ type: string; entries: Array<{ data: Uint8Array }> }>;
    expect(frame?.type).toBe('append');
    expect(Buffer.from(frame!.entries[0]!.data).equals(bytes)).toBe(true);
    // The payload is on the wire as written: a masked frame would XOR it with a random key.
    expect(Buffer.concat(wire).includes(bytes.subarray(0, 4096))).toBe(true);
  });

  it('reports a link whose sender stopped reading (no pong) as silent, and a healthy one never', async () => {
    const events: string[] = [];
    const standby = await listening('node-2', events);
    const primary = new PeerHub('node-1', KEY, silentLogger, undefined, () => handlers([]));
    opened.push({ hub: primary });
    primary.send('node-2', standby.url, { type: 'log.request', sessionId: 's', epoch: 1, from: 1, request: 0 });
    await sleep(SILENCE_MS * 4);
    // Pings answered for four periods: not silent.
    expect(events).toEqual(['inbound node-1']);
    // The primary's process stops reading its socket, as a stopped process does: no pongs.
    const link = (primary as unknown as { outbound: Map<string, { ws: { _socket: { pause(): void } } }> }).outbound.get('node-2')!;
    link.ws._socket.pause();
    const stoppedAt = performance.now();
    while (!events.includes('silent node-1') && performance.now() - stoppedAt < 5000) await sleep(20);
    const tookMs = performance.now() - stoppedAt;
    expect(events).toContain('silent node-1');
    // Silence counts from the last pong (up to a ping's interval before the pause), within
    // a check's worth of slack; and it is reported once.
    expect(tookMs).toBeGreaterThanOrEqual(SILENCE_MS * 0.5);
    expect(tookMs).toBeLessThan(SILENCE_MS * 3);
    await sleep(SILENCE_MS * 2);
    expect(events.filter((e) => e === 'silent node-1')).toHaveLength(1);
  });
});
