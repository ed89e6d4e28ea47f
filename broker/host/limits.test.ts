// The mechanism detection and the files a session's limits are written to, against
// fake cgroup trees (plain directories): v2 with delegated controllers, v1 hierarchies,
// and neither. The real v1 path is exercised end to end by test/sandbox-escape.test.ts.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SandboxProfile } from '../config/schema.js';
import { SandboxLimits } from './limits.js';

let root: string;
afterEach(() => rmSync(root, { recursive: true, force: true }));
const profile = SandboxProfile.parse({ maxMemoryMiB: 256, maxProcesses: 100, maxCpuPercent: 150 });
const tag = { name: 'node-1', stateDir: '/var/lib/holdfast' };

function v1Tree(controllers: string[]): string {
  root = mkdtempSync(join(tmpdir(), 'cgroup-v1-'));
  const mountinfo = controllers.map((c, i) => `${30 + i} 25 0:${40 + i} / ${root}/${c} rw,relatime shared:${i} - cgroup cgroup rw,${c}`).join('\n');
  for (const c of controllers) mkdirSync(join(root, c, 'service'), { recursive: true });
  const selfCgroup = controllers.map((c, i) => `${i + 1}:${c}:/service`).join('\n') + '\n0::/';
  return JSON.stringify({ mountinfo, selfCgroup });
}

describe('session limits', () => {
  it('uses cgroup v1 where its hierarchies are writable, under the node’s own cgroup', () => {
    const env = { ...JSON.parse(v1Tree(['pids', 'memory', 'cpu'])), isRoot: true };
    const limits = SandboxLimits.detect(tag, env);
    expect(limits.mechanism).toBe('cgroup1');
    expect(limits.summary).toBe('cgroup v1: pids, memory, cpu');
    const session = limits.create('s1', profile)!;
    expect(session.procsFiles).toHaveLength(3);
    const dir = (c: string) => session.procsFiles.find((f) => f.startsWith(join(root, c, 'service', 'holdfast-node-1-')))!.replace(/cgroup\.procs$/, '');
    expect(readFileSync(join(dir('pids'), 'pids.max'), 'utf8')).toBe('100');
    expect(readFileSync(join(dir('memory'), 'memory.limit_in_bytes'), 'utf8')).toBe(String(256 * 1024 * 1024));
    expect(readFileSync(join(dir('cpu'), 'cpu.cfs_quota_us'), 'utf8')).toBe('150000');
    writeFileSync(join(dir('memory'), 'memory.oom_control'), 'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n');
    expect(session.oomKills()).toBe(2);
  });

  it('says what is missing when a v1 hierarchy is absent', () => {
    const env = { ...JSON.parse(v1Tree(['memory', 'cpu'])), isRoot: true };
    expect(SandboxLimits.detect(tag, env).summary).toBe('cgroup v1: memory, cpu (no process limit: a fork bomb is not contained)');
  });

  it('uses cgroup v2 when pids, memory and cpu are delegated', () => {
    root = mkdtempSync(join(tmpdir(), 'cgroup-v2-'));
    mkdirSync(join(root, 'svc'));
    writeFileSync(join(root, 'svc', 'cgroup.controllers'), 'cpuset cpu io memory pids\n');
    const env = { mountinfo: `30 25 0:26 / ${root} rw - cgroup2 cgroup2 rw`, selfCgroup: '0::/svc\n', isRoot: true };
    const limits = SandboxLimits.detect(tag, env);
    expect(limits.summary).toBe('cgroup v2: pids, memory, cpu');
    expect(readFileSync(join(root, 'svc', 'cgroup.subtree_control'), 'utf8')).toBe('+pids +memory +cpu');
    const session = limits.create('s2', profile)!;
    expect(session.procsFiles).toHaveLength(1);
    const dir = session.procsFiles[0]!.replace(/cgroup\.procs$/, '');
    expect(readFileSync(join(dir, 'memory.max'), 'utf8')).toBe(String(256 * 1024 * 1024));
    expect(readFileSync(join(dir, 'cpu.max'), 'utf8')).toBe('150000 100000');
    expect(readFileSync(join(dir, 'pids.max'), 'utf8')).toBe('100');
  });

  it('falls back to prlimit and says honestly what is not contained', () => {
    root = mkdtempSync(join(tmpdir(), 'cgroup-none-'));
    writeFileSync(join(root, 'cgroup.controllers'), '');
    const env = { mountinfo: `30 25 0:26 / ${root} rw - cgroup2 cgroup2 rw`, selfCgroup: '0::/\n', isRoot: true };
    const limits = SandboxLimits.detect(tag, env);
    expect(limits.mechanism).toBe('prlimit');
    expect(limits.summary).toMatch(/^prlimit only: memory per process \(address space\); no process limit for root, no CPU limit; cgroup v2: pids, memory, cpu not available/);
    expect(limits.create('s3', profile)).toBeNull();
    expect(SandboxLimits.detect(tag, { ...env, isRoot: false }).summary).toMatch(/no process or CPU limit/);
  });

  it('removes the sessions a previous run left, and only this node’s', () => {
    const env = { ...JSON.parse(v1Tree(['pids'])), isRoot: true };
    const first = SandboxLimits.detect(tag, env);
    first.create('left-behind', profile);
    const other = SandboxLimits.detect({ ...tag, stateDir: '/srv/other' }, env);
    other.create('not-mine', profile);
    const again = SandboxLimits.detect(tag, env);
    // (A fake tree's directories hold files, so its probe directories stay and show up too.)
    const removed = again.removeStale();
    expect(removed).toContain('left-behind');
    expect(removed).not.toContain('not-mine');
    expect(existsSync(join(root, 'pids', 'service'))).toBe(true);
  });
});
