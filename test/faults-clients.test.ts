// The same fault, as a person meets it in each client: typing a long line into
// Python's input() while the connection drops ten times, in the web client (Chromium)
// and in `holdfast connect` (tmux). The text must arrive exactly once, in order.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { FaultProxy } from '../support/fault-proxy.js';
import { startNode, typingText, type TestNode } from '../support/harness.js';
import { tmuxServer } from './tmux.js';

const READLINE = {
  id: 'readline',
  name: 'Read a line',
  command: '/usr/bin/python3',
  args: ['-c', 'import hashlib; s = input("text? "); print("GOT", len(s), hashlib.sha256(s.encode()).hexdigest()); input("done? ")'],
};
const typed = typingText(2000, 11);
const digest = createHash('sha256').update(typed).digest('hex');
/** Ten drop points, spread at random over the typing. */
const dropPoints = (() => {
  const points = new Set<number>();
  while (points.size < 10) points.add(40 * (1 + Math.floor(Math.random() * 48)));
  return points;
})();

let t: TestNode;
let proxy: FaultProxy;

/** Drops the path once a connection is up again, so each of the ten drops cuts a live link. */
async function dropLiveLink(): Promise<void> {
  for (let i = 0; i < 100 && proxy.connections === 0; i += 1) await new Promise((r) => setTimeout(r, 50));
  proxy.drop();
}
beforeAll(async () => {
  if (!existsSync('dist/renderer/index.html') || !existsSync('dist/broker/cli.js')) spawnSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
  t = await startNode({ apps: [READLINE], webRoot: 'dist/renderer' });
  proxy = await FaultProxy.start({ host: '127.0.0.1', port: Number(new URL(t.url).port) });
});
afterAll(async () => {
  await proxy?.stop();
  await t?.stop();
});

describe('web client through ten drops', () => {
  let browser: Browser | null = null;
  afterAll(() => browser?.close());

  it('types 2,000 characters into input() and Python gets each exactly once', async () => {
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.setDefaultTimeout(20_000);
    await page.goto(proxy.url);
    await page.getByLabel('User name', { exact: true }).fill('ann');
    await page.getByLabel('Password', { exact: true }).fill('ann-pw');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Launch Read a line' }).click();
    await page.waitForFunction(() => document.querySelector('.xterm-rows')?.textContent?.includes('text?'));
    let sawOverlay = false;
    for (let at = 0; at < typed.length; at += 40) {
      await page.keyboard.type(typed.slice(at, at + 40));
      if (dropPoints.has(at)) {
        await dropLiveLink();
        // The person sees the session frozen, with the reconnect overlay, and keeps typing.
        sawOverlay ||= await page.getByText(/Reconnecting — what you type is kept and will be sent/).first().isVisible().catch(() => false);
      }
    }
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => /GOT \d+ [0-9a-f]{64}/.test(document.querySelector('.xterm-rows')?.textContent ?? ''), undefined, { timeout: 60_000 });
    const screen = (await page.locator('.xterm-rows').textContent()) ?? '';
    mkdirSync('test-artifacts', { recursive: true });
    await page.screenshot({ path: 'test-artifacts/after-drops.png' });
    const match = /GOT (\d+) ([0-9a-f]{64})/.exec(screen)!;
    expect(Number(match[1])).toBe(2000);
    expect(match[2]).toBe(digest);
    expect(proxy.accepted).toBeGreaterThanOrEqual(11);
    expect(sawOverlay).toBe(true);
  }, 120_000);
});

describe('CLI client through ten drops', () => {
  const name = `holdfast-drops-${process.pid}`;
  const terminal = tmuxServer('drops');
  afterAll(() => terminal.stop());

  it('types 2,000 characters into input() and Python gets each exactly once', async () => {
    const tmux = terminal.run;
    const screen = () => terminal.screen(name, '-J', '-S', '-200');
    const waitFor = async (pattern: RegExp, timeoutMs = 20_000) => {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(screen())) {
        if (Date.now() > deadline) throw new Error(`never saw ${pattern}:\n${screen()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      return screen();
    };
    const command = `node bin/holdfast.mjs connect --broker ${proxy.url} --user ann --app readline; echo "CLI-EXIT=$?"; sleep 60`;
    tmux('new-session', '-d', '-s', name, '-x', '200', '-y', '50', 'sh', '-c', command);
    await waitFor(/Password for ann:/);
    tmux('send-keys', '-t', name, 'ann-pw', 'Enter');
    await waitFor(/text\?/);
    const before = proxy.accepted;
    for (let at = 0; at < typed.length; at += 40) {
      tmux('send-keys', '-t', name, '-l', typed.slice(at, at + 40));
      if (dropPoints.has(at)) await dropLiveLink();
      await new Promise((r) => setTimeout(r, 20));
    }
    tmux('send-keys', '-t', name, 'Enter');
    const text = await waitFor(/GOT \d+ [0-9a-f]{64}/, 60_000);
    const match = /GOT (\d+) ([0-9a-f]{64})/.exec(text)!;
    expect(Number(match[1])).toBe(2000);
    expect(match[2]).toBe(digest);
    expect(proxy.accepted - before).toBeGreaterThanOrEqual(10);
    tmux('send-keys', '-t', name, 'Enter');
    await waitFor(/CLI-EXIT=0/);
  }, 120_000);
});
