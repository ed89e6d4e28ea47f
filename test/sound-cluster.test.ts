// Sound through the death of its server and through a move (issue 25), on a 3-node
// cluster of real processes with real etcd: a tone plays, its primary is killed with -9
// (or drained), and once the client has resumed on the new primary the tone plays again
// — from that replica alone (one stream of 20 ms packets, not two: a standby's sound is
// never sent).
import { describe, expect, it } from 'vitest';
import OpusScript from 'opusscript';
import { client, launch } from '../support/harness.js';
import { sessionOf, waitForStatus, whole, type TestCluster } from '../support/cluster-harness.js';
import { waitFor } from '../support/wait.js';
import { clusterPerFile } from './cluster-per-file.js';
import { TONE_APP } from './tones.js';


let c: TestCluster;
// Replicated like any app (lockstep): every replica plays into its own sound server; only the primary's is read and sent.
clusterPerFile({ nodes: 3, tag: 'sound', apps: [TONE_APP] }, (started) => (c = started));

/** Whether these packets hold a 440 Hz tone (Goertzel: 440 Hz far over 660 and 1000). */
function tone(packets: Uint8Array[]): boolean {
  const decoder = new OpusScript(48_000, 2);
  const samples: number[] = [];
  for (const p of packets) {
    const pcm = new Int16Array(new Uint8Array(decoder.decode(Buffer.from(p))).buffer);
    for (let i = 0; i < pcm.length; i += 2) samples.push(pcm[i]! / 32768);
  }
  decoder.delete();
  const power = (f: number) => {
    const k = 2 * Math.cos((2 * Math.PI * f) / 48_000);
    let [s1, s2] = [0, 0];
    for (const x of samples) [s1, s2] = [x + k * s1 - s2, s1];
    return s1 * s1 + s2 * s2 - k * s1 * s2;
  };
  return power(440) > 100 * Math.max(power(660), power(1000));
}

describe('sound through a failover', () => {
  it('plays again from the promoted replica after kill -9 of the primary, one stream of it', async () => {
    const ann = client(c.nodes[0]!.url);
    await ann.signIn('ann', 'ann-pw');
    const stream = await launch(ann, 'tone');
    const id = stream.sessionId!;
    const primary = sessionOf(await waitForStatus(c, whole(id)), id)!.primary;
    const heard: Array<{ at: number; data: Uint8Array; when: number }> = [];
    stream.listen({ packet: (at, data) => heard.push({ at, data: Buffer.from(data), when: performance.now() }) });
    await waitFor('the tone', () => heard.length >= 50, 15_000);
    expect(tone(heard.slice(5, 50).map((p) => p.data))).toBe(true);

    c.signal(primary, 'SIGKILL');
    await waitFor('the client to lose its link', () => stream.view.status !== 'streaming', 10_000);
    await waitFor('the client resumed elsewhere', () => stream.view.status === 'streaming', 30_000);
    const resumedAt = performance.now();
    const after = () => heard.filter((p) => p.when > resumedAt);
    await waitFor('the tone again', () => after().length >= 100, 20_000);
    expect(tone(after().slice(10, 60).map((p) => p.data))).toBe(true);
    // One stream: a second of packets is about 50 (two streams would be about 100).
    const window = after().slice(50);
    const seconds = (window.at(-1)!.when - window[0]!.when) / 1000;
    expect(window.length / seconds).toBeLessThan(70);
    stream.close();
    ann.signOut();
  }, 120_000);

  it('plays again from the node it moved to after a drain, one stream of it', async () => {
    const ann = client(c.nodes[0]!.url);
    await ann.signIn('ann', 'ann-pw');
    const stream = await launch(ann, 'tone');
    const id = stream.sessionId!;
    const primary = sessionOf(await waitForStatus(c, whole(id)), id)!.primary;
    const heard: Array<{ data: Uint8Array; when: number }> = [];
    stream.listen({ packet: (_at, data) => heard.push({ data: Buffer.from(data), when: performance.now() }) });
    await waitFor('the tone', () => heard.length >= 50, 15_000);

    await c.admin('POST', `/api/nodes/${primary}/drain`);
    const moved = await waitForStatus(c, (s) => (sessionOf(s, id)?.primary ?? primary) !== primary, 30_000);
    expect(sessionOf(moved, id)!.primary).not.toBe(primary);
    await waitFor('the client streaming from the new primary', () => stream.view.status === 'streaming', 30_000);
    const movedAt = performance.now();
    const after = () => heard.filter((p) => p.when > movedAt);
    await waitFor('the tone again', () => after().length >= 100, 20_000);
    expect(tone(after().slice(10, 60).map((p) => p.data))).toBe(true);
    const window = after().slice(50);
    const seconds = (window.at(-1)!.when - window[0]!.when) / 1000;
    expect(window.length / seconds).toBeLessThan(70);
    await c.admin('POST', `/api/nodes/${primary}/undrain`);
    stream.close();
    ann.signOut();
  }, 120_000);
});
