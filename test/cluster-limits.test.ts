// Guessing passwords on several nodes of a cluster gains nothing: failures count
// cluster-wide (through etcd), so the fifth wrong password locks the name at that
// address on every node, while the same person signs in from another address.
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ErrorCode } from '../shared/protocol/index.js';
import { HoldfastClient, type SocketLike } from '../shared/core/index.js';
import type { TestCluster } from '../support/cluster-harness.js';
import { clusterPerFile } from './cluster-per-file.js';

let c: TestCluster;
clusterPerFile({ nodes: 2, tag: 'limits' }, (started) => (c = started));

/** A client whose connections come from `address` (any 127.x.y.z is this machine). */
const from = (url: string, address: string) =>
  new HoldfastClient({
    brokerUrl: url,
    connectTimeoutMs: 5000,
    socketFactory: (socketUrl, protocols) => new WebSocket(socketUrl, protocols, { localAddress: address }) as unknown as SocketLike,
  });

const attempt = (url: string, password: string, address = '127.0.0.1') =>
  from(url, address)
    .signIn('ann', password)
    .then(
      () => ({ ok: true, code: '', message: '' }),
      (error: { code: string; message: string }) => ({ ok: false, code: error.code, message: error.message }),
    );

/** Lets one node's count reach the other (a control-plane write and a watch event). */
const settle = () => new Promise((r) => setTimeout(r, 500));

describe('sign-in limits in a cluster', () => {
  it('counts wrong passwords on every node together: slowed, then locked at that address everywhere', async () => {
    const [one, two] = [c.nodes[0]!.url, c.nodes[1]!.url];
    // Three free failures, spread over both nodes.
    for (const url of [one, two, one]) {
      expect(await attempt(url, 'guess')).toMatchObject({ ok: false, code: ErrorCode.signInFailed });
      await settle();
    }
    // The fourth, on node-2, earns a wait of a second — that node-1 imposes too.
    expect(await attempt(two, 'guess')).toMatchObject({ ok: false, code: ErrorCode.signInFailed });
    await settle();
    expect(await attempt(one, 'guess')).toMatchObject({ ok: false, code: ErrorCode.rateLimited, message: expect.stringMatching(/^Too many failed sign-ins\. Try again in 1 s\./) });
    await new Promise((r) => setTimeout(r, 1000));
    // The fifth, on node-1: locked, and node-2 refuses even the right password from there.
    expect(await attempt(one, 'guess')).toMatchObject({ ok: false, code: ErrorCode.signInFailed, message: expect.stringMatching(/locked here until \d\d:\d\d UTC/) });
    await settle();
    expect(await attempt(two, 'ann-pw')).toMatchObject({ ok: false, code: ErrorCode.rateLimited, message: expect.stringMatching(/locked here until \d\d:\d\d UTC/) });
    // ann at her own desk (another address) signs in, on either node.
    expect(await attempt(two, 'ann-pw', '127.0.0.2')).toMatchObject({ ok: true });
    expect(await attempt(one, 'ann-pw', '127.0.0.2')).toMatchObject({ ok: true });
  }, 60_000);
});
