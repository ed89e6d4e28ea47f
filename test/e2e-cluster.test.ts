// End to end on a cluster: the web client in Debian's Chromium, served by one node of
// three; the node running the person's Python is killed with kill -9. What a person
// sees: a brief "Reconnecting" overlay, then the same Python, with their variable
// still set — nothing else. And an administrator's page that shows the cluster live:
// draining a node there moves the person's session, which they barely notice.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, waitForStatus, type TestCluster } from '../support/cluster-harness.js';
import type { ClusterStatus } from '../shared/protocol/index.js';
import { client, launch } from '../support/harness.js';
import { axeViolations, launchChromium } from './page.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const artifacts = join(root, 'test-artifacts');

let c: TestCluster;
let browser: Browser;

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  c = await startCluster({ nodes: 3, tag: 'e2e' });
  browser = await launchChromium();
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

async function signIn(page: Page, url: string, user: string, password: string): Promise<void> {
  page.setDefaultTimeout(15_000);
  await page.goto(url);
  await page.getByLabel('User name', { exact: true }).fill(user);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
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
    await signIn(page, c.nodes[0]!.url, 'ann', 'ann-pw');
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

  it('shows an administrator the cluster live: draining a node from the admin page moves the session, and the person keeps working', async () => {
    for (const node of c.nodes) if (!node.alive) await c.restart(node.name);
    const earlier = new Set((await c.status()).sessions.map((s) => s.id));
    const person = await browser.newContext({ viewport: { width: 1100, height: 700 } });
    const page = await person.newPage();
    await signIn(page, c.nodes[1]!.url, 'ann', 'ann-pw');
    // The person is no administrator: no admin page for them.
    await page.getByRole('button', { name: 'Launch Python', exact: true }).click();
    expect(await page.getByRole('tab', { name: 'Admin' }).count()).toBe(0);
    await waitFor('the Python prompt', async () => (await rows(page)).some((row) => row.startsWith('>>>')));
    await page.getByRole('region', { name: 'Python session' }).locator('.xterm-screen').click();
    await page.keyboard.type('y = 6*7');
    await page.keyboard.press('Enter');
    const mine = (s: ClusterStatus) => s.sessions.find((x) => !earlier.has(x.id));
    const before = await waitForStatus(c, (s) => mine(s)?.standbys.length === 1 && Object.keys(mine(s)!.logIndex).length === 2);
    const { primary, standbys, id } = mine(before)!;

    const operator = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const admin = await operator.newPage();
    const adminErrors: string[] = [];
    admin.on('pageerror', (error) => adminErrors.push(error.message));
    await signIn(admin, c.nodes[2]!.url, 'admin', 'admin-pw');
    // An administrator lands on the Admin page.
    await waitFor('the Admin tab in front', () => admin.getByRole('tab', { name: 'Admin', selected: true }).isVisible());
    const row = admin.locator(`tr[data-session="${id}"]`);
    await waitFor('the session on the admin page', async () => (await row.locator('.primary').textContent()) === primary);
    expect(await row.textContent()).toContain('ann');
    // Who, from where, and whether they are at it: the person's client address and idle time.
    expect(await row.locator('td[data-label="Client"]').textContent()).toMatch(/127\.0\.0\.1$/);
    expect(await row.locator('td[data-label="Idle for"]').textContent()).toBe('under a minute');
    expect(await row.locator('td[data-label="Started"]').textContent()).toMatch(/\d/);
    expect(await admin.locator('tr[data-node]').count()).toBe(3);
    // At 800 px (half a laptop screen) the tables become labelled cards: nothing runs off
    // the side, and each session's actions are on screen.
    await admin.setViewportSize({ width: 800, height: 800 });
    expect(await admin.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(800);
    const end = row.getByRole('button', { name: /^End / });
    const box = await end.boundingBox();
    expect(box !== null && box.x + box.width <= 800).toBe(true);
    await admin.screenshot({ path: join(artifacts, 'admin-800px.png'), fullPage: true });
    expect(await axeViolations(admin)).toEqual([]);
    await admin.setViewportSize({ width: 1280, height: 800 });
    await admin.getByRole('button', { name: `Drain ${primary}`, exact: true }).click();
    // Drain asks first, saying what it does to people.
    const confirm = admin.getByRole('dialog', { name: `Drain ${primary}?` });
    expect(await confirm.textContent()).toMatch(/takes no new sessions/);
    expect(await axeViolations(admin)).toEqual([]);
    await confirm.getByRole('button', { name: `Drain ${primary}`, exact: true }).click();
    // Live: the page shows the node drained and the session on its former standby.
    await waitFor('the session to move on the admin page', async () => (await row.locator('.primary').textContent()) === standbys[0]);
    await waitFor('the node to show drained', async () => /drained: \d+ moved/.test((await admin.locator(`tr[data-node="${primary}"]`).textContent()) ?? ''));
    await waitFor('the move in recent events', async () => (await admin.locator('.event-handover').count()) >= 1);
    await admin.screenshot({ path: join(artifacts, 'admin-after-drain.png') });
    // The person's Python is the same interpreter.
    await page.keyboard.type('print(y + 2)');
    await page.keyboard.press('Enter');
    await waitFor('Python to print 44 on the new primary', async () => (await rows(page)).includes('44'), 20_000);
    expect(await page.locator('.session-ended').count()).toBe(0);
    await admin.getByRole('button', { name: `Undrain ${primary}`, exact: true }).click();
    await waitFor('the node to take sessions again', async () => /accepting/.test((await admin.locator(`tr[data-node="${primary}"]`).textContent()) ?? ''));
    expect(adminErrors).toEqual([]);
    await person.close();
    await operator.close();
  }, 90_000);

  it('tells an administrator which apps lockstep cannot keep, and what to do about them', async () => {
    for (const node of c.nodes) if (!node.alive) await c.restart(node.name);
    // An app that prints the kernel's random numbers: its standbys diverge (support/cluster-harness.ts).
    const ann = client(c.nodes[0]!.url);
    await ann.signIn('ann', 'ann-pw');
    const stream = await launch(ann, 'random');
    const diverging = (s: ClusterStatus) => s.apps?.find((a) => a.app === 'random');
    const status = await waitForStatus(c, (s) => (diverging(s)?.divergences ?? 0) >= 1, 45_000);
    expect(diverging(status)).toMatchObject({ failover: 'lockstep', sessions: 1 });
    const operator = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const admin = await operator.newPage();
    await signIn(admin, c.nodes[1]!.url, 'admin', 'admin-pw');
    await admin.getByRole('tab', { name: 'Admin' }).click();
    const table = admin.getByRole('table', { name: 'Apps whose standbys diverged' });
    const row = table.locator('tr[data-app="random"]');
    await waitFor('the app on the admin page', async () => (await row.count()) === 1);
    expect(await row.textContent()).toContain('lockstep');
    expect(await row.textContent()).toMatch(/its (screen|files) (differs|differ|never matched)/);
    expect(await admin.getByText('Set failover: restart for it in the catalog').count()).toBe(1);
    await admin.screenshot({ path: join(artifacts, 'admin-diverging-apps.png'), fullPage: true });
    expect(await axeViolations(admin)).toEqual([]);
    stream.close();
    ann.signOut();
    await operator.close();
  }, 90_000);
});
