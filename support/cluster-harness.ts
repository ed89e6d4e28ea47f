// Test harness for clusters: real etcd (support/etcd.ts) and real broker nodes, each its
// own process (`holdfast node --config`, from dist/), so faults are real: kill -9,
// SIGSTOP/SIGCONT, a node restarted under the same name. Users ann (every app), bob
// (python) and admin (status); apps as in harness.ts plus `readline` (reads a line,
// prints its length and hash), `random` (prints the kernel's random numbers: diverges) and
// `fragile` (failover: none).
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, chmodSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { hashPassword } from '../broker/auth/password.js';
import type { ClusterStatus } from '../broker/gateway/admin-api.js';
import { Connection } from '../shared/core/index.js';
import { nodeSocketFactoryWith } from '../broker/cli/connect.js';
import { SYSTEM_TRUST, request, requestJson, type Trust } from '../broker/tls/trust.js';
import { freePort, startEtcd, type EtcdCluster } from './etcd.js';
import { TEST_PROFILE, processesMentioning } from './harness.js';

const DIST_CLI = resolve(import.meta.dirname, '..', 'dist', 'broker', 'cli.js');
const artifacts = resolve(import.meta.dirname, '..', 'test-artifacts');
const cheap = { N: 1024, r: 8, p: 1 };

export const CLUSTER_APPS = [
  { id: 'shell', name: 'Shell', command: '/bin/bash', args: ['--norc', '--noprofile', '-i'], env: { PS1: '$ ' } },
  { id: 'python', name: 'Python', command: '/usr/bin/python3', args: ['-q'] },
  { id: 'cat', name: 'Cat', command: '/bin/cat' },
  {
    id: 'readline',
    name: 'Read a line',
    command: '/usr/bin/python3',
    args: ['-c', 'import hashlib; s = input("text? "); print("GOT", len(s), hashlib.sha256(s.encode()).hexdigest()); input("done? ")'],
  },
  // Numbers from the kernel's own random UUIDs (/proc/sys/kernel/random/uuid), which lockstep does not replicate (the shim covers getrandom and the random devices): diverges.
  {
    id: 'random',
    name: 'Random',
    command: '/usr/bin/python3',
    args: ['-c', 'import time\nwhile True:\n    u = open("/proc/sys/kernel/random/uuid").read().replace("-", "")\n    print("%.15f" % (int(u[:12], 16) / 2**48), flush=True)\n    time.sleep(1)'],
  },
  { id: 'fragile', name: 'Fragile', command: '/bin/cat', failover: 'none' },
  { id: 'trio', name: 'Trio', command: '/bin/cat', replicas: 3 },
  { id: 'gui-editor', name: 'GUI editor', display: 'rfb', geometry: '800x600', command: '/usr/bin/xedit', args: ['notes.txt'] },
  // XTerm sizing its font in points (Xft): larger on a display told a larger scale; the scale GTK would be told, in scale.txt.
  { id: 'gui-term', name: 'GUI terminal', display: 'rfb', geometry: '800x600', command: '/bin/bash', args: ['-c', 'echo "${GDK_SCALE:-1} ${GDK_DPI_SCALE:-1}" > "$HOME/scale.txt"; exec /usr/bin/xterm -fa "DejaVu Sans Mono" -fs 12'] },
  { id: 'restartable', name: 'Restartable', command: '/bin/bash', args: ['--norc', '--noprofile', '-i'], env: { PS1: '$ ' }, failover: 'restart' },
];

export interface ClusterNode {
  name: string;
  url: string;
  /** The node's state directory: sandbox homes are under sandboxes/. */
  stateDir: string;
  process: ChildProcess;
  readonly pid: number;
  alive: boolean;
  /** Everything the node logged (JSON lines). */
  log: string[];
}

export interface TestCluster {
  etcd: EtcdCluster;
  /** What the test's clients trust (the nodes' certificate, with node.tls). */
  trust: Trust;
  nodes: ClusterNode[];
  node(name: string): ClusterNode;
  /** kill -9 (or another signal) a node's process. */
  signal(name: string, signal: NodeJS.Signals): void;
  /** Starts a node again under the same name and port (after a kill). */
  restart(name: string): Promise<ClusterNode>;
  /** SIGTERM, as an operator stops a node, and waits (bounded) for the process to exit. */
  stopGracefully(name: string): Promise<void>;
  /** Changes a node's config file (not the running node: send it SIGHUP to reload). */
  editConfig(name: string, edit: (config: Record<string, unknown>) => void): void;
  /** The admin API of `via` (default: a live node), as the admin user; throws on an HTTP error. */
  admin(method: 'GET' | 'POST', path: string, body?: unknown, via?: string): Promise<unknown>;
  /** A node's /metrics, parsed: `name{labels}` → value. */
  metrics(name: string): Promise<Map<string, number>>;
  status(via?: string): Promise<ClusterStatus>;
  /**
   * Kills every node (kill -9, like the faults) and etcd; resolves with the processes
   * that outlived their node — sandboxes must not — after killing them too.
   */
  stop(): Promise<string[]>;
}

export interface ClusterOptions {
  nodes?: number;
  etcdMembers?: 1 | 3;
  node?: Record<string, unknown>;
  cluster?: Record<string, unknown>;
  /** Extra apps, appended to CLUSTER_APPS (and entitled to the staff group). */
  apps?: unknown[];
  /** The `holdfast` CLI the nodes run (default: dist/broker/cli.js); the bench runs its own copy. */
  cli?: string;
  /** Names the node logs written to test-artifacts/ when the cluster stops. */
  tag?: string;
  /** With node.tls: what the harness trusts to reach the nodes over https. */
  trust?: Trust;
  /** Sandbox profiles over the test's small default (TEST_PROFILE): e.g. a larger home. */
  sandboxProfiles?: Record<string, unknown>;
  /** The nodes' sessionPolicies (e.g. one that lets an app hear the microphone). */
  sessionPolicies?: unknown[];
}

export async function startCluster(options: ClusterOptions = {}): Promise<TestCluster> {
  const CLI = options.cli ?? DIST_CLI;
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" first (npm test does)`);
  const apps = [...CLUSTER_APPS, ...(options.apps ?? [])];
  const count = options.nodes ?? 3;
  const trust = options.trust ?? SYSTEM_TRUST;
  const scheme = options.node?.tls ? 'https' : 'http';
  const etcd = await startEtcd({ members: options.etcdMembers ?? 1 });
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-cluster-test-'));
  // As /var/lib is: sandboxes run as their own users and pass through to their directories.
  chmodSync(dir, 0o711);
  const tokenKeyFile = join(dir, 'token.key');
  writeFileSync(tokenKeyFile, randomBytes(32).toString('base64') + '\n', { mode: 0o600 });
  const users = [
    { name: 'ann', passwordHash: await hashPassword('ann-pw', cheap), groups: ['staff'] },
    { name: 'bob', passwordHash: await hashPassword('bob-pw', cheap) },
    { name: 'admin', passwordHash: await hashPassword('admin-pw', cheap), groups: ['admins'] },
  ];
  const ports: number[] = [];
  for (let i = 0; i < count; i++) ports.push(await freePort());
  const configs = new Map<string, Record<string, unknown>>();
  const configFile = (i: number) => {
    const name = `node-${i + 1}`;
    const file = join(dir, `${name}.yaml`);
    if (configs.has(name)) return file;
    const config = {
      node: { name, listen: { host: '127.0.0.1', port: ports[i] }, stateDir: join(dir, name), tokenKeyFile, heartbeatMs: 2000, ...options.node },
      cluster: { controlPlane: { kind: 'etcd', endpoints: etcd.endpoints }, leaseTtlMs: 2000, keepAliveMs: 500, sharedDir: join(dir, 'shared'), ...options.cluster },
      users,
      apps,
      sandboxProfiles: { default: TEST_PROFILE, ...options.sandboxProfiles },
      entitlements: [
        { groups: ['staff'], apps: apps.map((a) => (a as { id: string }).id) },
        { users: ['bob'], apps: ['python'] },
      ],
      ...(options.sessionPolicies ? { sessionPolicies: options.sessionPolicies } : {}),
    };
    configs.set(name, config);
    writeFileSync(file, JSON.stringify(config, null, 2)); // JSON is YAML
    return file;
  };
  const nodes: ClusterNode[] = [];
  const retired: ClusterNode[] = [];
  const tag = options.tag ?? 'cluster';
  const launchNode = async (i: number): Promise<ClusterNode> => {
    const name = `node-${i + 1}`;
    const child = spawn(process.execPath, [CLI, 'node', '--config', configFile(i)], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, HOLDFAST_LOG_LEVEL: 'info' } });
    const node: ClusterNode = { name, url: `${scheme}://127.0.0.1:${ports[i]}`, stateDir: join(dir, name), process: child, pid: child.pid!, alive: true, log: [] };
    let partial = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      node.log.push(...lines);
    });
    child.once('exit', () => (node.alive = false));
    try {
      await waitHealthy(node, trust);
    } catch (error) {
      child.kill('SIGKILL');
      throw error;
    }
    return node;
  };
  try {
    for (let i = 0; i < count; i++) nodes.push(await launchNode(i));
  } catch (error) {
    // A node that would not start must not leave etcd and the others running.
    for (const node of nodes) node.process.kill('SIGKILL');
    await etcd.stop();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  let adminToken: string | null = null;
  const cluster: TestCluster = {
    etcd,
    trust,
    nodes,
    node: (name) => nodes.find((n) => n.name === name) ?? raise(`no node ${name}`),
    signal: (name, signal) => {
      const node = cluster.node(name);
      node.process.kill(signal);
      if (signal === 'SIGKILL') node.alive = false;
    },
    restart: async (name) => {
      const i = nodes.findIndex((n) => n.name === name);
      const old = nodes[i]!;
      if (old.process.exitCode === null && old.process.signalCode === null) {
        old.process.kill('SIGKILL');
        await new Promise((r) => old.process.once('exit', r));
      }
      retired.push(old);
      nodes[i] = await launchNode(i);
      return nodes[i]!;
    },
    stopGracefully: async (name) => {
      const node = cluster.node(name);
      if (!node.alive) return;
      const exited = new Promise((r) => node.process.once('exit', r));
      node.process.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
      if (node.alive) throw new Error(`${name} did not exit within 15 s of SIGTERM`);
    },
    editConfig: (name, edit) => {
      const config = configs.get(name) ?? raise(`no config for ${name}`);
      edit(config);
      // Written whole and renamed in, as a config-management tool would.
      const file = join(dir, `${name}.yaml`);
      writeFileSync(file + '.tmp', JSON.stringify(config, null, 2));
      renameSync(file + '.tmp', file);
    },
    admin: async (method, path, body, via) => {
      const url = via ?? nodes.find((n) => n.alive)!.url;
      adminToken ??= await signInToken(url, 'admin', 'admin-pw', trust);
      const reply = await requestJson(`${url}${path}`, { method, headers: { authorization: `Bearer ${adminToken}` }, body: method === 'POST' ? (body ?? {}) : undefined, timeoutMs: 60_000 }, trust);
      if (!reply.ok) throw new Error(`${method} ${path}: HTTP ${reply.status}: ${JSON.stringify(reply.body)}`);
      return reply.body;
    },
    metrics: async (name) => {
      const reply = await request(`${cluster.node(name).url}/metrics`, { timeoutMs: 5000 }, trust);
      if (!reply.ok) throw new Error(`${name}/metrics: HTTP ${reply.status}`);
      return parseMetrics(reply.text);
    },
    status: async (via) => {
      const url = via ?? nodes.find((n) => n.alive)!.url;
      adminToken ??= await signInToken(url, 'admin', 'admin-pw', trust);
      const reply = await requestJson(`${url}/api/status`, { headers: { authorization: `Bearer ${adminToken}` }, timeoutMs: 5000 }, trust);
      if (!reply.ok) throw new Error(`status: HTTP ${reply.status}: ${JSON.stringify(reply.body)}`);
      return reply.body as ClusterStatus;
    },
    stop: async () => {
      // Each node's log, for a failure's evidence.
      mkdirSync(artifacts, { recursive: true });
      for (const node of [...nodes, ...retired]) appendFileSync(join(artifacts, `cluster-${tag}-${node.name}.log`), node.log.join('\n') + '\n');
      for (const node of nodes) {
        node.process.kill('SIGCONT');
        node.process.kill('SIGKILL');
      }
      await etcd.stop();
      // Every sandbox mounts files from its directory (under `dir`): its mount table names it.
      const deadline = Date.now() + 3000;
      let left = processesMentioning(dir);
      while (left.length > 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        left = processesMentioning(dir);
      }
      for (const { pid } of left) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      rmSync(dir, { recursive: true, force: true });
      return left.map(({ pid, command }) => `${pid}: ${command.slice(0, 120)}`);
    },
  };
  process.on('exit', () => nodes.forEach((n) => n.process.kill('SIGKILL')));
  return cluster;
}

async function waitHealthy(node: ClusterNode, trust: Trust): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (!node.alive) throw new Error(`${node.name} exited while starting:\n${node.log.join('\n')}`);
    try {
      // Its own "listening" first: a healthy answer on its port could come from another process.
      if (node.log.some((line) => line.includes('"msg":"listening"')) && (await request(`${node.url}/healthz`, { timeoutMs: 500 }, trust)).ok) return;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${node.name} did not start within 15 s:\n${node.log.join('\n')}`);
}

export async function signInToken(url: string, user: string, password: string, trust: Trust = SYSTEM_TRUST): Promise<string> {
  const connection = new Connection({ brokerUrl: url, socketFactory: nodeSocketFactoryWith(trust), connectTimeoutMs: 5000 });
  try {
    await connection.open();
    return (await connection.request({ type: 'auth.signIn', user, password }, 'auth.signedIn')).accessToken;
  } finally {
    connection.close();
  }
}

export const sessionOf = (status: ClusterStatus, id: string) => status.sessions.find((s) => s.id === id);

/**
 * Each session fully replicated: its primary on a live node, one standby in the record
 * that runs (reports a log index), and no replica anywhere that the record does not name.
 */
export const whole = (...ids: string[]) => (status: ClusterStatus) =>
  ids.every((id) => {
    const s = sessionOf(status, id);
    if (!s || s.standbys.length !== 1 || !status.nodes.some((n) => n.name === s.primary)) return false;
    const replicas = Object.keys(s.logIndex);
    return replicas.length === 2 && [s.primary, ...s.standbys].every((n) => replicas.includes(n));
  });

/** Waits (bounded) until `check` passes on the cluster's status. */
export async function waitForStatus(cluster: TestCluster, check: (status: ClusterStatus) => boolean, timeoutMs = 15_000, via?: string): Promise<ClusterStatus> {
  const deadline = Date.now() + timeoutMs;
  let last: ClusterStatus | null = null;
  while (Date.now() < deadline) {
    try {
      last = await cluster.status(via);
      if (check(last)) return last;
    } catch {
      /* a node may be down mid-failover */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`cluster status did not settle within ${timeoutMs / 1000} s; last: ${JSON.stringify(last)}`);
}

/**
 * Prometheus text format → `name{label="value",…}` (labels sorted, the constant `node`
 * label left out) → value.
 */
export function parseMetrics(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) continue;
    const labels = [...(match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)]
      .filter((l) => l[1] !== 'node')
      .map((l) => `${l[1]}="${l[2]}"`)
      .sort();
    values.set(labels.length > 0 ? `${match[1]}{${labels.join(',')}}` : match[1]!, Number(match[3]));
  }
  return values;
}

function raise(message: string): never {
  throw new Error(message);
}
