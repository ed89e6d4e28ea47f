// `holdfast cp LOCAL :REMOTE` in tmux as a person would run it (issue 23, upload): a
// local file into the home (under its own name, or another), standard input through a
// pipe, and every failure a message and a non-zero exit — a path out of the home, a
// local folder, standard input with no name. What arrives is checked inside the
// session with sha256sum. The CLI is this tree's, bundled for this file.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Screen, client, launch, sh, startNode, type TestNode } from '../support/harness.js';
import { bundleCli, type BundledCli } from '../support/bundled-cli.js';
import type { HoldfastClient, SessionStream } from '../shared/core/index.js';
import { tmuxServer } from './tmux.js';

const terminal = tmuxServer('uploads-cli');
const name = `holdfast-cp-up-${process.pid}`;
let t: TestNode;
let bundled: BundledCli;
let local = '';
let ann: HoldfastClient;
let stream: SessionStream;
let screen: Screen;
const bytes = randomBytes(3_000_000);
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

async function waitForScreen(pattern: RegExp, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = terminal.screen(name, '-J');
    if (pattern.test(text)) return text;
    if (Date.now() > deadline) throw new Error(`screen never showed ${pattern}:\n${text}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Runs a shell command line in a fresh tmux session; its exit status is printed after it. */
function run(command: string): void {
  terminal.kill(name);
  terminal.run('new-session', '-d', '-s', name, '-x', '200', '-y', '40', 'sh', '-c', `${command}; echo "CLI-EXIT=$?"; sleep 60`);
}

const inside = async (command: string) => (await sh(stream, screen, command)).output;

beforeAll(async () => {
  bundled = await bundleCli('uploads-cli');
  t = await startNode();
  local = mkdtempSync(join(tmpdir(), 'holdfast-cp-up-'));
  writeFileSync(join(local, 'report.bin'), bytes);
  mkdirSync(join(local, 'folder'));
  ann = client(t.url);
  await ann.signIn('ann', 'ann-pw');
  stream = await launch(ann, 'shell');
  screen = new Screen(stream);
  await screen.waitFor('$ ');
  await inside('mkdir docs');
}, 60_000);

afterAll(async () => {
  terminal.stop();
  stream?.close();
  ann?.signOut();
  await t?.stop();
  bundled?.remove();
  if (local) rmSync(local, { recursive: true, force: true });
});

const cp = (args: string) => `HOLDFAST_PASSWORD=ann-pw node ${bundled.cli} cp --broker ${t.url} --user ann --app shell ${args}`;

describe('holdfast cp LOCAL :REMOTE in a terminal', () => {
  it('uploads a file under its own name into a folder, and under another name', async () => {
    run(cp(`${local}/report.bin :docs`));
    let text = await waitForScreen(/CLI-EXIT=\d+/);
    expect(text).toContain(`holdfast cp: docs/report.bin is in the session's home (3000000 bytes, SHA-256 ${sha256(bytes)})`);
    expect(text).toContain('CLI-EXIT=0');
    expect(await inside('sha256sum docs/report.bin')).toContain(sha256(bytes));

    run(cp(`${local}/report.bin :renamed.bin`));
    text = await waitForScreen(/CLI-EXIT=\d+/);
    expect(text).toContain('CLI-EXIT=0');
    expect(await inside('sha256sum renamed.bin')).toContain(sha256(bytes));
  }, 60_000);

  it('uploads standard input through a pipe', async () => {
    run(`head -c 5000000 /dev/urandom | tee ${local}/piped.bin | ${cp('- :piped.bin')}`);
    const text = await waitForScreen(/CLI-EXIT=\d+/);
    expect(text).toContain('CLI-EXIT=0');
    const { readFileSync } = await import('node:fs');
    const sent = readFileSync(join(local, 'piped.bin'));
    expect(sent.length).toBe(5_000_000);
    expect(await inside('sha256sum piped.bin')).toContain(sha256(sent));
  }, 60_000);

  it('fails with a message and a non-zero exit: out of the home, a local folder, standard input with no name', async () => {
    run(cp(`${local}/report.bin :../escape.bin`));
    let text = await waitForScreen(/CLI-EXIT=\d+/);
    expect(text).toContain('holdfast cp: That path leaves your home folder; give a path inside it (relative to it, without "..").');
    expect(text).toContain('CLI-EXIT=1');

    run(cp(`${local}/folder :`));
    text = await waitForScreen(/CLI-EXIT=\d+/);
    expect(text).toContain(`holdfast cp: ${local}/folder is a folder; upload the files in it one by one`);
    expect(text).toContain('CLI-EXIT=1');

    run(`echo hi | ${cp('- :docs/')}`);
    text = await waitForScreen(/CLI-EXIT=\d+/);
    expect(text).toContain('holdfast cp: standard input has no name: give one after ":", as in holdfast cp - :notes.txt');
    expect(text).toContain('CLI-EXIT=1');
    expect(await inside('ls -A ~/.cache/holdfast/uploads 2>/dev/null | wc -l')).toMatch(/^\s*0\s*$/m);
  }, 60_000);
});
