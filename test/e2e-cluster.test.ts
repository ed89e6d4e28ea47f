// End to end on a cluster: the web client in Debian's Chromium, served by one node of
// three; the node running the person's Python is killed with kill -9. What a person
// sees: a brief "Reconnecting…" overlay, then the same Python, with their variable
// still set — nothing else.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, waitForStatus, type TestCluster } from './cluster-harness.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const artifacts = join(root, 'test-artifacts');

let c: TestCluster;
let browser: Browser;

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  c = await startCluster({ nodes: 3, tag: 'e2e' });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}, 90_000);
afterAll(async () => {
  await browser?.close().catch(() => {});
  // kill -9 of every node: no sandbox may outlive its node.
  expect(await c?.stop()).toEqual([]);
});

function rows(page: Page): Promise<string[]> {
  return page
    .getByRole('region', { name: 'Python session' })
    .locator('.xterm-rows > div')
    .evaluateAll((divs) => divs.map((row) => (row.textContent ?? '').replace(/\u00a0/g, ' ').trimEnd()));
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('the web client on a cluster', () => {
  it('keeps a Python session through kill -9 of its primary, showing only the brief reconnect overlay', async () => {
    const context = await browser.newContext({ viewport: { width: 1100, height: 700 } });
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.setDefaultTimeout(15_000);
    await page.goto(c.nodes[0]!.url);
    await page.getByLabel('User name', { exact: true }).fill('ann');
    await page.getByLabel('Password', { exact: true }).fill('ann-pw');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('button', { name: 'Launch Python', exact: true }).click();
    await waitFor('the Python prompt', async () => (await rows(page)).some((row) => row.startsWith('>>>')));
    await page.getByRole('region', { name: 'Python session' }).locator('.xterm-screen').click();
    await page.keyboard.type('x = 6*7');
    await page.keyboard.press('Enter');
    await waitFor('the next prompt', async () => (await rows(page)).filter((row) => row.startsWith('>>>')).length >= 2);

    // Record every state the session's pane goes through, from inside the page.
    await page.getByRole('region', { name: 'Python session' }).evaluate((section) => {
      const seen: string[] = [section.getAttribute('data-status') ?? ''];
      (window as unknown as { seen: string[] }).seen = seen;
      new MutationObserver(() => seen.push(section.getAttribute('data-status') ?? '')).observe(section, { attributes: true, attributeFilter: ['data-status'] });
    });
    const status = await waitForStatus(c, (s) => s.sessions.length === 1 && s.sessions[0]!.standbys.length === 1);
    const primary = status.sessions[0]!.primary;
    c.signal(primary, 'SIGKILL');
    await page.keyboard.type('print(x + 1)');
    await page.keyboard.press('Enter');
    await waitFor('Python to print 43 on the new primary', async () => (await rows(page)).includes('43'), 20_000);
    await waitFor('the overlay to go', async () => (await page.locator('.reconnecting').count()) === 0);
    const seen = await page.evaluate(() => (window as unknown as { seen: string[] }).seen);
    expect(seen[0]).toBe('streaming');
    expect(seen.at(-1)).toBe('streaming');
    expect(seen).toContain('reconnecting');
    expect(new Set(seen)).toEqual(new Set(['streaming', 'reconnecting', 'resuming']));
    // The same interpreter: x survived, and the earlier lines are still on the screen.
    expect((await rows(page)).some((row) => row.includes('x = 6*7'))).toBe(true);
    expect(await page.locator('.session-ended, [role="alert"]').count()).toBe(0);
    expect(pageErrors).toEqual([]);
    await page.screenshot({ path: join(artifacts, 'cluster-after-failover.png') });
    const after = await c.status();
    expect(after.sessions[0]).toMatchObject({ epoch: 2 });
    expect(after.sessions[0]!.primary).not.toBe(primary);
    await context.close();
  }, 90_000);
});
