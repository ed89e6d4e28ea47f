// A session's files in a cluster (issue 23, download): any node answers, and a download
// asked of the node without the session's primary streams from the primary as it is
// read — the primary has not finished sending while the client holds only the first
// bytes — with Range passed through. A download cut by kill -9 of the primary's node
// resumes on the promoted standby from where it stopped: the web client's own
// resumableDownload proves the head it holds (Holdfast-Resume), never starting over. Real etcd and two real node processes running
// this tree's CLI, bundled for this file (the shared dist/ is left alone).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Screen, client, launch, sh } from '../support/harness.js';
import { bundleCli, type BundledCli } from '../support/bundled-cli.js';
import { sessionOf, signInToken, startCluster, waitForStatus, whole, type TestCluster } from '../support/cluster-harness.js';
import { FileListingSchema } from '../shared/protocol/index.js';
import { resumableDownload, type DownloadProgress } from '../renderer/src/resumable-download.js';

/** Larger than every buffer between the primary's disk and the client (sockets, streams): the primary cannot finish while the client does not read. */
const SIZE = 50_000_000;
let c: TestCluster | undefined;
let bundled: BundledCli | undefined;

beforeAll(async () => {
  bundled = await bundleCli('files');
  c = await startCluster({ nodes: 2, cli: bundled.cli, tag: 'files' });
}, 120_000);

afterAll(async () => {
  expect(await c?.stop()).toEqual([]);
  bundled?.remove();
});

const downloads = (stateDir: string) =>
  readFileSync(join(stateDir, 'audit.log'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((event) => event.event === 'session.download');

describe('a session’s files in a cluster', () => {
  it('streams a download from the primary through the node that does not have it', async () => {
    const ann = client(c!.nodes[0]!.url);
    await ann.signIn('ann', 'ann-pw');
    const stream = await launch(ann, 'shell');
    const screen = new Screen(stream);
    await screen.waitFor('$ ');
    const made = await sh(stream, screen, `head -c ${SIZE} /dev/urandom > big.bin && sha256sum big.bin`, 30_000);
    const inside = /([0-9a-f]{64}) {2}big\.bin/.exec(made.output)?.[1];
    expect(inside, made.output).toBeDefined();
    const id = stream.sessionId!;
    const primary = sessionOf(await waitForStatus(c!, (status) => sessionOf(status, id) !== undefined), id)!.primary;
    const [here, other] = [c!.node(primary), c!.nodes.find((n) => n.name !== primary)!];
    const url = (path: string, content = true) => `${other.url}/api/sessions/${encodeURIComponent(id)}/files${content ? '/content' : ''}?path=${encodeURIComponent(path)}`;
    const auth = { authorization: `Bearer ${ann.apiToken!}` };

    const listing = FileListingSchema.parse(await (await fetch(url('', false), { headers: auth })).json());
    expect(listing.entries.find((e) => e.name === 'big.bin')).toMatchObject({ kind: 'file', size: SIZE });

    const reply = await fetch(url('big.bin'), { headers: auth });
    expect([reply.status, reply.headers.get('content-length'), reply.headers.get('content-type')]).toEqual([200, String(SIZE), 'application/octet-stream']);
    const etag = reply.headers.get('etag')!;
    const reader = reply.body!.getReader();
    const chunks: Uint8Array[] = [(await reader.read()).value!];
    // The client holds its first bytes and reads no more: the primary is still sending, so
    // the node in between passed them on as they came rather than gathering the file.
    await new Promise((r) => setTimeout(r, 1500));
    expect(downloads(here.stateDir).filter((e) => e.path === 'big.bin')).toEqual([]);
    for (let next = await reader.read(); !next.done; next = await reader.read()) chunks.push(next.value);
    const whole = Buffer.concat(chunks);
    expect(whole.length).toBe(SIZE);
    expect(createHash('sha256').update(whole).digest('hex')).toBe(inside);
    // The primary's node recorded it; the node in between, which only passed it on, did not.
    await expect.poll(() => downloads(here.stateDir).find((e) => e.path === 'big.bin')).toMatchObject({ user: 'ann', session: id, app: 'shell', result: 'completed', bytes: SIZE, offset: 0, sha256: inside });
    expect(downloads(other.stateDir)).toEqual([]);

    // A resume through it: Range and If-Range pass through, and the tail fits the head.
    const half = SIZE / 2;
    const tail = await fetch(url('big.bin'), { headers: { ...auth, range: `bytes=${half}-`, 'if-range': etag } });
    expect([tail.status, tail.headers.get('content-range')]).toEqual([206, `bytes ${half}-${SIZE - 1}/${SIZE}`]);
    const rest = Buffer.from(await tail.arrayBuffer());
    expect(createHash('sha256').update(whole.subarray(0, half)).update(rest).digest('hex')).toBe(inside);

    // Refusals pass through in the primary's words; bob learns what he would of no session.
    expect(await (await fetch(url('../x'), { headers: auth })).json()).toMatchObject({ error: 'outside_home' });
    const bob = await signInToken(other.url, 'bob', 'bob-pw');
    const notHis = await fetch(url('big.bin'), { headers: { authorization: `Bearer ${bob}` } });
    const unknown = await fetch(`${other.url}/api/sessions/AAAAAAAAAAAAAAAAAAAAAA/files/content?path=big.bin`, { headers: { authorization: `Bearer ${bob}` } });
    expect([notHis.status, await notHis.json()]).toEqual([404, await unknown.json()]);
    stream.close();
    ann.signOut();
  }, 90_000);

  it('resumes a download cut by kill -9 of the primary on the promoted standby, from where it stopped', async () => {
    const ann = client(c!.nodes[0]!.url);
    await ann.signIn('ann', 'ann-pw');
    const stream = await launch(ann, 'shell');
    const screen = new Screen(stream);
    await screen.waitFor('$ ');
    // /dev/urandom is the session's own stream under lockstep: both replicas write the same bytes.
    const made = await sh(stream, screen, `head -c ${SIZE} /dev/urandom > same.bin && sha256sum same.bin`, 30_000);
    const inside = /([0-9a-f]{64}) {2}same\.bin/.exec(made.output)![1]!;
    const id = stream.sessionId!;
    const status = await waitForStatus(c!, whole(id), 30_000);
    const primary = sessionOf(status, id)!.primary;
    // The standby writes the same file in step, at its own pace: let it finish (a command after it, then no lag) before the kill.
    await sh(stream, screen, 'sync; sleep 2; echo synced', 30_000);
    await waitForStatus(c!, (s) => Object.values(sessionOf(s, id)?.lag ?? { x: 1 }).every((lag) => lag === 0), 30_000);
    // Through the standby's node: it passes the primary's bytes on, then serves them itself.
    const standby = c!.nodes.find((n) => n.name !== primary)!;
    let killed = false;
    const progress: DownloadProgress[] = [];
    const result = await resumableDownload({
      url: `${standby.url}/api/sessions/${encodeURIComponent(id)}/files/content?path=same.bin`,
      headers: () => ({ authorization: `Bearer ${ann.apiToken!}` }),
      fetch: slowly,
      retryDelaysMs: [250, 500, 1000],
      maxFailures: 40,
      onProgress: (p) => {
        progress.push(p);
        // Early: loopback's socket buffers on the way (primary → standby's node → here)
        // hold tens of megabytes, and a primary killed later may already have sent it all.
        if (!killed && p.received > SIZE / 25) {
          killed = true;
          c!.signal(primary, 'SIGKILL');
        }
      },
    });
    expect(killed).toBe(true);
    expect(result.size).toBe(SIZE);
    expect(createHash('sha256').update(Buffer.from(await result.blob.arrayBuffer())).digest('hex')).toBe(inside);
    // It went on from where it stopped, on another copy of the file — never from the start.
    const last = progress.at(-1)!;
    expect(last.resumes).toBeGreaterThanOrEqual(1);
    expect(last.restarts).toBe(0);
    stream.close();
    ann.signOut();
    await c!.restart(primary);
  }, 120_000);
});

/** fetch whose bodies are read at about 10 MB/s: the primary is still sending when it dies. */
const slowly: typeof fetch = async (input, init) => {
  const reply = await fetch(input, init);
  if (!reply.body) return reply;
  const reader = reply.body.getReader();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) return controller.close();
      await new Promise((r) => setTimeout(r, Math.ceil(value.byteLength / 10_000)));
      controller.enqueue(value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
  return new Response(body, { status: reply.status, headers: reply.headers });
};
