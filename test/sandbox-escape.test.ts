// Escape attempts from inside sandboxed apps, as an app gone bad would make them: the
// node's files, other sessions' homes, the network, ptrace, mount, keyrings, terminal
// injection, a fork bomb and a memory hog. Each must be contained, and afterwards the
// node must still serve another session and be itself unharmed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HoldfastClient, SessionStream } from '../shared/core/index.js';
import { Screen, client, launch, sh, startNode, type TestNode } from '../support/harness.js';
import { DEFAULT_PROFILE } from '../broker/registry/replica-factory.js';

const SMALL = { maxMemoryMiB: 128, maxProcesses: 48, maxCpuPercent: 50 };
// Allocates 8 MiB at a time and touches it, until something stops it.
const HOG = 'b=[]\nwhile True: b.append(bytearray(8 << 20))';

let root: string;
/** Symlinks a profile binds: to the node's config directory, and into its stateDir. */
let links: string;
let t: TestNode;
let ann: HoldfastClient;
let stream: SessionStream;
let screen: Screen;
const run = (command: string, timeoutMs?: number) => sh(stream, screen, command, timeoutMs);
const py = (code: string) => `python3 -c '${code.replace(/'/g, `'"'"'`)}'`;
/** ctypes syscall from inside: prints the result and errno text. */
const syscall = (nr: number, ...args: number[]) =>
  py(`import ctypes, os; libc = ctypes.CDLL(None, use_errno=True); r = libc.syscall(${[nr, ...args].join(', ')}); print("result", r, os.strerror(ctypes.get_errno()) if r < 0 else "ok")`);

beforeAll(async () => {
  // The node's files in a directory a sandbox profile binds read-only ("binds"): the
  // config, the token key, and stateDir with every session's home in it.
  root = mkdtempSync(join(tmpdir(), 'holdfast-escape-'));
  chmodSync(root, 0o711); // as /var/lib is: sandboxes, running as their own users, pass through to theirs
  writeFileSync(join(root, 'node.yaml'), 'secret: config-file-contents\n', { mode: 0o600 });
  writeFileSync(join(root, 'notes.txt'), 'ordinary shared file\n');
  links = mkdtempSync(join(tmpdir(), 'holdfast-links-'));
  chmodSync(links, 0o711);
  symlinkSync(root, join(links, 'config'));
  symlinkSync(join(root, 'state', 'sandboxes'), join(links, 'homes'));
  t = await startNode({
    configFile: join(root, 'node.yaml'),
    node: { stateDir: join(root, 'state'), tokenKeyFile: join(root, 'token.key') },
    sandboxProfiles: { binds: { readOnlyPaths: [root] }, small: SMALL, linked: { readOnlyPaths: [join(links, 'config'), join(links, 'homes')] } },
    apps: [
      { id: 'binds', name: 'Binds', command: '/bin/bash', args: ['--norc', '--noprofile', '-i'], env: { PS1: '$ ' }, sandbox: 'binds' },
      { id: 'small', name: 'Small', command: '/bin/bash', args: ['--norc', '--noprofile', '-i'], env: { PS1: '$ ' }, sandbox: 'small' },
      { id: 'linked', name: 'Linked', command: '/bin/bash', args: ['--norc', '--noprofile', '-i'], env: { PS1: '$ ' }, sandbox: 'linked' },
      { id: 'hog', name: 'Hog', command: '/usr/bin/python3', args: ['-c', `import time; time.sleep(0.5)\n${HOG}`], sandbox: 'small' },
    ],
  });
  ann = client(t.url);
  await ann.signIn('ann', 'ann-pw');
  stream = await launch(ann, 'binds', 160, 40);
  screen = new Screen(stream);
  await screen.waitFor('$ ');
}, 30_000);
afterAll(async () => {
  ann?.signOut();
  const cgroups = t?.node.ctx.sessions.sandbox.limits.directories ?? [];
  await t?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
  if (links) rmSync(links, { recursive: true, force: true });
  // A stopped node leaves no cgroups behind.
  for (let i = 0; i < 40 && cgroups.some((dir) => existsSync(dir)); i++) await new Promise((r) => setTimeout(r, 100));
  expect(cgroups.filter((dir) => existsSync(dir))).toEqual([]);
});

async function shell(appId = 'shell'): Promise<{ stream: SessionStream; screen: Screen; run: (c: string) => Promise<{ output: string; status: number }> }> {
  const s = await launch(ann, appId, 160, 40);
  const view = new Screen(s);
  await view.waitFor('$ ');
  return { stream: s, screen: view, run: (c) => sh(s, view, c) };
}

/** What a person would notice if the node were harmed: a new session starts and echoes what they type. */
async function nodeStillServes(): Promise<void> {
  const other = await launch(ann, 'cat');
  const view = new Screen(other);
  const word = `still-here-${Math.random().toString(36).slice(2, 8)}`;
  other.sendInput(`${word}\r`);
  await view.waitFor(new RegExp(`${word}[\\s\\S]*${word}`), 10_000);
  other.close();
  // The node's own process can still start processes and has not grown.
  expect(spawnSync('true').status).toBe(0);
  expect(process.memoryUsage().rss).toBeLessThan(1024 * 1024 * 1024);
}

/** The node's session cgroups in the pids hierarchy (cgroup v1), if that is the mechanism. */
function pidsCgroups(): string[] {
  const own = readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => l.split(':')[1]?.split(',').includes('pids'))?.split(':')[2];
  if (own === undefined || !existsSync('/sys/fs/cgroup/pids')) return [];
  const base = join('/sys/fs/cgroup/pids', own);
  return readdirSync(base)
    .filter((d) => d.startsWith('holdfast-test-node-'))
    .flatMap((d) => readdirSync(join(base, d), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => join(base, d, e.name)));
}

const limits = () => t.node.ctx.sessions.sandbox.limits;

/**
 * Where a file a session wrote in its home is on the host: `path` under stateDir, and
 * `seen`, where the host reads it — the home is a volume mounted in the sandbox
 * launcher's own mount namespace (broker/host/home-volume.ts), so through a process of
 * that namespace; the path itself where homes are plain directories.
 */
function homeFile(name: string): { path: string; seen: string } | undefined {
  const sandboxes = join(root, 'state', 'sandboxes');
  const launchers = readdirSync('/proc').filter((pid) => /^\d+$/.test(pid) && safeRead(`/proc/${pid}/cmdline`).includes('holdfast-init'));
  for (const id of readdirSync(sandboxes)) {
    const path = join(sandboxes, id, 'home', name);
    const seen = [path, ...launchers.map((pid) => `/proc/${pid}/root${path}`)].find((p) => existsSync(p));
    if (seen) return { path, seen };
  }
  return undefined;
}

function safeRead(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

describe('escape attempts from inside a sandbox', () => {
  it("cannot read the host's secrets, the node's config or token key, even from a bound directory", async () => {
    const key = readFileSync(join(root, 'token.key'));
    expect(key.length).toBeGreaterThan(0);
    // The bind itself works: an ordinary file next to the node's files is readable.
    expect((await run(`cat ${root}/notes.txt`)).output).toContain('ordinary shared file');
    expect((await run('cat /etc/shadow')).status).not.toBe(0);
    expect((await run('ls /root')).status).not.toBe(0);
    const config = await run(`cat ${root}/node.yaml`);
    expect(config.output).not.toContain('config-file-contents');
    const token = await run(`od -An -tx1 ${root}/token.key | tr -d ' \\n'`);
    expect(token.output).not.toContain(key.toString('hex').slice(0, 32));
    expect((await run(`ls -A ${root}/state | wc -l`)).output.trim()).toBe('0');
  });

  it("cannot reach another session's home by any path", async () => {
    const a = await shell();
    const tag = `private-${Math.random().toString(36).slice(2, 8)}`;
    expect((await a.run(`echo secret > ~/${tag}.txt && ls ~`)).output).toContain(tag);
    // Where it is on the host: under stateDir, which the "binds" profile's directory holds.
    const hostPath = homeFile(`${tag}.txt`)?.path;
    expect(hostPath, 'the first session wrote its file on the host').toBeDefined();
    expect((await run(`cat ${hostPath}`)).output).not.toContain('secret');
    expect((await run(`cat ~/${tag}.txt /home/*/${tag}.txt /proc/*/root/home/user/${tag}.txt /proc/*/cwd/${tag}.txt`)).output).not.toContain('secret');
    // A walk of the whole tree (/usr alone is over 100,000 files): more than 10 s on a cold cache.
    expect((await run(`find / -name '${tag}*' -not -path '/proc/*' 2>/dev/null | wc -l`, 45_000)).output.trim()).toBe('0');
    // Its processes are not even visible: only this sandbox's few.
    expect(Number((await run('ls -d /proc/[0-9]* | wc -l')).output.trim())).toBeLessThan(10);
    a.stream.close();
    await nodeStillServes();
  }, 60_000);

  it("runs as its own unprivileged host user: not root, not another session's, and owning only its home", async (ctx) => {
    const users = t.node.ctx.sessions.sandbox.info.users ?? '';
    if (users.startsWith('root in a user namespace')) return ctx.skip(`no uid per session on this machine: ${users}`);
    expect(users).toMatch(/^a uid per session \(2000000000–2000065535\)$/);
    const a = await shell();
    const b = await shell();
    const owners: number[] = [];
    for (const s of [a, b]) {
      const tag = `mine-${Math.random().toString(36).slice(2, 8)}`;
      expect((await s.run(`id -u; touch ~/${tag}`)).output.trim()).toBe('1000'); // inside, everyone is "user"
      const file = homeFile(tag)!;
      owners.push(statSync(file.seen).uid);
      // Its sandbox directory (passwd, group, home) is that user's too.
      expect(statSync(join(file.path, '..', '..')).uid).toBe(owners.at(-1));
    }
    expect(owners[0]).toBeGreaterThanOrEqual(2_000_000_000);
    expect(owners[1]).toBeGreaterThanOrEqual(2_000_000_000);
    expect(owners[0]).not.toBe(owners[1]);
    // Seen from the host, the sandboxes' processes run as those users.
    const hostUids = spawnSync('ps', ['-eo', 'uid=,args='], { encoding: 'utf8' }).stdout.split('\n').filter((line) => /holdfast-init/.test(line)).map((line) => Number(line.trim().split(/\s+/)[0]));
    for (const uid of owners) expect(hostUids).toContain(uid);
    a.stream.close();
    b.stream.close();
    await nodeStillServes();
  }, 60_000);

  it("cannot read the node's files through a bound symlink: the link's target is what is checked and bound", async () => {
    const linked = await shell('linked');
    // The bind works: the link's target is there, under the link's name.
    expect((await linked.run(`cat ${links}/config/notes.txt`)).output).toContain('ordinary shared file');
    // A config file left readable to all, as happens: what is seen there is an empty file.
    chmodSync(join(root, 'node.yaml'), 0o644);
    try {
      expect((await linked.run(`cat ${links}/config/node.yaml`)).output).not.toContain('config-file-contents');
      expect((await linked.run(`stat -c %s ${links}/config/node.yaml ${links}/config/token.key`)).output.trim().split(/\s+/)).toEqual(['0', '0']);
    } finally {
      chmodSync(join(root, 'node.yaml'), 0o600);
    }
    expect((await linked.run(`ls -A ${links}/config/state | wc -l`)).output.trim()).toBe('0');
    // A link into stateDir itself (every session's home is there) shows an empty directory.
    expect((await linked.run(`ls -A ${links}/homes | wc -l`)).output.trim()).toBe('0');
    linked.stream.close();
  });

  it("shows nothing of the host's paths through /proc: not bwrap's command line, not its environment", async () => {
    // pid 1 inside is the sandbox's init, exec'd by bwrap (--as-pid-1): every process's argv and environment.
    const seen = await run('cat /proc/[0-9]*/cmdline /proc/[0-9]*/environ 2>/dev/null | tr "\\0" "\\n"');
    expect(seen.output).toContain('/run/holdfast-init');
    expect(seen.output).not.toContain(root);
    expect(seen.output).not.toContain(tmpdir());
    expect(seen.output).not.toMatch(/sandboxes|seccomp|holdfast-escape/);
  });

  it("holds a session to its own terminals: one that opens PTYs until refused gets its profile's cap, and others still open theirs", async (ctx) => {
    const terminals = t.node.ctx.sessions.sandbox.info.terminals;
    if (terminals?.startsWith('shared')) return ctx.skip(`no terminal cap on this machine: ${terminals}`);
    const hog = await shell();
    // Bounded by itself too (300 at most), should the cap be missing: the host's pool is shared with whatever else runs here.
    hog.stream.sendInput(
      `${py('import os, sys\nf = []\ntry:\n    while len(f) < 600:\n        f += os.openpty()\n    print("opened", len(f) // 2, "unbounded")\nexcept OSError as e:\n    print("opened", len(f) // 2, "then:", e.strerror)\nsys.stdin.readline()')}\r`,
    );
    const match = await hog.screen.waitFor(/opened (\d+) (unbounded|then: .*)/, 10_000);
    expect(Number(match[1])).toBe(DEFAULT_PROFILE.maxTerminals);
    expect(match[2]).toBe('then: No space left on device');
    // While it holds them: another session opens a PTY, and a program that runs another on one (script) works.
    const other = await shell();
    expect((await other.run(py('import os\nm, s = os.openpty()\nprint("got", os.ttyname(s))'))).output).toMatch(/got \/dev\/pts\/0/);
    expect((await other.run('script -qc "tty" /dev/null')).output).toMatch(/\/dev\/pts\/\d+/);
    hog.stream.sendInput('\r');
    hog.stream.close();
    other.stream.close();
    await nodeStillServes();
  }, 30_000);

  it('cannot connect to a port listening on the host', async () => {
    let connections = 0;
    const server: Server = createServer((socket) => {
      connections += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const attempt = await run(py(`import socket; socket.create_connection(("127.0.0.1", ${port}), timeout=3); print("connected")`));
      expect(attempt.output).not.toContain('connected');
      expect(attempt.output).toMatch(/Network is unreachable|Connection refused/);
      expect(connections).toBe(0);
    } finally {
      server.close();
    }
  });

  it('runs under the seccomp filter, and ptrace is refused', async () => {
    expect((await run('grep Seccomp: /proc/self/status')).output).toMatch(/Seccomp:\s+2/);
    // The filter's file was for bwrap alone: no descriptor of it is left open inside.
    expect((await run('ls -l /proc/$$/fd /proc/1/fd')).output).not.toMatch(/seccomp|holdfast-escape/);
    const trace = await run(
      py(
        'import ctypes, os, time\nlibc = ctypes.CDLL(None, use_errno=True)\npid = os.fork()\nif pid == 0:\n    time.sleep(5); os._exit(0)\nr = libc.ptrace(16, pid, 0, 0)\nprint("attach", r, os.strerror(ctypes.get_errno()))\nos.kill(pid, 9)',
      ),
    );
    expect(trace.output).toContain('attach -1 Operation not permitted');
    // strace (if installed) cannot trace either.
    if ((await run('test -x /usr/bin/strace')).status === 0) expect((await run('strace -f true')).status).not.toBe(0);
    await nodeStillServes();
  });

  it('cannot mount, make namespaces, or use keyrings, bpf and kernel modules', async () => {
    expect((await run(syscall(165, 0, 0, 0, 0, 0))).output).toContain('result -1 Operation not permitted'); // mount
    expect((await run(syscall(272, 0x10000000))).output).toContain('result -1 Operation not permitted'); // unshare(CLONE_NEWUSER)
    expect((await run(syscall(250, 0, -3, 0))).output).toContain('result -1 Operation not permitted'); // keyctl(GET_KEYRING_ID, session)
    expect((await run(syscall(321, 0, 0, 0))).output).toContain('result -1 Operation not permitted'); // bpf
    expect((await run('unshare -Urm true')).status).not.toBe(0);
    expect((await run('setarch -R true')).status).not.toBe(0); // personality(ADDR_NO_RANDOMIZE)
    // Loading a kernel module kills the process outright (SIGSYS: 128 + 31).
    expect((await run(syscall(175, 0, 0, 0))).status).toBe(159);
    await nodeStillServes();
  });

  it('cannot inject keystrokes into its terminal (TIOCSTI)', async () => {
    const attempt = await run(py('import fcntl, termios\ntry:\n    fcntl.ioctl(0, termios.TIOCSTI, b"X")\n    print("injected")\nexcept OSError as e:\n    print("refused:", e.strerror)'));
    expect(attempt.output).toContain('refused: Operation not permitted');
  });

  it('a fork bomb stays inside its session', async (ctx) => {
    if (!limits().controllers.includes('pids')) return ctx.skip(`no process limit on this machine: ${limits().summary}`);
    const bomb = await shell('small');
    // Bounded by itself too (500 children at most), should the limit be missing.
    const forks = await bomb.run(
      py(
        'import os, time\nkids = []\ntry:\n    while len(kids) < 500:\n        pid = os.fork()\n        if pid == 0:\n            time.sleep(30); os._exit(0)\n        kids.append(pid)\n    print("forked", len(kids), "unbounded")\nexcept OSError as e:\n    print("forked", len(kids), "then:", e.strerror)\nfor k in kids: os.kill(k, 9)\nfor k in kids: os.waitpid(k, 0)',
      ),
    );
    const match = /forked (\d+) then: (.*)/.exec(forks.output);
    expect(match, forks.output).not.toBeNull();
    expect(Number(match![1])).toBeLessThan(SMALL.maxProcesses);
    expect(match![2]).toContain('Resource temporarily unavailable');
    // The classic: it keeps the session at its limit while the node serves others.
    bomb.stream.sendInput(':(){ :|:& };:\r');
    const current = (dir: string) => Number(readFileSync(join(dir, 'pids.current'), 'utf8'));
    // It reaches the limit within a second on an idle machine; the session's CPU share is small and CI is loaded.
    let full: string | undefined;
    for (let i = 0; i < 100 && !full; i++) {
      await new Promise((r) => setTimeout(r, 100));
      full = pidsCgroups().find((dir) => current(dir) === SMALL.maxProcesses);
    }
    expect(full, 'one session sits at its process limit').toBeDefined();
    await nodeStillServes();
    expect((await run('echo unaffected')).output).toContain('unaffected');
    // Ending the session ends the bomb: every process and the session's cgroups go.
    bomb.stream.close();
    const deadline = Date.now() + 10_000;
    while (existsSync(full!) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(existsSync(full!)).toBe(false);
  }, 60_000);

  it('a memory hog is stopped at its limit; the shell it ran in goes on', async (ctx) => {
    if (!limits().controllers.includes('memory')) return ctx.skip(`no session memory limit on this machine: ${limits().summary}`);
    const small = await shell('small');
    const hog = await small.run(py(HOG));
    expect(hog.status).toBe(137);
    expect(hog.output).toMatch(/Killed/);
    expect((await small.run('echo alive')).output).toContain('alive');
    small.stream.close();
    await nodeStillServes();
  }, 60_000);

  it('an app that runs out of memory ends with a message that says so and what to do', async (ctx) => {
    if (!limits().controllers.includes('memory')) return ctx.skip(`no session memory limit on this machine: ${limits().summary}`);
    const hog = ann.launch('hog', 80, 24);
    const view = await hog.finished();
    expect(view.reason).toMatch(/Hog ran out of memory: it reached the 128 MiB its sandbox allows/);
    expect(view.reason).toMatch(/ask your administrator to raise maxMemoryMiB/);
    await nodeStillServes();
  }, 60_000);

  it('says which limits apply on this node', async () => {
    const info = t.node.ctx.sessions.sandbox.info;
    expect(info.seccomp).toMatch(/^on: \d+ syscalls denied/);
    // This machine's mechanism, as the node found it (holdfast status shows the same text).
    expect(info.limits).toMatch(/^(cgroup v2|cgroup v1|prlimit only)/);
  });
});
