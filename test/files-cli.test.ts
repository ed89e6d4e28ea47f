// `holdfast cp` in tmux as a person would run it (issue 23, download): a file from their
// running Shell session to a local file and to standard output, a dropped connection
// resumed where it stopped, and every failure a message and a non-zero exit — a path
// out of the home, an app with two sessions (uploads: test/uploads-cli.test.ts). The
// CLI is this tree's, bundled for this file (the shared dist/ is left alone).
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Screen, client, launch, sh, startNode, type TestNode } from '../support/harness.js';
import { bundleCli, type BundledCli } from '../support/bundled-cli.js';
import type { HoldfastClient, SessionStream } from '../shared/core/index.js';
import { tmuxServer } from './tmux.js';

const terminal = tmuxServer('files-cli');
const name = `holdfast-cp-${process.pid}`;
let t: TestNode;
let bundled: BundledCli;
let out = '';
let ann: HoldfastClient;
let stream: SessionStream;
let inside = '';

async function waitForScreen(pattern: RegExp, timeoutMs = 15_000): Promise<string> {
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
  terminal.run('new-session', '-d', '-s', name, '-x', '160', '-y', '40', 'sh', '-c', `${command}; echo "CLI-EXIT=$?"; sleep 60`);
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

beforeAll(async () => {
  bundled = await bundleCli('files-cli');
  t = await startNode();
  out = mkdtempSync(join(tmpdir(), 'holdfast-cp-'));
  ann = client(t.url);
  await ann.signIn('ann', 'ann-pw');
  stream = await launch(ann, 'shell');
  const screen = new Screen(stream);
  await screen.waitFor('$ ');
  expect((await sh(stream, screen, "printf 'hello from the session\\n' > file.txt")).status).toBe(0);
  const made = await sh(stream, screen, 'head -c 3000000 /dev/urandom > file.bin && sha256sum file.bin');
  inside = /([0-9a-f]{64}) {2}file\.bin/.exec(made.output)![1]!;
}, 60_000);

afterAll(async () => {
  terminal.stop();
  stream?.close();
  ann?.signOut();
  await t?.stop();
  bundled?.remove();
  if (out) rmSync(out, { recursive: true, force: true });
});

describe('holdfast cp in a terminal', () => {
  it('downloads a file from the person’s running session, asking for the password', async () => {
    run(`node ${bundled.cli} cp --broker ${t.url} --user ann --app shell :file.bin ${out}/x`);
    await waitForScreen(/Password for ann:/);
    terminal.run('send-keys', '-t', name, 'ann-pw', 'Enter');
    const text = await waitForScreen(/CLI-EXIT=\d+/);
    expect(text).toContain('CLI-EXIT=0');
    expect(text).not.toContain('ann-pw');
    expect(sha256(join(out, 'x'))).toBe(inside);
    // Nothing half-made is left beside it.
    expect(readdirSync(out)).toEqual(['x']);
  });

  it('writes to standard output with "-", and into a folder under the file’s own name', async () => {
    run(`HOLDFAST_PASSWORD=ann-pw node ${bundled.cli} cp --broker ${t.url} --user ann --app shell :file.txt -`);
    expect(await waitForScreen(/CLI-EXIT=\d+/)).toMatch(/^hello from the session\nCLI-EXIT=0$/m);
    run(`HOLDFAST_PASSWORD=ann-pw HOLDFAST_BROKER=${t.url} HOLDFAST_USER=ann node ${bundled.cli} cp --session ${stream.sessionId} :./file.txt ${out}`);
    expect(await waitForScreen(/CLI-EXIT=\d+/)).toContain('CLI-EXIT=0');
    expect(readFileSync(join(out, 'file.txt'), 'utf8')).toBe('hello from the session\n');
  });

  it('resumes a download whose connection dropped, where it stopped', async () => {
    const proxy = await cuttingProxy(Number(new URL(t.url).port), 1_000_000);
    try {
      run(`HOLDFAST_PASSWORD=ann-pw node ${bundled.cli} cp --broker ${proxy.url} --user ann --app shell :file.bin ${out}/resumed`);
      const text = await waitForScreen(/CLI-EXIT=\d+/, 30_000);
      expect(text).toMatch(/holdfast cp: the connection was (lost|ended) at byte \d+ of 3000000; resuming at byte \d+ \(1 of 6\)/);
      expect(text).toContain('CLI-EXIT=0');
      expect(proxy.cuts()).toBe(1);
      expect(sha256(join(out, 'resumed'))).toBe(inside);
    } finally {
      proxy.close();
    }
  }, 40_000);

  it('fails with a message and a non-zero exit: out of the home, missing, ambiguous', async () => {
    run(`HOLDFAST_PASSWORD=ann-pw node ${bundled.cli} cp --broker ${t.url} --user ann --app shell :../../etc/passwd ${out}/y`);
    let text = await waitForScreen(/CLI-EXIT=\d+/);
    expect(text).toContain('holdfast cp: That path leaves your home folder; give a path inside it (relative to it, without "..").');
    expect(text).toContain('CLI-EXIT=1');
    expect(existsSync(join(out, 'y'))).toBe(false);
    expect(readdirSync(out).filter((f) => f.endsWith('.part'))).toEqual([]);

    run(`HOLDFAST_PASSWORD=ann-pw node ${bundled.cli} cp --broker ${t.url} --user ann --app shell :nothing.txt ${out}/z`);
    text = await waitForScreen(/CLI-EXIT=\d+/);
    expect(text).toContain('holdfast cp: There is no "nothing.txt" in your home folder.');
    expect(text).toContain('CLI-EXIT=1');

    run(`HOLDFAST_PASSWORD=ann-pw node ${bundled.cli} cp --broker ${t.url} --user ann --app python :x.txt -`);
    text = await waitForScreen(/CLI-EXIT=\d+/);
    expect(text).toContain('holdfast cp: you have no running session of "python"');
    expect(text).toContain('CLI-EXIT=1');

    const second = await launch(ann, 'shell');
    try {
      run(`HOLDFAST_PASSWORD=ann-pw node ${bundled.cli} cp --broker ${t.url} --user ann --app shell :file.txt -`);
      text = await waitForScreen(/CLI-EXIT=\d+/);
      expect(text).toContain('holdfast cp: you have 2 running sessions of "shell"; say which with --session:');
      expect(text).toContain(`--session ${stream.sessionId}`);
      expect(text).toContain(`--session ${second.sessionId}`);
      expect(text).toContain('CLI-EXIT=1');
    } finally {
      second.close();
    }
  }, 60_000);
});

/**
 * A TCP proxy in front of the node that cuts the first connection carrying a file's
 * bytes (a GET of …/files/content) once `after` bytes of its answer have passed — a
 * network that drops mid-download. Everything else passes untouched.
 */
async function cuttingProxy(port: number, after: number): Promise<{ url: string; cuts(): number; close(): void }> {
  let cuts = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    const upstream = net.connect(port, '127.0.0.1');
    for (const s of [socket, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        sockets.delete(s);
        socket.destroy();
        upstream.destroy();
      });
    }
    let download = false;
    let passed = 0;
    socket.on('data', (chunk: Buffer) => {
      if (chunk.toString('latin1').includes('/files/content')) download = true;
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (download && cuts === 0) {
        passed += chunk.length;
        if (passed > after) {
          cuts++;
          socket.destroy();
          upstream.destroy();
          return;
        }
      }
      socket.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: listening } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${listening}`,
    cuts: () => cuts,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}
