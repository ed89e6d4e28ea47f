// The broker node under test: the password hash and config of the bench catalog, and
// a node process started from the bench's copy of the build, tracked so it is always
// ended. Also how long a node's sandboxes take to go once their sessions end.
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import YAML from 'yaml';
import { descendants } from './proc.js';
import { noteDescendants, track, untrack } from './processes.js';
import { APPS, PASSWORD, USER, paths } from './settings.js';
import { sleep, until, withTimeout } from './timing.js';

/** Node flags from BENCH_NODE_FLAGS / BENCH_CLI_FLAGS. */
export const nodeFlags = (name: string) => (process.env[name] ?? '').split(/\s+/).filter(Boolean);

export async function hashPassword(): Promise<string> {
  const child = spawnSync(process.execPath, [paths.cli, 'user', 'hash', '--password-stdin'], {
    input: PASSWORD + '\n',
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (child.status !== 0) throw new Error(`holdfast user hash failed: ${child.stderr}`);
  return child.stdout.trim();
}

/**
 * What a part's own node adds to the bench's (part 14: a second person, recorded apps
 * and their session policy); the rest — listen, limits, sandbox profile — stays the
 * bench node's, so its figures compare with the other parts'.
 */
export interface ConfigExtras {
  /** The file and state directory's name in `dir` (default node.yaml, state). */
  name?: string;
  users?: string[];
  apps?: Array<(typeof APPS)[number]>;
  sessionPolicies?: object[];
}

export function writeConfig(dir: string, passwordHash: string, extras: ConfigExtras = {}) {
  const name = extras.name ?? 'node';
  const apps = [...APPS, ...(extras.apps ?? [])];
  const users = [USER, ...(extras.users ?? [])];
  const config = {
    // Part 5 holds 200 idle sessions of one person at once (and 1 + 50 before them): more
    // than the default per-person (10) and per-node (200) session limits allow.
    node: { name: 'bench', listen: { host: '127.0.0.1', port: 0 }, stateDir: join(dir, name === 'node' ? 'state' : `state-${name}`), limits: { sessionsPerUser: 260, sessionsPerNode: 300 } },
    users: users.map((user) => ({ name: user, displayName: user === USER ? 'Bench' : user, passwordHash })),
    apps,
    // 200 sessions at once: homes of 64 MiB (the default 1 GiB each is taken from the disk at launch).
    sandboxProfiles: { default: { maxHomeMiB: 64, maxHomeFiles: 16_384 } },
    entitlements: [{ users, apps: apps.map((a) => a.id) }],
    ...(extras.sessionPolicies ? { sessionPolicies: extras.sessionPolicies } : {}),
  };
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, YAML.stringify(config));
  return { file, config };
}

export interface BenchNode {
  pid: number;
  url: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

export async function startNode(configFile: string, logFile: string): Promise<BenchNode> {
  const log = openSync(logFile, 'a');
  const child = spawn(process.execPath, [...nodeFlags('BENCH_NODE_FLAGS'), paths.cli, 'node', '--config', configFile], {
    cwd: paths.root,
    stdio: ['ignore', 'pipe', log],
    env: { ...process.env, HOLDFAST_LOG_LEVEL: 'info' },
  });
  closeSync(log);
  const pid = child.pid!;
  track(pid, 'node', (signal) => child.kill(signal));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  void exited.then(() => untrack(pid));
  let out = '';
  const url = await withTimeout(
    new Promise<string>((resolve, reject) => {
      child.stdout!.on('data', (d) => {
        out += d;
        const m = /listening on (https?:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      void exited.then(({ code }) => reject(new Error(`node exited (code ${code}) before listening; see ${logFile}`)));
    }),
    20_000,
    'node to listen',
  );
  child.stdout!.resume();
  return {
    pid,
    url,
    exited,
    async stop() {
      noteDescendants(pid);
      child.kill('SIGTERM');
      const r = await Promise.race([exited, sleep(5000).then(() => null)]);
      if (!r) child.kill('SIGKILL');
      await exited;
    },
  };
}

export async function waitSandboxesGone(nodePid: number, ms = 10_000): Promise<void> {
  await until(() => descendants(nodePid).length === 0, ms, 'sandbox processes to exit', 5);
}
