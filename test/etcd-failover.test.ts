// etcd failover: a real three-member etcd cluster loses, to SIGKILL, the member the
// client is using — and the leader, the worst case. Reads, writes, CAS, the watch and
// the lease's keep-alives must carry on through the two survivors, and the lease must
// never stop being valid. Also: with no etcd reachable at all, calls fail fast and say so.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { EtcdControlPlane } from '../broker/control-plane/etcd.js';
import { ControlPlaneUnavailable, type WatchEvent } from '../broker/control-plane/types.js';
import { etcdAvailable, freePort, startEtcd, type EtcdCluster } from '../support/etcd.js';

const Status = z.object({ header: z.object({ member_id: z.string() }), leader: z.string() });

/** Index of the member that is the raft leader, as the members themselves report. */
async function leaderIndex(endpoints: string[]): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    for (let i = 0; i < endpoints.length; i++) {
      try {
        const response = await fetch(`${endpoints[i]}/v3/maintenance/status`, { method: 'POST', body: '{}', signal: AbortSignal.timeout(500) });
        const status = Status.parse(await response.json());
        if (status.leader === status.header.member_id) return i;
      } catch {
        // not answering: ask the next one
      }
    }
    await sleep(100);
  }
  throw new Error('no etcd member says it is the leader');
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

/** Set HOLDFAST_TIMINGS=1 to print how long the failover took. */
const report = (text: string): void => {
  if (process.env.HOLDFAST_TIMINGS) console.log(text);
};

const why = etcdAvailable() ? '' : ' — SKIPPED: /usr/bin/etcd is not installed (apt-get install etcd-server)';

describe.skipIf(!etcdAvailable())(`etcd failover (3 members)${why}`, () => {
  let cluster: EtcdCluster;
  beforeAll(async () => {
    cluster = await startEtcd({ members: 3 });
  }, 20_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it('keeps get, put, CAS, watch and the lease working when the member in use (the leader) is killed', async () => {
    const leader = await leaderIndex(cluster.endpoints);
    // The client starts on its first endpoint: make that the leader.
    const endpoints = [cluster.endpoints[leader]!, ...cluster.endpoints.filter((_, i) => i !== leader)];
    const cp = new EtcdControlPlane({ endpoints });
    let monitor: NodeJS.Timeout | undefined;
    try {
      const lease = await cp.grantLease(2000, 250);
      let lost = false;
      lease.onLost(() => (lost = true));
      let invalidAt: number | undefined;
      monitor = setInterval(() => {
        if (!lease.valid()) invalidAt ??= performance.now();
      }, 10);
      await cp.put('failover/node', 'up', { lease });

      const events: WatchEvent[] = [];
      const arrivals: number[] = [];
      const watch = cp.watch('failover/k', (event) => {
        events.push(event);
        arrivals.push(performance.now());
      });
      await watch.ready;
      const before = await cp.put('failover/k', 'before');
      expect((await cp.get('failover/k'))?.value).toBe('before'); // endpoint 0 is the one in use
      await waitFor(() => events.length === 1, 'the watch to see the first put');

      const killedAt = performance.now();
      await cluster.kill(leader);

      // The first write after the kill: it may meet the election, so allow a few tries.
      let after: number | undefined;
      for (let attempt = 0; attempt < 20 && after === undefined; attempt++) {
        try {
          after = await cp.put('failover/k', 'after');
        } catch (error) {
          expect(error).toBeInstanceOf(ControlPlaneUnavailable);
          await sleep(100);
        }
      }
      const writeRecoveredMs = performance.now() - killedAt;
      expect(after).toBeGreaterThan(before);
      expect((await cp.get('failover/k'))?.value).toBe('after');
      const swapped = await cp.compareAndSwap('failover/k', after!, 'swapped');
      expect(swapped).not.toBeNull();
      expect(await cp.compareAndSwap('failover/k', after!, 'stale')).toBeNull();
      expect(await cp.compareAndDelete('failover/k', swapped!)).toBe(true);

      await waitFor(() => events.length === 4, 'the watch to see every change after the kill');
      const watchRecoveredMs = arrivals[1]! - killedAt;
      expect(events.map((e) => (e.type === 'put' ? e.value : 'deleted'))).toEqual(['before', 'after', 'swapped', 'deleted']);
      expect(events.map((e) => e.revision)).toEqual([before, after, swapped, expect.any(Number)]);
      expect(events[3]!.revision).toBeGreaterThan(swapped!);

      // Outlive the lease's TTL twice over on the survivors: keep-alives must have moved on.
      await sleep(2 * lease.ttlMs);
      expect(lease.valid()).toBe(true);
      expect(lost).toBe(false);
      expect(invalidAt).toBeUndefined();
      expect((await cp.get('failover/node'))?.value).toBe('up');
      report(`etcd failover: first write after kill ${writeRecoveredMs.toFixed(0)} ms, watch event ${watchRecoveredMs.toFixed(0)} ms after kill`);
      await lease.revoke();
      expect(await cp.get('failover/node')).toBeNull();
    } finally {
      clearInterval(monitor);
      await cp.close();
    }
  });
});

describe('etcd unreachable', () => {
  it('throws ControlPlaneUnavailable naming every endpoint, within the request timeouts', async () => {
    // Loopback ports nothing listens on: connections are refused at once.
    const endpoints = [`http://127.0.0.1:${await freePort()}`, `http://127.0.0.1:${await freePort()}`];
    const cp = new EtcdControlPlane({ endpoints, requestTimeoutMs: 300 });
    const started = performance.now();
    const failure = await cp.get('anything').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ControlPlaneUnavailable);
    for (const endpoint of endpoints) expect((failure as Error).message).toContain(endpoint);
    expect(performance.now() - started).toBeLessThan(2 * 300 + 500);
    await cp.close();
  });
});
