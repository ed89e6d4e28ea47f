// `holdfast cluster --nodes 3 [--base-port 8081]`: a whole cluster on this machine,
// the way a person tries failover on a laptop — Debian's etcd and N demo nodes on
// loopback, sharing one token key. Prints each node's URL; Ctrl-C stops them all.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { DEMO_USERS } from '../config/demo.js';

const ETCD = '/usr/bin/etcd';

export async function runCluster(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { nodes: { type: 'string' }, 'base-port': { type: 'string' }, etcd: { type: 'string' } } });
  const count = Number(values.nodes ?? 3);
  const basePort = Number(values['base-port'] ?? 8081);
  if (!Number.isInteger(count) || count < 1 || count > 9) {
    process.stderr.write('holdfast cluster: --nodes must be a number from 1 to 9\n');
    return 2;
  }
  if (!Number.isInteger(basePort) || basePort < 1024 || basePort + count > 65535) {
    process.stderr.write('holdfast cluster: --base-port must be a port from 1024 up, with room for every node\n');
    return 2;
  }
  const etcdBinary = values.etcd ?? ETCD;
  if (!existsSync(etcdBinary)) {
    process.stderr.write(`holdfast cluster: ${etcdBinary} is missing; install it with "apt-get install etcd-server" (or pass --etcd PATH)\n`);
    return 1;
  }
  for (let i = 0; i < count; i++) {
    if (!(await portFree(basePort + i))) {
      process.stderr.write(`holdfast cluster: port ${basePort + i} is in use; pass another --base-port\n`);
      return 1;
    }
  }
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-cluster-'));
  const children: ChildProcess[] = [];
  let stopping = false;
  const stopAll = async () => {
    stopping = true;
    for (const child of children.slice(1).reverse()) child.kill('SIGTERM');
    await Promise.all(children.slice(1).map((c) => exited(c, 5000)));
    children[0]?.kill('SIGTERM');
    if (children[0]) await exited(children[0], 5000);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const [clientPort, peerPort] = [await freePort(), await freePort()];
    const etcdUrl = `http://127.0.0.1:${clientPort}`;
    const etcd = spawn(
      etcdBinary,
      [
        '--name', 'holdfast-etcd',
        '--data-dir', join(dir, 'etcd'),
        '--listen-client-urls', etcdUrl,
        '--advertise-client-urls', etcdUrl,
        '--listen-peer-urls', `http://127.0.0.1:${peerPort}`,
        '--initial-advertise-peer-urls', `http://127.0.0.1:${peerPort}`,
        '--initial-cluster', `holdfast-etcd=http://127.0.0.1:${peerPort}`,
        '--log-level', 'error',
        '--logger', 'zap',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    children.push(etcd);
    await waitHealthy(`${etcdUrl}/health`, 15_000, 'etcd');
    process.stdout.write(`etcd ${etcdUrl} (data in ${join(dir, 'etcd')})\n`);
    const tokenKey = join(dir, 'token.key');
    writeFileSync(tokenKey, randomBytes(32).toString('base64') + '\n', { mode: 0o600 });
    const urls: string[] = [];
    for (let i = 1; i <= count; i++) {
      const port = basePort + i - 1;
      const name = `node-${i}`;
      const child = spawn(
        process.execPath,
        [process.argv[1]!, 'node', '--demo', '--port', String(port), '--name', name, '--etcd', etcdUrl, '--token-key', tokenKey, '--state-dir', join(dir, name)],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      children.push(child);
      prefixLines(child, name);
      child.once('exit', (code, signal) => {
        if (!stopping) process.stdout.write(`${name} stopped (${signal ?? `exit code ${code}`})\n`);
      });
      urls.push(`http://127.0.0.1:${port}`);
    }
    for (const [i, url] of urls.entries()) await waitHealthy(`${url}/healthz`, 15_000, `node-${i + 1}`);
    process.stdout.write(
      urls.map((url, i) => `node-${i + 1}  ${url}  (pid ${children[i + 1]!.pid})`).join('\n') +
        `\n\nSign in at any node as demo / ${DEMO_USERS.demo}. Try failover: launch Python, then kill -9 the pid of the node` +
        `\nthat runs it (holdfast status --broker ${urls[0]} --user admin shows which; password ${DEMO_USERS.admin}).` +
        `\nCtrl-C stops the cluster.\n`,
    );
  } catch (error) {
    process.stderr.write(`holdfast cluster: ${error instanceof Error ? error.message : String(error)}\n`);
    await stopAll();
    return 1;
  }
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  process.stdout.write('\nstopping the cluster…\n');
  await stopAll();
  return 0;
}

/** Node logs are JSON lines; show warnings and errors, prefixed with the node's name. */
function prefixLines(child: ChildProcess, name: string): void {
  let partial = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      let shown = line;
      try {
        const entry = JSON.parse(line) as { level?: string; msg?: string; [key: string]: unknown };
        if (entry.level === 'info' || entry.level === 'debug') continue;
        const { time: _time, level, msg, node: _node, ...rest } = entry;
        shown = `${level}: ${msg} ${Object.keys(rest).length ? JSON.stringify(rest) : ''}`;
      } catch {
        /* not JSON: show as is */
      }
      process.stdout.write(`[${name}] ${shown}\n`);
    }
  });
}

async function waitHealthy(url: string, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const reply = await fetch(url, { signal: AbortSignal.timeout(500) });
      if (reply.ok) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not become healthy within ${timeoutMs / 1000} s (${url})`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function exited(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve();
    }, timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
