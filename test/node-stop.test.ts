// A node told to stop (SIGTERM: `holdfast node` calls stop()) stops even while a client
// keeps asking it things over a kept-alive connection — a monitor polling /healthz, an
// admin page polling /api/status. Node's server.close() waits for busy connections,
// and one that is asked again as soon as it answers is never idle: the node served on with its
// control plane closed ("control plane closed") and never exited, and a cluster test
// whose status polls went through it failed from there on.
import { Agent, request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { rawSocket, startNode } from '../support/harness.js';

describe('stopping a node', () => {
  it('ends within seconds while a client polls it over a kept-alive connection and another no longer reads', async () => {
    const t = await startNode();
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    let polling = true;
    let answered = 0;
    const poll = async () => {
      while (polling) {
        await new Promise<void>((resolve) => {
          const req = request(`${t.url}/healthz`, { agent }, (res) => {
            res.resume();
            res.on('end', () => ((answered += 1), resolve()));
          });
          req.on('error', () => resolve());
          req.end();
        });
      }
    };
    const polled = poll();
    // And a client that no longer reads (a laptop gone to sleep): it never answers the
    // WebSocket closing handshake.
    const asleep = rawSocket(t.url);
    await asleep.opened;
    (asleep.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    await new Promise((r) => setTimeout(r, 500));
    expect(answered).toBeGreaterThan(0);
    const stopping = t.stop().then(() => 'stopped' as const);
    const outcome = await Promise.race([stopping, new Promise((r) => setTimeout(() => r('still running after 10 s'), 10_000))]);
    polling = false;
    await polled;
    agent.destroy();
    asleep.ws.terminate();
    expect(outcome).toBe('stopped');
  }, 30_000);
});
