// Test harness: a real broker node in this process (port 0, real bubblewrap, real
// PTYs), and clients that speak the real protocol through the shared session core.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { hashPassword } from '../broker/auth/password.js';
import { NodeConfig } from '../broker/config/schema.js';
import { createLogger, silentLogger } from '../broker/log.js';
import { BrokerNode } from '../broker/node.js';
import { nodeSocketFactory } from '../broker/cli/connect.js';
import { HoldfastClient, type ClientOptions, type SessionStream } from '../shared/core/index.js';
import { SUBPROTOCOL, BEARER_PREFIX } from '../shared/protocol/index.js';

export interface TestNode {
  node: BrokerNode;
  url: string;
  stateDir: string;
  stop(): Promise<void>;
}

const cheap = { N: 1024, r: 8, p: 1 };

/**
 * Users ann (staff: every app) and bob (python only), and with `admin: true` admin (admins
 * group); password = name + "-pw". `users` adds more; `oidc` is the config's oidc: section.
 */
/** The default sandbox profile of test nodes: small homes (see startNode). */
export const TEST_PROFILE = { maxHomeMiB: 64, maxHomeFiles: 16_384 };

export async function startNode(
  overrides: {
    node?: Record<string, unknown>;
    apps?: unknown[];
    entitlements?: unknown[];
    webRoot?: string;
    sandboxProfiles?: Record<string, unknown>;
    configFile?: string;
    admin?: boolean;
    users?: unknown[];
    oidc?: Record<string, unknown>;
    sessionPolicies?: unknown[];
    transferPolicies?: unknown[];
  } = {},
): Promise<TestNode> {
  const stateDir = mkdtempSync(join(tmpdir(), 'holdfast-test-'));
  const apps = [
    { id: 'shell', name: 'Shell', command: '/bin/bash', args: ['--norc', '--noprofile', '-i'], env: { PS1: '$ ' } },
    { id: 'python', name: 'Python', command: '/usr/bin/python3', args: ['-q'] },
    { id: 'cat', name: 'Cat', command: '/bin/cat' },
    ...(overrides.apps ?? []),
  ];
  const config = NodeConfig.parse({
    node: { name: 'test-node', listen: { host: '127.0.0.1', port: 0 }, stateDir, ...overrides.node },
    users: [
      { name: 'ann', passwordHash: await hashPassword('ann-pw', cheap), groups: ['staff'] },
      { name: 'bob', passwordHash: await hashPassword('bob-pw', cheap) },
      ...(overrides.admin ? [{ name: 'admin', passwordHash: await hashPassword('admin-pw', cheap), groups: ['admins'] }] : []),
      ...(overrides.users ?? []),
    ],
    ...(overrides.oidc ? { oidc: overrides.oidc } : {}),
    ...(overrides.sessionPolicies ? { sessionPolicies: overrides.sessionPolicies } : {}),
    ...(overrides.transferPolicies ? { transferPolicies: overrides.transferPolicies } : {}),
    apps,
    // Homes of 64 MiB, not the default 1 GiB: each home's space is taken from the disk
    // when its session starts, and test files run sessions side by side.
    sandboxProfiles: { default: TEST_PROFILE, ...overrides.sandboxProfiles },
    entitlements: overrides.entitlements ?? [
      { groups: ['staff'], apps: apps.map((app) => (app as { id: string }).id) },
      { users: ['bob'], apps: ['python'] },
    ],
  });
  // HOLDFAST_DEBUG_LOG=1: the node's log on stderr, to see why a test failed.
  const log = process.env.HOLDFAST_DEBUG_LOG ? createLogger() : silentLogger;
  const node = new BrokerNode({ config, webRoot: overrides.webRoot ?? join(stateDir, 'no-web'), log, ...(overrides.configFile ? { configFile: overrides.configFile } : {}) });
  const url = await node.start();
  return {
    node,
    url,
    stateDir,
    stop: async () => {
      await node.stop();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/** `options`: more of the client's options (a screen's scale for graphical apps, …). */
export function client(url: string, options: Partial<ClientOptions> = {}): HoldfastClient {
  return new HoldfastClient({ brokerUrl: url, socketFactory: nodeSocketFactory, connectTimeoutMs: 5000, ...options });
}

/** Collects a session's output as text and waits for patterns in it. */
export class Screen {
  text = '';
  private waiters: Array<() => void> = [];
  /** How many times the host's snapshot replaced the screen (resumes). */
  resets = 0;

  constructor(stream: SessionStream, private readonly autoAck = true) {
    stream.setSink({
      write: (data, done) => {
        this.text += new TextDecoder().decode(data);
        if (this.autoAck) done();
        this.wake();
      },
      reset: (snapshot) => {
        this.resets += 1;
        this.text = snapshot;
        this.wake();
      },
    });
  }

  private wake(): void {
    for (const wake of this.waiters) wake();
  }

  async waitFor(pattern: RegExp | string, timeoutMs = 10_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = typeof pattern === 'string' ? (this.text.includes(pattern) ? [pattern] as RegExpMatchArray : null) : this.text.match(pattern);
      if (match) return match;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${String(pattern)}; screen so far:\n${this.text.slice(-2000)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      this.waiters = [];
    }
  }
}

/** Launches an app and waits until it streams. */
export async function launch(c: HoldfastClient, appId: string, cols = 80, rows = 24): Promise<SessionStream> {
  const stream = c.launch(appId, cols, rows);
  await stream.ready();
  return stream;
}

/** Runs a shell command line in a sandboxed shell session; resolves with its output and status. */
export async function sh(stream: SessionStream, screen: Screen, command: string, timeoutMs?: number): Promise<{ output: string; status: number }> {
  const tag = Math.random().toString(36).slice(2, 8);
  const start = screen.text.length;
  stream.sendInput(`${command}; echo "@@${tag}-$?@@"\r`);
  const match = await screen.waitFor(new RegExp(`@@${tag}-(\\d+)@@`), timeoutMs);
  const text = screen.text.slice(start);
  // Output starts after the last echo of the command line itself (typed-ahead input
  // is echoed once by the tty and again when the shell draws its prompt).
  const resultAt = text.search(new RegExp(`@@${tag}-\\d+@@`));
  const echoEnd = text.indexOf('\n', text.lastIndexOf(`@@${tag}-$?@@`, resultAt));
  const output = stripAnsi(text.slice(echoEnd + 1, resultAt));
  return { output, status: Number(match[1]) };
}

/** A raw protocol socket, for frames the session core would never send. */
export function rawSocket(url: string, protocols: string[] = [SUBPROTOCOL], options: WebSocket.ClientOptions = {}) {
  const ws = new WebSocket(url.replace(/^http/, 'ws') + '/ws', protocols, options);
  const messages: Array<Record<string, unknown>> = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  ws.on('message', (data, isBinary) => {
    if (!isBinary) messages.push(JSON.parse(data.toString()) as Record<string, unknown>);
  });
  ws.on('error', () => {});
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
  const next = async (type: string, timeoutMs = 5000) => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const found = messages.find((m) => m.type === type);
      if (found) {
        messages.splice(messages.indexOf(found), 1);
        return found;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`no ${type} message within ${timeoutMs} ms; got ${JSON.stringify(messages)}`);
  };
  return { ws, messages, closed, opened, next };
}

export const bearer = (token: string) => [SUBPROTOCOL, BEARER_PREFIX + token];

export function stripAnsi(text: string): string {
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r(?!\n)/g, '');
}

/** Printable text that is easy to get wrong (no long runs), the same for a given seed. */
export function typingText(length: number, seed = 7): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,:-_+=()[]<>?!@%^*~';
  let out = '';
  let state = seed;
  for (let i = 0; i < length; i += 1) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    out += alphabet[state % alphabet.length];
  }
  return out;
}

/** Is process `pid` still running? */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Processes (other than this one) whose command line or mount table contains `text`,
 * with their parent. A sandbox's processes do not name its directory on their command
 * line (bwrap takes its options on a descriptor), but their mount table does: the
 * home, passwd and devpts mounts come from under stateDir.
 */
export function processesMentioning(text: string): Array<{ pid: number; command: string }> {
  const found: Array<{ pid: number; command: string }> = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1];
      const command = `(parent ${ppid}) ` + readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (command.includes(text) || readFileSync(`/proc/${entry}/mountinfo`, 'utf8').includes(text)) found.push({ pid: Number(entry), command });
    } catch {
      /* exited while we looked */
    }
  }
  return found;
}

/** The events of `kind` in a node's audit log (stateDir/audit.log), oldest first. */
export function auditEvents(stateDir: string, kind: string): Array<Record<string, unknown>> {
  return readFileSync(join(stateDir, 'audit.log'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((event) => event.event === kind);
}
