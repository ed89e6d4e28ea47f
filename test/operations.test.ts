// Operating a cluster (real etcd, real node processes): what an operator sees in
// /metrics during a failover, a drain that moves every primary while people type, a
// rolling restart of every node with nothing lost or doubled, and a config reload
// that refuses a bad file and keeps serving.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { Screen, client, launch } from '../support/harness.js';
import { sessionOf, waitForStatus, whole, type TestCluster } from '../support/cluster-harness.js';
import { clusterPerFile } from './cluster-per-file.js';
import type { HoldfastClient, SessionStream } from '../shared/core/index.js';

const CLI = resolve(import.meta.dirname, '..', 'dist', 'broker', 'cli.js');

/** Counts and hashes every line it reads, in order; `END` prints the tally. */
const TALLY = {
  id: 'tally',
  name: 'Tally',
  command: '/usr/bin/python3',
  args: ['-c', 'import hashlib\nh = hashlib.sha256(); n = 0\nwhile True:\n    line = input()\n    if line == "END":\n        print("TALLY", n, h.hexdigest(), flush=True)\n        continue\n    n += 1\n    h.update(line.encode() + b"\\n")'],
};

let c: TestCluster;
clusterPerFile({ nodes: 3, tag: 'operations', apps: [TALLY] }, (started) => (c = started));

/**
 * A person typing numbered lines into a tally session until stopped: bursts of 15
 * lines, one every `everyMs`, then a pause of a second (a new standby joins only in a
 * quiet moment: it compares screens with the primary).
 */
class Typist {
  readonly lines: string[] = [];
  private running = true;
  private readonly done: Promise<void>;

  constructor(
    readonly stream: SessionStream,
    readonly tag: string,
    everyMs = 40,
  ) {
    this.done = (async () => {
      for (let i = 0; this.running; i++) {
        const line = `${tag}-${String(i).padStart(5, '0')}`;
        this.lines.push(line);
        stream.sendInput(line + '\r');
        await new Promise((r) => setTimeout(r, i % 15 === 14 ? 1000 : everyMs));
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }

  /** Asks the app for its tally and checks it saw every line exactly once, in order. */
  async verify(screen: Screen): Promise<void> {
    this.stream.sendInput('END\r');
    const match = await screen.waitFor(/TALLY (\d+) ([0-9a-f]{64})/, 30_000);
    expect(Number(match[1])).toBe(this.lines.length);
    expect(match[2]).toBe(createHash('sha256').update(this.lines.map((l) => l + '\n').join('')).digest('hex'));
  }
}

async function tallySessions(n: number, via: string): Promise<{ ann: HoldfastClient; streams: SessionStream[]; screens: Screen[]; ids: string[] }> {
  const ann = client(via);
  await ann.signIn('ann', 'ann-pw');
  const streams: SessionStream[] = [];
  for (let i = 0; i < n; i++) streams.push(await launch(ann, 'tally'));
  const screens = streams.map((s) => new Screen(s));
  return { ann, streams, screens, ids: streams.map((s) => s.sessionId!) };
}

describe('metrics', () => {
  it('show a failover on the node that took over, and each standby’s lag going back to zero', async () => {
    const { ann, streams, screens, ids } = await tallySessions(1, c.nodes[0]!.url);
    const [stream, screen, id] = [streams[0]!, screens[0]!, ids[0]!];
    const before = sessionOf(await waitForStatus(c, whole(...ids)), id)!;
    const [primary, standby] = [before.primary, before.standbys[0]!];
    for (let i = 0; i < 200; i++) stream.sendInput(`pre-${i}\r`);
    await screen.waitFor('pre-199\r\n');
    const baseline = await c.metrics(standby);
    const failoversBefore = baseline.get('holdfast_failovers_total') ?? 0;
    // Scrape the standby every 20 ms from the kill on, as Prometheus would (faster).
    const lagSeen = new Map<string, number[]>();
    let scraping = true;
    const scraper = (async () => {
      while (scraping) {
        const m = await c.metrics(standby).catch(() => null);
        for (const [key, value] of m ?? []) {
          const lag = /^holdfast_replica_lag_entries\{standby="(.+)"\}$/.exec(key);
          if (lag) lagSeen.set(lag[1]!, [...(lagSeen.get(lag[1]!) ?? []), value]);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    c.signal(primary, 'SIGKILL');
    stream.sendInput('after-kill\r');
    await screen.waitFor('after-kill\r\n', 15_000);
    const after = sessionOf(await waitForStatus(c, (s) => whole(id)(s) && sessionOf(s, id)!.primary === standby), id)!;
    const replacement = after.standbys[0]!;
    await waitFor(() => (lagSeen.get(replacement)?.at(-1) ?? -1) === 0, 10_000);
    scraping = false;
    await scraper;
    const m = await c.metrics(standby);
    expect(m.get('holdfast_failovers_total')).toBe(failoversBefore + 1);
    expect(m.get('holdfast_standbys_joined_total')).toBeGreaterThanOrEqual(1);
    expect(m.get('holdfast_replicas{role="primary"}')).toBeGreaterThanOrEqual(1);
    expect(m.get('holdfast_sessions{state="attached"}')).toBeGreaterThanOrEqual(1);
    // The new standby started behind (it replays 200+ entries) and caught up.
    const seen = lagSeen.get(replacement)!;
    expect(Math.max(...seen)).toBeGreaterThan(0);
    expect(seen.at(-1)).toBe(0);
    // What else an operator graphs is there, with observations in it.
    expect(m.get('holdfast_echo_seconds_count{display="terminal"}')).toBeGreaterThan(0);
    expect(m.get('holdfast_stream_frame_bytes_count{display="terminal"}')).toBeGreaterThan(0);
    expect(m.get('holdfast_control_plane_seconds_count{op="compare_and_swap"}')).toBeGreaterThan(0);
    expect(m.get('holdfast_sandbox_launch_seconds_count{display="terminal"}')).toBeGreaterThanOrEqual(1);
    expect(m.get('holdfast_process_resident_memory_bytes')).toBeGreaterThan(10_000_000);
    expect([...m.keys()].some((k) => k.startsWith('holdfast_node_info{version='))).toBe(true);
    const status = await c.status();
    expect(status.events.some((e) => e.kind === 'failover' && e.session === id && e.node === standby)).toBe(true);
    stream.close();
    ann.signOut();
  }, 90_000);
});

async function waitFor(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('drain', () => {
  it('`holdfast node drain` moves every primary off a node while people type: nothing lost, nothing doubled', async () => {
    const gateway = c.nodes[0]!.url;
    const { ann, streams, screens, ids } = await tallySessions(4, gateway);
    const before = await waitForStatus(c, whole(...ids));
    // Drain the node with the most primaries (placement spreads them).
    const counts = new Map<string, number>();
    for (const id of ids) counts.set(sessionOf(before, id)!.primary, (counts.get(sessionOf(before, id)!.primary) ?? 0) + 1);
    const target = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]![0];
    const onTarget = ids.filter((id) => sessionOf(before, id)!.primary === target);
    const typists = streams.map((s, i) => new Typist(s, `d${i}`));
    await new Promise((r) => setTimeout(r, 300));
    const states: string[][] = streams.map(() => []);
    streams.forEach((s, i) => s.subscribe((view) => states[i]!.push(view.status)));
    const drain = spawnSync(process.execPath, [CLI, 'node', 'drain', target, '--broker', gateway, '--user', 'admin'], {
      env: { ...process.env, HOLDFAST_PASSWORD: 'admin-pw' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(drain.stderr).toBe('');
    expect(drain.status).toBe(0);
    expect(drain.stdout).toContain(`${target} is drained: ${onTarget.length} session${onTarget.length === 1 ? '' : 's'} moved.`);
    await new Promise((r) => setTimeout(r, 300));
    await Promise.all(typists.map((t) => t.stop()));
    const after = await waitForStatus(c, (s) => whole(...ids)(s) && ids.every((id) => sessionOf(s, id)!.primary !== target && !sessionOf(s, id)!.standbys.includes(target)));
    const node = after.nodes.find((n) => n.name === target)!;
    expect(node).toMatchObject({ draining: true, accepting: false, load: 0 });
    for (const id of onTarget) expect(sessionOf(after, id)!.epoch).toBe(sessionOf(before, id)!.epoch + 1);
    for (let i = 0; i < typists.length; i++) await typists[i]!.verify(screens[i]!);
    // The moved sessions' people saw a reconnect at most; nobody saw their session end.
    for (const list of states) expect(list).not.toContain('ended');
    expect(after.events.filter((e) => e.kind === 'handover' && e.node === target)).toHaveLength(onTarget.length);
    // A drained node takes no new sessions; undrained, it does again.
    const more = await Promise.all([launch(ann, 'cat'), launch(ann, 'cat'), launch(ann, 'cat')]);
    const placed = await waitForStatus(c, whole(...more.map((s) => s.sessionId!)));
    for (const s of more) expect(sessionOf(placed, s.sessionId!)!.primary).not.toBe(target);
    await c.admin('POST', `/api/nodes/${target}/undrain`);
    expect((await waitForStatus(c, (s) => s.nodes.find((n) => n.name === target)!.accepting)).nodes.find((n) => n.name === target)!.draining).toBe(false);
    for (const s of [...streams, ...more]) s.close();
    ann.signOut();
  }, 120_000);

  it('moves one session to the node an administrator names, and refuses a move it cannot make', async () => {
    const { ann, streams, screens, ids } = await tallySessions(1, c.nodes[0]!.url);
    const id = ids[0]!;
    const before = sessionOf(await waitForStatus(c, whole(...ids)), id)!;
    const other = c.nodes.map((n) => n.name).find((n) => n !== before.primary && !before.standbys.includes(n))!;
    const typist = new Typist(streams[0]!, 'm');
    await new Promise((r) => setTimeout(r, 200));
    // To a node that holds no replica yet: it gets a standby first, which catches up and takes over.
    const moved = (await c.admin('POST', `/api/sessions/${id}/move`, { to: other }, c.nodes.find((n) => n.name !== before.primary)!.url)) as { primary: string };
    expect(moved.primary).toBe(other);
    await new Promise((r) => setTimeout(r, 300));
    await typist.stop();
    const after = sessionOf(await waitForStatus(c, (s) => whole(id)(s) && sessionOf(s, id)!.primary === other), id)!;
    expect(after.epoch).toBe(before.epoch + 1);
    await typist.verify(screens[0]!);
    await expect(c.admin('POST', `/api/sessions/${id}/move`, { to: 'node-9' })).rejects.toThrow(/HTTP 409.*node-9 is not a live node/);
    await expect(c.admin('POST', `/api/sessions/${id}/move`, { to: 7 })).rejects.toThrow(/HTTP 400/);
    await expect(c.admin('POST', `/api/sessions/nonexistent/move`)).rejects.toThrow(/HTTP 404.*no running session/);
    // Ending it from the admin API tells its person why.
    await c.admin('POST', `/api/sessions/${id}/end`);
    await waitFor(() => streams[0]!.view.status === 'ended', 10_000);
    expect(streams[0]!.view.reason).toContain('An administrator ended this session.');
    ann.signOut();
  }, 90_000);
});

describe('rolling restart', () => {
  it('restarts every node in turn — drain, SIGTERM, start — while people type: nothing lost, nothing doubled', async () => {
    const { ann, streams, screens, ids } = await tallySessions(3, c.nodes[0]!.url);
    await waitForStatus(c, whole(...ids));
    const states: string[][] = streams.map(() => []);
    streams.forEach((s, i) => s.subscribe((view) => states[i]!.push(view.status)));
    const typists = streams.map((s, i) => new Typist(s, `r${i}`));
    for (const name of c.nodes.map((n) => n.name)) {
      const via = c.nodes.find((n) => n.name !== name)!.url;
      await c.admin('POST', `/api/nodes/${name}/drain`, {}, via);
      await waitForStatus(c, (s) => s.nodes.find((n) => n.name === name)?.drain?.finishedAt != null, 60_000, via);
      await c.stopGracefully(name);
      await c.restart(name);
      // Every session whole again (a standby joined) before the next node goes.
      await waitForStatus(c, (s) => whole(...ids)(s) && s.nodes.every((n) => n.accepting), 60_000);
    }
    await new Promise((r) => setTimeout(r, 300));
    await Promise.all(typists.map((t) => t.stop()));
    for (let i = 0; i < typists.length; i++) {
      expect(typists[i]!.lines.length).toBeGreaterThan(30);
      await typists[i]!.verify(screens[i]!);
      expect(states[i]).not.toContain('ended');
    }
    // Each person saw the reconnect overlay (their session moved, their gateway went), and no more.
    for (const list of states) expect(list).toContain('reconnecting');
    const status = await c.status();
    // Every node was restarted: each session's epoch went up at least once.
    for (const id of ids) expect(sessionOf(status, id)!.epoch).toBeGreaterThan(1);
    for (const s of streams) s.close();
    ann.signOut();
  }, 240_000);
});

describe('config reload', () => {
  const hasLine = (name: string, pattern: RegExp) => c.node(name).log.some((line) => pattern.test(line));

  it('refuses a bad catalog on SIGHUP and keeps serving the old one; a good one takes effect without a restart', async () => {
    const name = 'node-1';
    const url = c.node(name).url;
    type Config = { entitlements: Array<{ users?: string[]; apps: string[] }> };
    c.editConfig(name, (config) => void (config as unknown as Config).entitlements.push({ users: ['bob'], apps: ['no-such-app'] }));
    c.signal(name, 'SIGHUP');
    await waitFor(() => hasLine(name, /config reload refused/), 10_000);
    const refusal = c.node(name).log.find((line) => /config reload refused/.test(line))!;
    expect(refusal).toMatch(/node-1\.yaml:\d+: entitlements\.\d+\.apps\.0: app \\"no-such-app\\" is not in the catalog/);
    // The old catalog keeps serving: bob signs in, sees python alone, and launches it.
    const bob = client(url);
    await bob.signIn('bob', 'bob-pw');
    expect((await bob.listApps()).map((a) => a.id)).toEqual(['python']);
    const python = await launch(bob, 'python');
    const screen = new Screen(python);
    python.sendInput('print(6 * 7)\r');
    await screen.waitFor('42');
    python.close();
    // A good catalog: bob gets cat as well, with no restart.
    c.editConfig(name, (config) => {
      const entitlements = (config as unknown as Config).entitlements;
      entitlements.pop();
      entitlements.push({ users: ['bob'], apps: ['cat'] });
    });
    c.signal(name, 'SIGHUP');
    await waitFor(() => hasLine(name, /config reloaded/), 10_000);
    expect((await bob.listApps()).map((a) => a.id)).toEqual(['python', 'cat']);
    const m = await c.metrics(name);
    expect(m.get('holdfast_config_reloads_total{result="refused"}')).toBe(1);
    expect(m.get('holdfast_config_reloads_total{result="ok"}')).toBe(1);
    expect(c.node(name).alive).toBe(true);
    // Back as it was, for whatever runs after.
    c.editConfig(name, (config) => void (config as unknown as Config).entitlements.pop());
    c.signal(name, 'SIGHUP');
    bob.signOut();
  }, 60_000);
});
