// `holdfast connect` driven in tmux as a person would: type the password at the
// prompt, work in the app, resize the terminal, and get the app's exit code back.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Screen, client, launch, startNode, type TestNode } from '../support/harness.js';
import { tmuxServer } from './tmux.js';

const terminal = tmuxServer('cli');
const tmux = terminal.run;
const screen = (name: string) => terminal.screen(name);
const name = `holdfast-cli-${process.pid}`;

async function waitForScreen(pattern: RegExp, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = screen(name);
    if (pattern.test(text)) return text;
    if (Date.now() > deadline) throw new Error(`screen never showed ${pattern}:\n${text}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

let t: TestNode;
beforeAll(async () => {
  if (!existsSync('dist/broker/cli.js')) spawnSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
  // Cat (no other test here runs it) ends after 8 idle seconds, warned 5 s before.
  t = await startNode({ sessionPolicies: [{ apps: ['cat'], idleMinutes: 8 / 60, warnMinutes: 5 / 60 }] });
});
afterAll(async () => {
  terminal.stop();
  await t?.stop();
});

describe('holdfast connect in a terminal', () => {
  it('signs in at a prompt, runs Python, follows resizes and exits with the app\'s code', async () => {
    const command = `node bin/holdfast.mjs connect --broker ${t.url} --user ann --app python; echo "CLI-EXIT=$?"; sleep 60`;
    tmux('new-session', '-d', '-s', name, '-x', '100', '-y', '30', 'sh', '-c', command);
    await waitForScreen(/Password for ann:/);
    tmux('send-keys', '-t', name, 'ann-pw', 'Enter');
    await waitForScreen(/^>>>\s*$/m);
    // The password was not echoed.
    expect(screen(name)).not.toContain('ann-pw');
    tmux('send-keys', '-t', name, '6*7', 'Enter');
    await waitForScreen(/^42$/m);
    tmux('send-keys', '-t', name, 'import os; os.get_terminal_size()', 'Enter');
    await waitForScreen(/columns=100, lines=30/);
    tmux('resize-window', '-t', name, '-x', '120', '-y', '40');
    // The resize travels client → broker → PTY; ask again until the app sees it (bounded).
    await vi.waitFor(
      () => {
        tmux('send-keys', '-t', name, 'os.get_terminal_size()', 'Enter');
        expect(screen(name)).toMatch(/columns=120, lines=40/);
      },
      { timeout: 5000, interval: 300 },
    );
    // Ctrl-C reaches the app as a keyboard interrupt, not the client.
    tmux('send-keys', '-t', name, 'import time; time.sleep(30)', 'Enter');
    await new Promise((r) => setTimeout(r, 300));
    tmux('send-keys', '-t', name, 'C-c');
    await waitForScreen(/KeyboardInterrupt/);
    tmux('send-keys', '-t', name, 'exit(5)', 'Enter');
    await waitForScreen(/CLI-EXIT=5/);
  });

  it('says clearly when the password is wrong', async () => {
    terminal.kill(name);
    const command = `node bin/holdfast.mjs connect --broker ${t.url} --user ann --app python; echo "CLI-EXIT=$?"; sleep 60`;
    tmux('new-session', '-d', '-s', name, '-x', '100', '-y', '30', 'sh', '-c', command);
    await waitForScreen(/Password for ann:/);
    tmux('send-keys', '-t', name, 'wrong', 'Enter');
    const text = await waitForScreen(/CLI-EXIT=1/);
    expect(text).toContain('holdfast connect: Sign-in failed: the user name or password is not right.');
  });

  it('carries on in a session started elsewhere, with the screen as it was', async () => {
    terminal.kill(name);
    const desk = client(t.url);
    await desk.signIn('ann', 'ann-pw');
    const stream = await launch(desk, 'python');
    const deskScreen = new Screen(stream);
    await deskScreen.waitFor('>>> ');
    stream.sendInput('answer = 6 * 7; print("set on the desk")\r');
    await deskScreen.waitFor('set on the desk\r\n');
    const command = `node bin/holdfast.mjs connect --broker ${t.url} --user ann --attach --app python; echo "CLI-EXIT=$?"; sleep 60`;
    tmux('new-session', '-d', '-s', name, '-x', '100', '-y', '30', 'sh', '-c', command);
    await waitForScreen(/Password for ann:/);
    tmux('send-keys', '-t', name, 'ann-pw', 'Enter');
    // The snapshot brings the desk's screen along.
    await waitForScreen(/set on the desk/);
    tmux('send-keys', '-t', name, 'print(answer + 1)', 'Enter');
    await waitForScreen(/^43$/m);
    // The desk was told its session moved.
    expect((await stream.finished()).reason).toBe('This session was opened from another client.');
    tmux('send-keys', '-t', name, 'exit()', 'Enter');
    await waitForScreen(/CLI-EXIT=0/);
    desk.signOut();
  });

  it('warns before a session policy ends the session, in words, and says why it ended', async () => {
    terminal.kill(name);
    const command = `node bin/holdfast.mjs connect --broker ${t.url} --user ann --app cat; echo "CLI-EXIT=$?"; sleep 60`;
    tmux('new-session', '-d', '-s', name, '-x', '100', '-y', '30', 'sh', '-c', command);
    await waitForScreen(/Password for ann:/);
    // Typed ahead, in the same burst as the password's Enter (a loaded CI machine read
    // them in one chunk): the line belongs to the app, not to the password prompt.
    tmux('send-keys', '-t', name, 'ann-pw', 'Enter', 'hello', 'Enter');
    await waitForScreen(/^hello\s*\n\s*hello/m);
    await waitForScreen(/\[holdfast\] Cat ends in \d seconds? because it has been idle — press a key to keep it\./, 10_000);
    await waitForScreen(/holdfast: Cat ended because it was idle for 8 seconds\.[\s\S]*CLI-EXIT=1/, 10_000);
  });
  it('watches a shared session through its link: the owner\'s output, view-only keys refused with a word, Ctrl-] leaves', async () => {
    const ann = client(t.url);
    await ann.signIn('ann', 'ann-pw');
    const owner = await launch(ann, 'python');
    const ownerScreen = new Screen(owner);
    await ownerScreen.waitFor('>>> ');
    const link = (await owner.share('view')).shares[0]!.link!;
    // As the web client hands it out: the broker is the URL's own.
    const command = `node bin/holdfast.mjs connect --join '${t.url}/#join=${link}' --user bob; echo "CLI-EXIT=$?"; sleep 60`;
    terminal.kill(name);
    tmux('new-session', '-d', '-s', name, '-x', '100', '-y', '30', 'sh', '-c', command);
    await waitForScreen(/Password for bob:/);
    tmux('send-keys', '-t', name, 'bob-pw', 'Enter');
    await waitForScreen(/watching ann’s Python \(\d+×\d+\), view only — Ctrl-\] leaves/);
    owner.sendInput('6*7\r');
    await waitForScreen(/^42$/m);
    tmux('send-keys', '-t', name, 'print("bob")', 'Enter');
    await waitForScreen(/view only: your keys do not reach ann’s Python/);
    tmux('send-keys', '-t', name, 'C-]');
    await waitForScreen(/CLI-EXIT=0/);
    expect(ownerScreen.text).not.toContain('bob');
    owner.close();
    ann.signOut();
    terminal.kill(name);
  });
});
