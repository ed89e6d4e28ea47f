// A demo node as a child process (what `npm start` runs), for end-to-end tests, and
// the polling helper those tests wait with.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { alive } from '../support/harness.js';

export { waitFor } from '../support/wait.js';

/** Every process below `pid`, from /proc (the sandboxes sit in their own sessions, so a process group would miss them). */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      /* exited while we looked */
    }
  }
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}


function killHard(child: ChildProcess): void {
  if (!child.pid) return;
  for (const pid of [child.pid, ...descendants(child.pid)]) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

export interface DemoNode {
  url: string;
  /** The node's state directory (sandbox homes are under it). */
  stateDir: string;
  /** The node's stdout and stderr so far. */
  output(): string;
  /** SIGTERM, then checks nothing it started outlived it; returns what went wrong. */
  stop(): Promise<string[]>;
}

/** Starts `holdfast node --demo` on a free port, as a person's `npm start` would. */
export async function startDemoNode(root: string, args: string[] = []): Promise<DemoNode> {
  const child = spawn(process.execPath, [join(root, 'bin/holdfast.mjs'), 'node', '--demo', '--port', '0', ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // If the worker dies without running afterAll, the node must not outlive it.
  const onExit = () => killHard(child);
  process.once('exit', onExit);
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the demo node did not start within 15 s\nstdout: ${stdout}\nstderr: ${stderr}`)), 15_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /Holdfast node "demo" listening on (http:\/\/\S+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the demo node exited (${code ?? signal}) before listening\nstdout: ${stdout}\nstderr: ${stderr}`));
    });
  });
  return { url, stateDir: join(tmpdir(), `holdfast-demo-${child.pid}`), output: () => stdout + stderr, stop: () => stopDemoNode(child, onExit) };
}

async function stopDemoNode(child: ChildProcess, onExit: () => void): Promise<string[]> {
  if (!child.pid || child.exitCode !== null || child.signalCode !== null) return [];
  const before = descendants(child.pid);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timedOut = await Promise.race([exited.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), 5_000))]);
  if (timedOut) killHard(child);
  // Give the sandboxes a moment to follow their node, then report and kill any that did not.
  const deadline = Date.now() + 2_000;
  while (before.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const survivors = before.filter(alive);
  for (const pid of survivors) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  process.removeListener('exit', onExit);
  return [...(timedOut ? [`node ${child.pid} ignored SIGTERM for 5 s`] : []), ...survivors.map((pid) => `process ${pid} outlived the node`)];
}

