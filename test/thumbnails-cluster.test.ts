// A running session's thumbnail in a cluster (issue 22, point 5): any node answers
// GET /api/sessions/ID/thumbnail, asking the node that holds the session's primary —
// with the caller's own token, so the owner check holds there too. Real etcd and two
// real node processes, running this tree's CLI bundled into a directory of the test's
// own (under node_modules/.cache, so its packages resolve), leaving the shared dist/ alone.
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Screen, client, launch } from '../support/harness.js';
import { sessionOf, signInToken, startCluster, waitForStatus, type TestCluster } from '../support/cluster-harness.js';
import { ThumbnailSchema } from '../shared/protocol/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));
let c: TestCluster | undefined;
let cliDir = '';

beforeAll(async () => {
  mkdirSync(join(root, 'node_modules/.cache'), { recursive: true });
  cliDir = mkdtempSync(join(root, 'node_modules/.cache/holdfast-thumbnails-cli-'));
  // Sandboxes run as their own users and bind the lockstep shim from here.
  chmodSync(cliDir, 0o755);
  const out = join(cliDir, 'broker');
  await build({ entryPoints: { cli: join(root, 'broker/cli/entry.ts') }, outdir: out, bundle: true, platform: 'node', target: 'node20', format: 'esm', packages: 'external', logLevel: 'error' });
  for (const file of ['screen-worker.mjs', 'screen-digest.mjs']) cpSync(join(root, 'broker/host', file), join(out, file));
  // The lockstep shim is C, unchanged here: the last build's serves.
  if (existsSync(join(root, 'dist/broker/holdfast-lockstep.so'))) cpSync(join(root, 'dist/broker/holdfast-lockstep.so'), join(out, 'holdfast-lockstep.so'));
  c = await startCluster({ nodes: 2, cli: join(out, 'cli.js'), tag: 'thumbnails' });
}, 120_000);

afterAll(async () => {
  expect(await c?.stop()).toEqual([]);
  if (cliDir) rmSync(cliDir, { recursive: true, force: true });
});

async function thumbnail(url: string, id: string, token: string): Promise<{ status: number; body: unknown }> {
  const reply = await fetch(`${url}/api/sessions/${encodeURIComponent(id)}/thumbnail`, { headers: { authorization: `Bearer ${token}` } });
  return { status: reply.status, body: await reply.json() };
}

describe('a thumbnail in a cluster', () => {
  it('is answered by either node: the one without the primary asks the one with it', async () => {
    const ann = client(c!.nodes[0]!.url);
    await ann.signIn('ann', 'ann-pw');
    const stream = await launch(ann, 'python');
    const screen = new Screen(stream);
    const id = stream.sessionId!;
    stream.sendInput("print('clu' + 'ster-marker')\r");
    await screen.waitFor('cluster-marker\r\n');
    const primary = sessionOf(await waitForStatus(c!, (status) => sessionOf(status, id) !== undefined), id)!.primary;
    const [here, other] = [c!.node(primary), c!.nodes.find((n) => n.name !== primary)!];

    for (const node of [here, other]) {
      const reply = await thumbnail(node.url, id, ann.apiToken!);
      expect(reply.status, `asked of ${node.name}`).toBe(200);
      const parsed = ThumbnailSchema.parse(reply.body);
      expect(parsed.kind === 'text' && parsed.text.split('\n')).toContain('cluster-marker');
    }

    // bob, asking the node without the primary, learns what he would of no session at all.
    const bob = await signInToken(other.url, 'bob', 'bob-pw');
    const notHis = await thumbnail(other.url, id, bob);
    expect(notHis.status).toBe(404);
    expect(notHis.body).toEqual((await thumbnail(other.url, 'AAAAAAAAAAAAAAAAAAAAAA', bob)).body);
    stream.close();
    ann.signOut();
  }, 60_000);
});
