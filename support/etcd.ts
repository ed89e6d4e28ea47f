// Test harness: real etcd (Debian's etcd-server) on loopback — one member or a
// three-member cluster, free ports, a temp data dir, fast raft timings — that can
// SIGKILL a member. Every process started here is killed when the test process exits.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ETCD_BINARY = '/usr/bin/etcd';
const HEALTH_DEADLINE_MS = 15_000;

export interface EtcdCluster {
  /** Client URLs, one per member, in member order. */
  endpoints: string[];
  /** SIGKILLs one member and waits for it to be gone. */
  kill(memberIndex: number): Promise<void>;
  /** Kills every member and removes the data directories. */
  stop(): Promise<void>;
}

/** Is etcd installed? (CI installs it; without it the etcd tests are skipped.) */
export function etcdAvailable(): boolean {
  return existsSync(ETCD_BINARY);
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

/** Ports this process has handed out: a port bound and closed may come up again at once. */
const handedOut = new Set<number>();

/**
 * This process's own range of ports: below the kernel's ephemeral range (32768 and up),
 * so no outgoing connection takes one, and apart from the other test workers' (vitest
 * runs test files in parallel processes, each with its VITEST_POOL_ID): a node killed
 * in one test file gets its port back when it restarts, where a port picked by the
 * kernel could meanwhile go to another file's cluster (found by CI: a restarted node
 * met another cluster on its port).
 */
const RANGE = 4000;
const rangeStart = 12000 + ((Number(process.env.VITEST_POOL_ID ?? process.pid) || 0) % 5) * RANGE;

/**
 * A loopback port nothing listens on now, and never one this process handed out before:
 * two quick probes could be given the same port, and two nodes of one test cluster were
 * (found by CI: the second could not listen, and the first answered for it).
 */
export async function freePort(): Promise<number> {
  return (await freePorts(1))[0]!;
}

/** `count` consecutive such ports (a `holdfast cluster --base-port`). */
export async function freePorts(count: number): Promise<number[]> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const first = rangeStart + Math.floor(Math.random() * (RANGE - count));
    const ports = Array.from({ length: count }, (_, i) => first + i);
    if (ports.some((port) => handedOut.has(port))) continue;
    if ((await Promise.all(ports.map(portFree))).every(Boolean)) {
      for (const port of ports) handedOut.add(port);
      return ports;
    }
  }
  throw new Error(`no ${count} free loopback ports in ${rangeStart}–${rangeStart + RANGE - 1} that this process had not handed out already`);
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

interface Member {
  name: string;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
  process?: ChildProcess;
  exited?: Promise<void>;
  stderr: string;
}

export async function startEtcd(options: { members?: 1 | 3 } = {}): Promise<EtcdCluster> {
  if (!etcdAvailable()) throw new Error(`${ETCD_BINARY} is not installed (apt-get install etcd-server)`);
  installExitHook();
  const count = options.members ?? 1;
  const root = mkdtempSync(join(tmpdir(), 'holdfast-etcd-'));
  const token = `holdfast-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
  const members: Member[] = [];
  for (let i = 0; i < count; i++) {
    members.push({
      name: `m${i}`,
      clientUrl: `http://127.0.0.1:${await freePort()}`,
      peerUrl: `http://127.0.0.1:${await freePort()}`,
      dataDir: join(root, `m${i}`),
      stderr: '',
    });
  }
  const initialCluster = members.map((m) => `${m.name}=${m.peerUrl}`).join(',');

  for (const member of members) {
    const child = spawn(
      ETCD_BINARY,
      [
        '--name', member.name,
        '--data-dir', member.dataDir,
        '--listen-client-urls', member.clientUrl,
        '--advertise-client-urls', member.clientUrl,
        '--listen-peer-urls', member.peerUrl,
        '--initial-advertise-peer-urls', member.peerUrl,
        '--initial-cluster', initialCluster,
        '--initial-cluster-state', 'new',
        '--initial-cluster-token', token,
        '--heartbeat-interval', '50',
        '--election-timeout', '500',
        '--logger', 'zap',
        '--log-level', 'error',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    running.add(child);
    member.process = child;
    member.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.once('exit', () => running.delete(child));
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (text: string) => {
      member.stderr = (member.stderr + text).slice(-4000);
    });
  }

  const killMember = async (member: Member): Promise<void> => {
    const child = member.process;
    if (!child) return;
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await member.exited;
  };
  const stop = async (): Promise<void> => {
    await Promise.all(members.map(killMember));
    rmSync(root, { recursive: true, force: true });
  };

  try {
    await waitHealthy(members);
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    endpoints: members.map((m) => m.clientUrl),
    kill: async (memberIndex: number) => {
      const member = members[memberIndex];
      if (!member) throw new Error(`no etcd member ${memberIndex}`);
      await killMember(member);
    },
    stop,
  };
}

async function waitHealthy(members: Member[]): Promise<void> {
  const deadline = Date.now() + HEALTH_DEADLINE_MS;
  const pending = new Set(members);
  while (pending.size > 0) {
    for (const member of [...pending]) {
      const exited = member.process?.exitCode !== null || member.process?.signalCode !== null;
      if (exited) throw new Error(`etcd ${member.name} exited during start-up:\n${member.stderr}`);
      try {
        const response = await fetch(`${member.clientUrl}/health`, { signal: AbortSignal.timeout(500) });
        const body = (await response.json()) as unknown;
        if (typeof body === 'object' && body !== null && (body as { health?: unknown }).health === 'true') pending.delete(member);
      } catch {
        // not listening yet
      }
    }
    if (pending.size === 0) return;
    if (Date.now() > deadline) {
      const tails = [...pending].map((m) => `--- ${m.name} (${m.clientUrl}) stderr ---\n${m.stderr || '(empty)'}`).join('\n');
      throw new Error(`etcd did not become healthy within ${HEALTH_DEADLINE_MS} ms:\n${tails}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
