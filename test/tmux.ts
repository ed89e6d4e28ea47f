// tmux, to drive a terminal client as a person would. Each test file gets a tmux server
// of its own (its own socket) that stays up while it has no sessions: with one shared
// server, killing the last session stops it, and a new-session racing that shutdown —
// in this file or another running beside it — fails with "server exited unexpectedly".
import { execFileSync, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';

export interface Tmux {
  /** Runs a tmux command on this file's server; throws if it fails. */
  run(...args: string[]): string;
  /** The screen of a session, as text. */
  screen(session: string, ...options: string[]): string;
  /** Ends a session if it is there. */
  kill(session: string): void;
  /** Stops this file's server and everything in it. */
  stop(): void;
}

export function tmuxServer(label: string): Tmux {
  const socket = `holdfast-${label}-${process.pid}`;
  const tmux = (...args: string[]) => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
  let started = false;
  // Started on first use, so a file whose tests are all skipped leaves no server behind.
  const run = (...args: string[]) => {
    if (!started) tmux('start-server', ';', 'set-option', '-g', 'exit-empty', 'off');
    started = true;
    return tmux(...args);
  };
  return {
    run,
    screen: (session, ...options) => run('capture-pane', '-p', ...options, '-t', session),
    kill: (session) => void spawnSync('tmux', ['-L', socket, 'kill-session', '-t', session]),
    stop: () => {
      spawnSync('tmux', ['-L', socket, 'kill-server']);
      rmSync(join(process.env.TMUX_TMPDIR ?? '/tmp', `tmux-${process.getuid?.() ?? 0}`, socket), { force: true });
    },
  };
}
