// `holdfast cluster` and `holdfast status`, as a person tries failover on a laptop:
// start etcd and three nodes, see their URLs, sign in, see the cluster's status as a
// table and as JSON, then Ctrl-C stops every process it started.
import { spawn, execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePorts } from '../support/etcd.js';
import { alive, client, launch } from '../support/harness.js';
import { descendants } from './demo-node.js';

const CLI = resolve(import.meta.dirname, '..', 'dist', 'broker', 'cli.js');

describe('holdfast cluster', () => {
  it('starts etcd and three nodes, shows them in holdfast status, and stops them all on Ctrl-C', async () => {
    // Three consecutive free ports from this test worker's own range (below the kernel's
    // ephemeral range, apart from the other workers': support/etcd.ts).
    const base = (await freePorts(3))[0]!;
    const child = spawn(process.execPath, [CLI, 'cluster', '--nodes', '3', '--base-port', String(base)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    try {
      const deadline = Date.now() + 30_000;
      while (!/Ctrl-C stops the cluster/.test(out)) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`holdfast cluster did not come up:\n${out}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const nodes = [...out.matchAll(/^(node-\d)\s+(http:\/\/127\.0\.0\.1:\d+)\s+\(pid (\d+)\)$/gm)].map((m) => ({ name: m[1]!, url: m[2]!, pid: Number(m[3]) }));
      expect(nodes.map((n) => n.name)).toEqual(['node-1', 'node-2', 'node-3']);
      expect(nodes.map((n) => n.url)).toEqual([0, 1, 2].map((i) => `http://127.0.0.1:${base + i}`));

      const demo = client(nodes[1]!.url);
      await demo.signIn('demo', 'demo');
      const stream = await launch(demo, 'python');
      const env = { ...process.env, HOLDFAST_PASSWORD: 'admin' };
      // The session is listed with a primary and, once it has joined, one standby.
      let table = '';
      for (let i = 0; i < 50 && !/python\s+1\s+node-\d\s+node-\d/.test(table); i++) {
        table = execFileSync(process.execPath, [CLI, 'status', '--broker', nodes[0]!.url, '--user', 'admin'], { env, encoding: 'utf8' });
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(table).toMatch(/^NODE\s+ADDRESS\s+PID\s+VERSION\s+LOAD\s+ACCEPTING/m);
      for (const node of nodes) expect(table).toContain(`${node.name}  ${node.url}  ${node.pid}`);
      expect(table).toMatch(/demo\s+python\s+1\s+node-\d\s+node-\d/);
      // Each node says how it confines its apps (asked of every node, not guessed by the one that answers).
      for (const node of nodes) expect(table).toMatch(new RegExp(`^${node.name}\\s+(cgroup v2|cgroup v1|prlimit only)[^\\n]*\\s+on: \\d+ syscalls denied\\s+(a uid per session|root in a user namespace)[^\\n]*$`, 'm'));
      const json = JSON.parse(execFileSync(process.execPath, [CLI, 'status', '--broker', nodes[2]!.url, '--user', 'admin', '--json'], { env, encoding: 'utf8' })) as {
        sessions: Array<{ id: string; user: string; primary: string; standbys: string[]; logIndex: Record<string, number> }>;
        nodes: Array<{ sandbox?: { limits: string; seccomp: string } | null }>;
      };
      expect(json.nodes.map((n) => n.sandbox?.limits)).toEqual(json.nodes.map(() => expect.stringMatching(/^(cgroup v2|cgroup v1|prlimit only)/)));
      const session = json.sessions.find((s) => s.id === stream.sessionId)!;
      expect(session).toMatchObject({ user: 'demo' });
      expect(Object.keys(session.logIndex).sort()).toEqual([session.primary, ...session.standbys].sort());
      // Only admins see the cluster.
      expect(() => execFileSync(process.execPath, [CLI, 'status', '--broker', nodes[0]!.url, '--user', 'demo'], { env: { ...process.env, HOLDFAST_PASSWORD: 'demo' }, encoding: 'utf8', stdio: 'pipe' })).toThrow(/Only members of the "admins" group/);
      stream.close();
      demo.signOut();

      child.kill('SIGINT');
      await new Promise((r) => child.once('exit', r));
      expect(child.exitCode).toBe(0);
      for (const node of nodes) expect(alive(node.pid), `${node.name} still running`).toBe(false);
    } finally {
      // A failed check must not leave etcd and three nodes running: kill what it started.
      if (child.exitCode === null) {
        const started = descendants(child.pid!);
        child.kill('SIGKILL');
        for (const pid of started) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            /* gone */
          }
        }
      }
    }
  }, 90_000);
});
