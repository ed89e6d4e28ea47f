// The termios watcher on real PTYs: the built helper (npm run build compiles it) told
// about a shell that changes its terminal's modes with stty, as apps do.
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import pty from 'node-pty';
import type { EchoMode } from '../../shared/protocol/index.js';
import { TermiosWatch, termiosWatchHelper } from './termios-watch.js';

const built = termiosWatchHelper();
const helper = () => {
  if (!built) throw new Error('the termios watcher is not built: npm run build');
  return built;
};

const open: Array<{ kill(): void }> = [];
afterEach(() => {
  for (const thing of open.splice(0)) thing.kill();
});

/** `script` on a real PTY, with a watch on it that is nudged at each read of output, as the node does. */
function watched(script: string) {
  const term = pty.spawn('/bin/sh', ['-c', script], { encoding: null });
  open.push(term);
  const modes: Array<{ mode: EchoMode; at: number }> = [];
  const failures: string[] = [];
  let output = '';
  const outputs: Array<{ text: string; at: number }> = [];
  const watch = new TermiosWatch({
    helper: helper(),
    terminalFd: (term as unknown as { fd: number }).fd,
    onMode: (mode) => modes.push({ mode, at: performance.now() }),
    onFailure: (message) => failures.push(message),
  });
  open.push({ kill: () => watch.close() });
  term.onData((data) => {
    watch.outputSeen();
    output += data.toString();
    outputs.push({ text: output, at: performance.now() });
  });
  const exited = new Promise<void>((resolve) => term.onExit(() => resolve()));
  return { term, watch, modes, failures, outputs, exited };
}

const until = async (what: string, check: () => boolean, timeoutMs = 5000) => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

describe('the termios watcher', () => {
  it('tells the mode at start and each change: echo, hidden (no echo), app (no line editing), echo again', async () => {
    const { modes, failures, exited } = watched('sleep 0.3; stty -echo; sleep 0.3; stty -icanon; sleep 0.3; stty -icanon echo; sleep 0.3; stty icanon; sleep 0.3');
    await exited;
    // A mode set without output is seen by the helper's own look, ten times a second.
    await until('the last mode', () => modes.length >= 4);
    expect(modes.map((m) => m.mode)).toEqual(['echo', 'hidden', 'app', 'echo']);
    expect(failures).toEqual([]);
  });

  it('tells a password prompt hidden as its text is read, not at its next look', async () => {
    // Echo off, then the prompt, as getpass does; five times, each from echo on.
    const { modes, outputs, exited } = watched('for i in 1 2 3 4 5; do sleep 0.25; stty -echo; printf "Password$i: "; sleep 0.25; stty echo; echo; done');
    await exited;
    await until('five prompts', () => modes.filter((m) => m.mode === 'hidden').length === 5);
    const gaps = [1, 2, 3, 4, 5].map((i) => {
      const shown = outputs.find((o) => o.text.includes(`Password${i}: `))!.at;
      const hidden = modes.filter((m) => m.mode === 'hidden')[i - 1]!.at;
      return hidden - shown;
    });
    // The next look of its own would be up to 100 ms after: this is the nudge's.
    for (const gap of gaps) expect(gap).toBeLessThan(20);
  });

  it('ends when its stdin closes (the node went), and when the app’s terminal closes', async () => {
    /** The helper on `command`'s PTY, with its stdin left open. */
    const raw = async (command: string[]) => {
      const term = pty.spawn(command[0]!, command.slice(1), { encoding: null });
      open.push(term);
      const child = spawn(helper(), [], { stdio: ['pipe', 'pipe', 'ignore', (term as unknown as { fd: number }).fd] });
      open.push(child);
      const ended = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      const first = await new Promise<string>((resolve) => child.stdout!.once('data', (data: Buffer) => resolve(data.toString())));
      return { term, child, ended, first };
    };
    const running = await raw(['/bin/sleep', '30']);
    expect(running.first).toBe('echo\n');
    running.child.stdin!.end();
    expect(await running.ended).toBe(0);

    const leaving = await raw(['/bin/sleep', '0.2']);
    const exitedAt = new Promise<number>((resolve) => leaving.term.onExit(() => resolve(performance.now())));
    expect(await leaving.ended).toBe(0);
    // It went with the app (its stdin still open), within its next look.
    expect(performance.now() - (await exitedAt)).toBeLessThan(200);
  });

  it('reports a helper that cannot watch (no terminal on its fd 3, or no helper at all) once, and tells no mode', async () => {
    const fd = openSync('/dev/null', 'r');
    try {
      const failures: string[] = [];
      const modes: EchoMode[] = [];
      const watch = new TermiosWatch({ helper: helper(), terminalFd: fd, onMode: (mode) => modes.push(mode), onFailure: (message) => failures.push(message) });
      await until('the failure', () => failures.length > 0);
      expect(failures).toEqual(['the termios watcher ended (exit code 2)']);
      expect(watch.mode).toBeNull();
      const missing: string[] = [];
      new TermiosWatch({ helper: '/nonexistent/holdfast-termios-watch', terminalFd: fd, onMode: (mode) => modes.push(mode), onFailure: (message) => missing.push(message) });
      await until('the failure', () => missing.length > 0);
      expect(missing).toEqual([expect.stringContaining('could not run')]);
      expect(modes).toEqual([]);
    } finally {
      closeSync(fd);
    }
  });
});
