// Uploads in a cluster (issue 23): an upload is part of the session's log, so every
// replica writes the same file. kill -9 of the primary's node in the middle of a 200 MB
// upload — sent through the third node, which passes it on — and the upload completes
// on the promoted standby, exactly once, with the sender's SHA-256; the replacement
// standby started after the failover replays the upload from the log (far larger than
// one peer message), so a second kill -9 loses nothing either — not even the file's
// time (the upload's log entry's, on every replica). Real etcd and three real
// node processes running this tree's CLI, bundled for this file.
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Screen, client, launch, sh } from '../support/harness.js';
import { bundleCli, type BundledCli } from '../support/bundled-cli.js';
import { sessionOf, startCluster, waitForStatus, whole, type TestCluster } from '../support/cluster-harness.js';
import { resumableUpload, type FetchLike, type UploadProgress } from '../shared/core/index.js';

const SIZE = 200 * 1024 * 1024;
let c: TestCluster | undefined;
let bundled: BundledCli | undefined;

beforeAll(async () => {
  bundled = await bundleCli('uploads');
  // Homes large enough for the file (each replica's home is allocated whole when it starts).
  c = await startCluster({ nodes: 3, cli: bundled.cli, tag: 'uploads', sandboxProfiles: { default: { maxHomeMiB: 320, maxHomeFiles: 16_384 } } });
}, 120_000);

afterAll(async () => {
  expect(await c?.stop()).toEqual([]);
  bundled?.remove();
});

describe('an upload in a cluster', () => {
  it('completes exactly once, with the right SHA-256, across kill -9 of the primary — and a replacement standby has it too', async () => {
    const bytes = randomBytes(SIZE);
    const expected = createHash('sha256').update(bytes).digest('hex');
    const ann = client(c!.nodes[0]!.url);
    await ann.signIn('ann', 'ann-pw');
    const stream = await launch(ann, 'shell');
    const screen = new Screen(stream);
    await screen.waitFor('$ ');
    const id = stream.sessionId!;
    const status = await waitForStatus(c!, whole(id), 30_000);
    const { primary, standbys } = sessionOf(status, id)!;
    // The third node runs neither replica: it passes the upload on, and lives through the kill.
    const relay = c!.nodes.find((n) => n.name !== primary && !standbys.includes(n.name))!;

    let killedAt: number | null = null;
    const progress: UploadProgress[] = [];
    const result = await resumableUpload({
      baseUrl: relay.url,
      sessionId: id,
      path: 'big.bin',
      source: { size: SIZE, read: async (offset, length) => bytes.subarray(offset, offset + length) },
      headers: () => ({ authorization: `Bearer ${ann.apiToken!}` }),
      fetch: fetch as unknown as FetchLike,
      onProgress: (p) => {
        progress.push(p);
        // Halfway: kill -9 the primary's node while pieces are in flight.
        if (killedAt === null && p.sent >= SIZE / 2) {
          killedAt = p.sent;
          c!.signal(primary, 'SIGKILL');
        }
      },
    });
    expect(killedAt).not.toBeNull();
    expect(result).toMatchObject({ status: 'done', offset: SIZE, path: 'big.bin', sha256: expected });
    // It waited for the session to move, and went on from where the new primary stood.
    expect(progress.some((p) => p.retrying !== null)).toBe(true);

    // The person's stream resumed on the promoted standby: the file is there once, whole.
    const check = await sh(stream, screen, 'sha256sum big.bin; ls | grep -c big; stat -c "TIME %.9Y" big.bin', 60_000);
    expect(check.output).toContain(`${expected}  big.bin`);
    expect(check.output).toMatch(/^1\s*$/m);
    // Stamped with its log entry's time on every replica, not the moment each wrote it.
    const time = check.output.match(/^TIME (\d+\.\d+)/m)![1]!;
    expect(time).toMatch(/777$/);
    const afterKill = await waitForStatus(c!, (s) => sessionOf(s, id)?.primary !== primary && whole(id)(s), 120_000, relay.url);
    const second = sessionOf(afterKill, id)!.primary;

    // The replacement standby replayed the log, upload included: kill the new primary too.
    await c!.restart(primary);
    c!.signal(second, 'SIGKILL');
    await waitForStatus(c!, (s) => { const found = sessionOf(s, id); return found !== undefined && found.primary !== second; }, 60_000, relay.url);
    const again = await sh(stream, screen, 'sha256sum big.bin; ls | grep -c big; stat -c "TIME %.9Y" big.bin', 60_000);
    expect(again.output).toContain(`${expected}  big.bin`);
    expect(again.output).toMatch(/^1\s*$/m);
    // The replacement put it in place a minute later, and shows the same time.
    expect(again.output).toContain(`TIME ${time}`);
    stream.close();
    await c!.restart(second);
  }, 300_000);
});
