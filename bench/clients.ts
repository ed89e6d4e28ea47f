// The terminals and CLI clients the bench drives: a node-pty with a swappable data
// listener (bare floors, and `holdfast connect` past its password prompt), and the CLI
// with its stdout on a pipe. Every one is tracked so it is ended with the bench.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import pty, { type IPty } from 'node-pty';
import { nodeFlags } from './node.js';
import { track, untrack } from './processes.js';
import { PASSWORD, USER, paths } from './settings.js';
import { sleep, until } from './timing.js';

export const cliEnv = () => {
  const env: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm-256color' };
  delete env.HOLDFAST_LOG_LEVEL;
  return env;
};

export interface Pty {
  term: IPty;
  pid: number;
  /** Where output goes; while null it is kept (the last 4 KiB) in `text`. */
  listener: ((data: Buffer) => void) | null;
  text: string;
  exitInfo: { exitCode: number; signal?: number } | null;
  exit: Promise<{ exitCode: number; signal?: number }>;
  waitText(pattern: RegExp, ms: number, what?: string): Promise<void>;
  kill(): Promise<unknown>;
}

/** A node-pty terminal with a swappable data listener and an exit promise. */
export function openPty(file: string, args: string[], { cols = 80, rows = 24, label = file, env = cliEnv() } = {}): Pty {
  // encoding: null hands over Buffers (node-pty's types say string).
  const term = pty.spawn(file, args, { name: 'xterm-256color', cols, rows, cwd: paths.root, env, encoding: null });
  track(term.pid, label, (signal) => term.kill(signal));
  const h: Pty = {
    term,
    pid: term.pid,
    listener: null,
    text: '',
    exitInfo: null,
    exit: new Promise((resolve) =>
      term.onExit((e) => {
        untrack(term.pid);
        h.exitInfo = e;
        resolve(e);
      }),
    ),
    waitText: async (pattern, ms, what) => {
      await until(() => pattern.test(h.text), ms, what ?? String(pattern));
    },
    kill: () => {
      try {
        term.kill('SIGKILL');
      } catch {
        /* gone */
      }
      return Promise.race([h.exit, sleep(2000)]);
    },
  };
  term.onData((text) => {
    const data = text as unknown as Buffer;
    if (h.listener) h.listener(data);
    else h.text = (h.text + data.toString('latin1')).slice(-4096);
  });
  return h;
}

/** `holdfast connect` in a PTY, past its password prompt (typed, no echo, as a person would). */
export async function openCliPty(url: string, appId: string, opts: { cols?: number; rows?: number } = {}): Promise<Pty> {
  const h = openPty(process.execPath, [...nodeFlags('BENCH_CLI_FLAGS'), paths.cli, 'connect', '--broker', url, '--user', USER, '--app', appId], { label: `cli:${appId}`, ...opts });
  await h.waitText(/Password for bench: /, 15_000, 'the CLI password prompt');
  h.term.write(PASSWORD + '\r');
  return h;
}

/**
 * `holdfast connect --password-stdin` with stdin, stdout and stderr on pipes; the
 * caller writes the password once it listens. `cliFlags`: whether BENCH_CLI_FLAGS apply.
 */
export function spawnCliPipe(url: string, appId: string, label: string, { cliFlags = true } = {}): ChildProcessWithoutNullStreams {
  const child = spawn(process.execPath, [...(cliFlags ? nodeFlags('BENCH_CLI_FLAGS') : []), paths.cli, 'connect', '--broker', url, '--user', USER, '--app', appId, '--password-stdin'], {
    cwd: paths.root,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: cliEnv(),
  });
  track(child.pid!, label, (signal) => child.kill(signal));
  return child;
}
