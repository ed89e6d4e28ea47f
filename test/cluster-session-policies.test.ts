// A session policy's deadline survives the death of the session's primary (issue 22,
// point 2): real etcd and two real node processes, Cat limited to 15 s from its start
// and warned 6 s before. The primary is killed (kill -9) a few seconds in; the person's
// client resumes on the standby, which must warn and end the session at the same
// moment the old primary would have — counted from the session's start, not from the
// promotion. The nodes run this tree's CLI, bundled into a directory of the test's own
// (under node_modules/.cache, so its packages resolve), leaving the shared dist/ alone.
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Screen, client, launch } from '../support/harness.js';
import { sessionOf, startCluster, waitForStatus, whole, type TestCluster } from '../support/cluster-harness.js';
import { waitFor } from '../support/wait.js';

const root = fileURLToPath(new URL('..', import.meta.url));
let c: TestCluster | undefined;
let cliDir = '';

beforeAll(async () => {
  mkdirSync(join(root, 'node_modules/.cache'), { recursive: true });
  cliDir = mkdtempSync(join(root, 'node_modules/.cache/holdfast-policies-cli-'));
  // Sandboxes run as their own users and bind the lockstep shim from here.
  chmodSync(cliDir, 0o755);
  const out = join(cliDir, 'broker');
  await build({ entryPoints: { cli: join(root, 'broker/cli/entry.ts') }, outdir: out, bundle: true, platform: 'node', target: 'node20', format: 'esm', packages: 'external', logLevel: 'error' });
  for (const file of ['screen-worker.mjs', 'screen-digest.mjs']) cpSync(join(root, 'broker/host', file), join(out, file));
  // The lockstep shim is C, unchanged here: the last build's serves.
  if (existsSync(join(root, 'dist/broker/holdfast-lockstep.so'))) cpSync(join(root, 'dist/broker/holdfast-lockstep.so'), join(out, 'holdfast-lockstep.so'));
  c = await startCluster({ nodes: 2, cli: join(out, 'cli.js'), tag: 'policies' });
  for (const node of [...c.nodes]) {
    c.editConfig(node.name, (config) => void (config.sessionPolicies = [{ apps: ['cat'], maxMinutes: 0.25, warnMinutes: 0.1 }]));
    await c.restart(node.name);
  }
}, 120_000);

afterAll(async () => {
  expect(await c?.stop()).toEqual([]);
  if (cliDir) rmSync(cliDir, { recursive: true, force: true });
});

describe('a maximum length across a failover', () => {
  it('is warned and acted on by the standby that took over, counted from the session’s start', async () => {
    const ann = client(c!.nodes[0]!.url);
    await ann.signIn('ann', 'ann-pw');
    const stream = await launch(ann, 'cat');
    const screen = new Screen(stream);
    const id = stream.sessionId!;
    const primary = sessionOf(await waitForStatus(c!, whole(id)), id)!.primary;
    const [listed] = await ann.listSessions();
    const startedAt = listed!.startedAt;
    expect(listed!.endsAt).toBe(startedAt + 15_000);
    // Typed on the first primary, and held by the standby, before the primary dies.
    stream.sendInput('before\r');
    await screen.waitFor('before');
    // Four seconds in: a deadline counted from the promotion would fall four seconds late.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, startedAt + 4000 - Date.now())));
    c!.signal(primary, 'SIGKILL');
    // The client resumes on the standby, and the session goes on there.
    stream.sendInput('after the failover\r');
    await screen.waitFor('after the failover', 15_000);
    const warned = await waitFor('the length warning from the new primary', () => stream.view.notice, 15_000);
    expect(warned.kind).toBe('max-length');
    expect(warned.message).toMatch(/^Cat ends in \d seconds: it reaches its maximum length of 15 seconds\. Save your work\.$/);
    const end = await stream.finished();
    const endedAt = Date.now();
    expect(end.reason).toBe('Cat ended because it reached its maximum length of 15 seconds.');
    // From the start: one counted from the promotion (four seconds in) would come at 19 s.
    expect(endedAt - startedAt).toBeGreaterThanOrEqual(14_500);
    expect(endedAt - startedAt).toBeLessThan(16_500);
    ann.signOut();
  }, 60_000);
});
