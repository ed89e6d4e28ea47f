// One conformance suite for both control planes: the in-process one and etcd (a real
// one-member etcd from Debian's package). A driver per implementation knows how to make
// a lease lapse and how to compact history, the two things the contract cannot ask for.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { etcdAvailable, startEtcd, type EtcdCluster } from '../../support/etcd.js';
import { EtcdControlPlane } from './etcd.js';
import { MemoryControlPlane } from './memory.js';
import type { ControlPlane, Lease, WatchEvent } from './types.js';

interface Driver {
  setup(): Promise<void>;
  teardown(): Promise<void>;
  /** A client; two clients created in one test share the same store. */
  create(): ControlPlane;
  /** After each test (and after its clients were closed). */
  reset(): void;
  /** Stops keeping `lease` alive so that it lapses (at once, or after its TTL). */
  lapse(plane: ControlPlane, lease: Lease): void;
  /** Discards the change history before `revision`. */
  compact(plane: ControlPlane, revision: number): Promise<void>;
}

function memoryDriver(): Driver {
  let shared: MemoryControlPlane | undefined;
  return {
    setup: async () => {},
    teardown: async () => {},
    // One store per test: "two clients" of the in-process plane are the same object.
    create: () => (shared ??= new MemoryControlPlane()),
    reset: () => (shared = undefined),
    lapse: (plane, lease) => (plane as MemoryControlPlane).expireLease(lease),
    compact: async (plane, revision) => (plane as MemoryControlPlane).compact(revision),
  };
}

function etcdDriver(): Driver {
  let cluster: EtcdCluster | undefined;
  const endpoints = (): string[] => {
    if (!cluster) throw new Error('etcd not started');
    return cluster.endpoints;
  };
  return {
    setup: async () => {
      cluster = await startEtcd({ members: 1 });
    },
    teardown: async () => {
      await cluster?.stop();
    },
    create: () => new EtcdControlPlane({ endpoints: endpoints() }),
    reset: () => {},
    lapse: (plane, lease) => (plane as EtcdControlPlane).suspendKeepAlive(lease),
    compact: async (_plane, revision) => {
      const response = await fetch(`${endpoints()[0]}/v3/kv/compaction`, {
        method: 'POST',
        body: JSON.stringify({ revision: String(revision), physical: true }),
      });
      expect(response.status).toBe(200);
    },
  };
}

async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

let namespaceCounter = 0;
/** A fresh key prefix per test, so tests sharing one store do not see each other. */
const namespace = (): string => `conf-${process.pid}-${++namespaceCounter}/`;

const implementations: Array<{ name: string; driver: () => Driver; skip: boolean }> = [
  { name: 'memory', driver: memoryDriver, skip: false },
  {
    name: etcdAvailable() ? 'etcd (real 1-member etcd)' : 'etcd — SKIPPED: /usr/bin/etcd is not installed (apt-get install etcd-server)',
    driver: etcdDriver,
    skip: !etcdAvailable(),
  },
];

for (const { name, driver: makeDriver, skip } of implementations) describe(`control plane: ${name}`, () => {
  if (skip) {
    it.skip('needs etcd', () => {});
    return;
  }
  const driver = makeDriver();
  const planes: ControlPlane[] = [];
  const open = (): ControlPlane => {
    const plane = driver.create();
    planes.push(plane);
    return plane;
  };

  beforeAll(() => driver.setup(), 20_000);
  afterAll(() => driver.teardown());
  afterEach(async () => {
    await Promise.all(planes.splice(0).map((plane) => plane.close()));
    driver.reset();
  });

  describe('keys', () => {
    it('puts, gets and lists by prefix in key order, respecting prefix boundaries', async () => {
      const cp = open();
      const ns = namespace();
      expect(await cp.get(`${ns}a/missing`)).toBeNull();
      const r1 = await cp.put(`${ns}a/2`, 'two');
      const r2 = await cp.put(`${ns}a/1`, 'one');
      const r3 = await cp.put(`${ns}ab`, 'outside');
      const r4 = await cp.put(`${ns}a/3`, 'thrée ✓');
      expect(r2).toBeGreaterThan(r1);
      expect(r3).toBeGreaterThan(r2);
      expect(r4).toBeGreaterThan(r3);
      expect(await cp.get(`${ns}a/1`)).toEqual({ key: `${ns}a/1`, value: 'one', revision: r2 });
      expect(await cp.list(`${ns}a/`)).toEqual([
        { key: `${ns}a/1`, value: 'one', revision: r2 },
        { key: `${ns}a/2`, value: 'two', revision: r1 },
        { key: `${ns}a/3`, value: 'thrée ✓', revision: r4 },
      ]);
      expect((await cp.list(`${ns}a`)).map((kv) => kv.key)).toEqual([`${ns}a/1`, `${ns}a/2`, `${ns}a/3`, `${ns}ab`]);
      expect(await cp.list(`${ns}zzz/`)).toEqual([]);
      await cp.put(`${ns}empty`, '');
      expect((await cp.get(`${ns}empty`))?.value).toBe('');
    });

    it('bumps the revision on every put and delete, and a key carries its last modification', async () => {
      const cp = open();
      const ns = namespace();
      const revisions: number[] = [];
      for (let i = 0; i < 5; i++) revisions.push(await cp.put(`${ns}k`, `v${i}`));
      for (let i = 1; i < revisions.length; i++) expect(revisions[i]).toBeGreaterThan(revisions[i - 1]!);
      expect((await cp.get(`${ns}k`))?.revision).toBe(revisions[4]);
      await cp.delete(`${ns}k`);
      expect(await cp.get(`${ns}k`)).toBeNull();
      const after = await cp.put(`${ns}other`, 'x');
      expect(after).toBeGreaterThan(revisions[4]! + 1); // the delete took a revision of its own
      await cp.delete(`${ns}never-existed`); // deleting nothing is fine
    });
  });

  describe('compare-and-swap', () => {
    it('swaps only on the current revision; revision 0 creates only if absent', async () => {
      const cp = open();
      const ns = namespace();
      const created = await cp.compareAndSwap(`${ns}k`, 0, 'first');
      expect(created).not.toBeNull();
      expect(await cp.compareAndSwap(`${ns}k`, 0, 'again')).toBeNull();
      expect(await cp.compareAndSwap(`${ns}k`, created! + 1000, 'wrong')).toBeNull();
      const swapped = await cp.compareAndSwap(`${ns}k`, created!, 'second');
      expect(swapped).toBeGreaterThan(created!);
      expect(await cp.get(`${ns}k`)).toEqual({ key: `${ns}k`, value: 'second', revision: swapped });
      expect(await cp.compareAndSwap(`${ns}k`, created!, 'stale')).toBeNull();
      expect((await cp.get(`${ns}k`))?.value).toBe('second');
    });

    it('lets exactly one of two concurrent swaps on the same revision win (20 races)', async () => {
      const a = open();
      const b = open();
      const ns = namespace();
      for (let race = 0; race < 20; race++) {
        const key = `${ns}race-${race}`;
        const base = race % 2 === 0 ? await a.put(key, 'base') : 0; // odd races: create-if-absent
        const results = await Promise.all([a.compareAndSwap(key, base, 'a'), b.compareAndSwap(key, base, 'b')]);
        const winners = results.filter((r) => r !== null);
        expect(winners, `race ${race}`).toHaveLength(1);
        const value = (await a.get(key))?.value;
        expect(value).toBe(results[0] !== null ? 'a' : 'b');
      }
    });

    it('deletes only on the current revision', async () => {
      const cp = open();
      const ns = namespace();
      const r1 = await cp.put(`${ns}k`, 'v1');
      const r2 = await cp.put(`${ns}k`, 'v2');
      expect(await cp.compareAndDelete(`${ns}k`, r1)).toBe(false);
      expect((await cp.get(`${ns}k`))?.value).toBe('v2');
      expect(await cp.compareAndDelete(`${ns}k`, r2)).toBe(true);
      expect(await cp.get(`${ns}k`)).toBeNull();
      expect(await cp.compareAndDelete(`${ns}k`, r2)).toBe(false);
    });
  });

  describe('leases', () => {
    it('keeps attached keys while valid and deletes them on revoke', async () => {
      const cp = open();
      const ns = namespace();
      const lease = await cp.grantLease(1000, 200);
      expect(lease.ttlMs).toBeGreaterThanOrEqual(1000);
      expect(lease.valid()).toBe(true);
      let lost = 0;
      lease.onLost(() => lost++);
      await cp.put(`${ns}node`, 'up', { lease });
      expect(await cp.compareAndSwap(`${ns}claim`, 0, 'mine', { lease })).not.toBeNull();
      await cp.put(`${ns}unleased`, 'stays');
      // Alive for longer than its TTL: kept alive (etcd) or implicitly alive (memory).
      await new Promise((resolve) => setTimeout(resolve, lease.ttlMs + 300));
      expect(lease.valid()).toBe(true);
      expect((await cp.get(`${ns}node`))?.value).toBe('up');
      await lease.revoke();
      expect(lease.valid()).toBe(false);
      expect(await cp.list(ns)).toEqual([expect.objectContaining({ key: `${ns}unleased` })]);
      await expect(cp.put(`${ns}late`, 'x', { lease })).rejects.toThrow(/lease/);
      expect(lost).toBe(0); // revoking is letting go, not losing
    });

    it('deletes attached keys when the lease lapses, turns invalid and fires onLost once', async () => {
      const cp = open();
      const ns = namespace();
      const lease = await cp.grantLease(1000, 200);
      let lost = 0;
      lease.onLost(() => lost++);
      await cp.put(`${ns}a`, '1', { lease });
      await cp.put(`${ns}b`, '2', { lease });
      driver.lapse(cp, lease);
      await waitFor(() => !lease.valid(), 'the lease to turn invalid');
      await waitFor(() => lost === 1, 'onLost');
      await waitFor(async () => (await cp.list(ns)).length === 0, 'the leased keys to go');
      let lateListener = 0;
      lease.onLost(() => lateListener++);
      await waitFor(() => lateListener === 1, 'a listener added after the loss to be called');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(lost).toBe(1);
      expect(lease.valid()).toBe(false);
    });
  });

  describe('watch', () => {
    it('sees puts and deletes under the prefix, in order, and nothing outside it', async () => {
      const cp = open();
      const writer = open();
      const ns = namespace();
      const events: WatchEvent[] = [];
      const watch = cp.watch(`${ns}a/`, (event) => events.push(event));
      await watch.ready;
      const r1 = await writer.put(`${ns}a/1`, 'one');
      await writer.put(`${ns}ab`, 'outside');
      await writer.put(`${ns}b/1`, 'outside');
      const r2 = await writer.put(`${ns}a/2`, 'two');
      await writer.delete(`${ns}a/1`);
      const r4 = await writer.put(`${ns}a/2`, 'two again');
      await waitFor(() => events.length >= 4, 'four events');
      expect(events[0]).toEqual({ type: 'put', key: `${ns}a/1`, value: 'one', revision: r1 });
      expect(events[1]).toEqual({ type: 'put', key: `${ns}a/2`, value: 'two', revision: r2 });
      expect(events[2]).toMatchObject({ type: 'delete', key: `${ns}a/1` });
      expect(events[3]).toEqual({ type: 'put', key: `${ns}a/2`, value: 'two again', revision: r4 });
      expect(events[2]!.revision).toBeGreaterThan(r2);
      expect(events[2]!.revision).toBeLessThan(r4);
      watch.close();
      await writer.put(`${ns}a/3`, 'after close');
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(events).toHaveLength(4);
    });

    it('delivers asynchronously, not inside the write', async () => {
      const cp = open();
      const ns = namespace();
      const events: WatchEvent[] = [];
      const watch = cp.watch(ns, (event) => events.push(event));
      await watch.ready;
      const write = cp.put(`${ns}k`, 'v');
      expect(events).toHaveLength(0);
      await write;
      await waitFor(() => events.length === 1, 'the event');
    });

    it('replays from a given revision (inclusive), then carries on live', async () => {
      const cp = open();
      const ns = namespace();
      await cp.put(`${ns}k1`, 'one');
      const r2 = await cp.put(`${ns}k2`, 'two');
      const r3 = await cp.put(`${ns}k3`, 'three');
      const events: WatchEvent[] = [];
      const watch = cp.watch(ns, (event) => events.push(event), { fromRevision: r2 });
      await watch.ready;
      const r4 = await cp.put(`${ns}k4`, 'four');
      await waitFor(() => events.length >= 3, 'three events');
      expect(events.map((e) => [e.key, e.revision])).toEqual([
        [`${ns}k2`, r2],
        [`${ns}k3`, r3],
        [`${ns}k4`, r4],
      ]);
    });

    it('reports the keys of a lapsed or revoked lease as deleted', async () => {
      const cp = open();
      const ns = namespace();
      const events: WatchEvent[] = [];
      const watch = cp.watch(ns, (event) => events.push(event));
      await watch.ready;
      const lease = await cp.grantLease(1000, 200);
      await cp.put(`${ns}x`, '1', { lease });
      await cp.put(`${ns}y`, '2', { lease });
      await lease.revoke();
      await waitFor(() => events.length >= 4, 'two puts and two deletes');
      const deletes = events.slice(2);
      expect(deletes.map((e) => e.type)).toEqual(['delete', 'delete']);
      expect(deletes.map((e) => e.key).sort()).toEqual([`${ns}x`, `${ns}y`]);
      expect(deletes[0]!.revision).toBe(deletes[1]!.revision); // one revision for the lease's keys, as etcd does
    });

    it('after compaction, resyncs: current values of keys changed since, then live', async () => {
      const cp = open();
      const ns = namespace();
      const r1 = await cp.put(`${ns}k1`, 'old');
      await cp.put(`${ns}k2`, 'gone soon');
      const r3 = await cp.put(`${ns}k1`, 'new');
      await cp.delete(`${ns}k2`);
      const r5 = await cp.put(`${ns}other-prefix-is-same-ns`, 'x');
      await driver.compact(cp, r5);
      const events: WatchEvent[] = [];
      const watch = cp.watch(ns, (event) => events.push(event), { fromRevision: r1 });
      await watch.ready;
      await waitFor(() => events.length >= 2, 'the resync');
      expect(events.slice(0, 2)).toEqual([
        { type: 'put', key: `${ns}k1`, value: 'new', revision: r3 },
        { type: 'put', key: `${ns}other-prefix-is-same-ns`, value: 'x', revision: r5 },
      ]);
      const r6 = await cp.put(`${ns}k3`, 'live');
      await waitFor(() => events.length >= 3, 'the live event');
      expect(events[2]).toEqual({ type: 'put', key: `${ns}k3`, value: 'live', revision: r6 });
      expect(events).toHaveLength(3);
    });
  });
});
