// The launcher's running sessions as a person manages them (issue 22, point 5): the
// real web client — bundled from this tree into a directory of the test's own, so the
// shared dist/ is left alone — in Debian's Chromium, against a real node. A session
// left running shows a live picture of its screen (its terminal's rows), when it
// started and when it was last used; the list puts the last used first; the pictures
// are asked for only while the launcher is in front and the page visible.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../broker/auth/password.js';
import { NodeConfig } from '../broker/config/schema.js';
import { silentLogger } from '../broker/log.js';
import { BrokerNode } from '../broker/node.js';
import { TEST_PROFILE } from '../support/harness.js';
import { waitFor } from '../support/wait.js';
import { axeViolations, bundleWebClient, launchChromium, signIn, terminalRows, typeLine } from './page.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const artifacts = join(root, 'test-artifacts');

let node: BrokerNode;
let stateDir: string;
let browser: Browser;
let page: Page;
/** Thumbnail requests the page made. */
const asked: string[] = [];

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  stateDir = mkdtempSync(join(tmpdir(), 'holdfast-e2e-running-'));
  const web = join(stateDir, 'web');
  await bundleWebClient(web);
  const config = NodeConfig.parse({
    node: { name: 'test-node', listen: { host: '127.0.0.1', port: 0 }, stateDir },
    users: [{ name: 'ann', passwordHash: await hashPassword('ann-pw', { N: 1024, r: 8, p: 1 }), groups: ['staff'] }],
    apps: [
      { id: 'python', name: 'Python', command: '/usr/bin/python3', args: ['-q'] },
      { id: 'xterm', name: 'XTerm', icon: 'window', display: 'rfb', geometry: '800x600', command: '/usr/bin/xterm', args: ['-fa', 'DejaVu Sans Mono', '-fs', '11'] },
    ],
    sandboxProfiles: { default: TEST_PROFILE },
    entitlements: [{ groups: ['staff'], apps: ['python', 'xterm'] }],
  });
  node = new BrokerNode({ config, webRoot: web, log: silentLogger });
  const url = await node.start();
  browser = await launchChromium();
  page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  page.setDefaultTimeout(15_000);
  page.on('request', (request) => {
    if (request.url().endsWith('/thumbnail')) asked.push(request.url());
  });
  await page.goto(url);
}, 120_000);

afterEach(async (context) => {
  if (context.task.result?.state === 'fail') await page?.screenshot({ path: join(artifacts, 'failed-running.png') }).catch(() => {});
});

afterAll(async () => {
  await browser?.close().catch(() => {});
  await node?.stop();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

const entries = () => page.locator('.running-session');
/** The text of each running session's picture, top to bottom ('' while it shows the icon). */
const pictures = () => entries().evaluateAll((items) => items.map((item) => item.querySelector('.thumbnail-text')?.textContent ?? ''));

/** Launches Python, prints `marker` in it, and closes its tab (the session keeps running). */
async function leaveRunning(marker: string): Promise<void> {
  await page.getByRole('tab', { name: 'Apps' }).click();
  await page.getByRole('button', { name: 'Launch Python', exact: true }).click();
  await waitFor('the Python prompt', async () => (await terminalRows(page, 'Python')).some((row) => row.startsWith('>>>')), 15_000);
  await typeLine(page, 'Python', `print('${marker.slice(0, 4)}' + '${marker.slice(4)}')`);
  await waitFor(`Python to print ${marker}`, async () => (await terminalRows(page, 'Python')).includes(marker));
  await page.getByRole('tab', { name: 'Python' }).locator('.tab-close').click();
  await waitFor('the Apps tab alone', async () => (await page.getByRole('tab').allTextContents()).join() === 'Apps');
}

describe('running sessions in the launcher', () => {
  it('shows a live picture of a session left running, when it started and when it was last used', async () => {
    await signIn(page, 'ann', 'ann-pw');
    await leaveRunning('first-marker');
    const open = page.getByRole('button', { name: /^Open Python started \d\d:\d\d/ });
    await waitFor('the launcher to list Python as running', () => open.isVisible(), 10_000);
    const entry = entries().first();
    await waitFor('the picture of its screen', async () => (await pictures())[0]?.includes('first-marker'), 10_000);
    expect(await entry.locator('.thumbnail').getAttribute('aria-hidden')).toBe('true');
    // (Until the node has noted that the tab closed, it may still say the session is open elsewhere.)
    const words = /started \d\d:\d\d( [AP]M)? · last used \d\d:\d\d( [AP]M)?\s+waiting for you until \d\d:\d\d/;
    await waitFor('when it started and was last used', async () => words.test(await entry.innerText()), 10_000);
    // It stays live: new output shows in the picture within a refresh or two.
    await open.click();
    await typeLine(page, 'Python', "print('later' + '-output')");
    await waitFor('Python to print it', async () => (await terminalRows(page, 'Python')).includes('later-output'));
    await page.getByRole('tab', { name: 'Python' }).locator('.tab-close').click();
    await waitFor('the picture to show the new output', async () => (await pictures())[0]?.includes('later-output'), 12_000);
  }, 60_000);

  it('lists the last used first: using an older session brings it to the top', async () => {
    await leaveRunning('second-marker');
    await waitFor('both pictures, the second session first', async () => {
      const [top, next] = await pictures();
      return top?.includes('second-marker') && next?.includes('first-marker');
    }, 15_000);
    await page.screenshot({ path: join(artifacts, 'running-thumbnails.png') });
    await entries().first().locator('.thumbnail').screenshot({ path: join(artifacts, 'running-thumbnail-terminal.png') });
    expect(await axeViolations(page)).toEqual([]);
    // Open the older one (second in the list), use it, and leave it again.
    await entries().nth(1).getByRole('button', { name: /^Open Python started/ }).click();
    await typeLine(page, 'Python', "print('back' + '-again')");
    await waitFor('Python to print it', async () => (await terminalRows(page, 'Python')).includes('back-again'));
    expect((await terminalRows(page, 'Python')).some((row) => row.includes('first-marker')), 'the first session opened').toBe(true);
    await page.getByRole('tab', { name: 'Python' }).locator('.tab-close').click();
    await waitFor('the first session at the top', async () => {
      const [top, next] = await pictures();
      return top?.includes('back-again') && next?.includes('second-marker');
    }, 15_000);
    await page.screenshot({ path: join(artifacts, 'running-thumbnails-reordered.png') });
  }, 60_000);

  it('asks for pictures only while the launcher is in front and the page is visible', async () => {
    // A session's tab in front: the launcher is not shown, and nothing is asked.
    await entries().first().getByRole('button', { name: /^Open Python started/ }).click();
    await page.getByRole('region', { name: 'Python session' }).waitFor();
    asked.length = 0;
    await new Promise((r) => setTimeout(r, 6000));
    expect(asked).toEqual([]);
    await page.getByRole('tab', { name: 'Apps' }).click();
    await waitFor('pictures asked for again', async () => asked.length > 0, 3000);
    // The page hidden (another browser tab in front): nothing is asked until it is visible again.
    const setVisibility = (state: string) =>
      page.evaluate((value) => {
        Object.defineProperty(document, 'visibilityState', { value, configurable: true });
        document.dispatchEvent(new Event('visibilitychange'));
      }, state);
    await setVisibility('hidden');
    await new Promise((r) => setTimeout(r, 300));
    asked.length = 0;
    await new Promise((r) => setTimeout(r, 6000));
    expect(asked).toEqual([]);
    await setVisibility('visible');
    await waitFor('pictures asked for once visible', async () => asked.length > 0, 2000);
  }, 60_000);

  it('shows a graphical session’s screen scaled down', async () => {
    await page.getByRole('tab', { name: 'Apps' }).click();
    await page.getByRole('button', { name: 'Launch XTerm', exact: true }).click();
    const tab = page.getByRole('tab', { name: 'XTerm' });
    await tab.waitFor();
    // Its display drawn (the canvas noVNC paints), then the tab closed: it keeps running.
    await page.getByRole('region', { name: 'XTerm session' }).locator('canvas').first().waitFor();
    await tab.locator('.tab-close').click();
    const picture = page.locator('.running-session .thumbnail-image img');
    await waitFor('the XTerm picture', () => picture.isVisible(), 15_000);
    // The display is as large as the window it was opened in (the client resizes it): scaled to 320 across.
    const [width, height, alt] = await picture.evaluate((img: HTMLImageElement) => [img.naturalWidth, img.naturalHeight, img.alt] as const);
    expect([width, alt]).toEqual([320, '']);
    expect(height).toBeGreaterThan(0);
    expect(height).toBeLessThanOrEqual(320);
    expect(await page.locator('.running-session').first().innerText()).toContain('XTerm');
    await page.screenshot({ path: join(artifacts, 'running-thumbnails-gui.png') });
    expect(await axeViolations(page)).toEqual([]);
  }, 60_000);
});
