// End to end: the real demo node as a child process, the real web client in Debian's
// Chromium (driven by playwright-core), real bubblewrap sandboxes and PTYs. Asserts
// what a person would notice: which apps they see, what the terminal shows, that the
// terminal follows the window's size, and what sign-in failures look like.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startDemoNode, waitFor, type DemoNode } from './demo-node.js';
import { launchButtons, launchChromium, signIn, terminalRows } from './page.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const artifacts = join(root, 'test-artifacts');

let demoNode: DemoNode | null = null;
let baseUrl = '';
let browser: Browser | null = null;
let demo: { context: BrowserContext; page: Page; pageErrors: string[] };
/** The page the running test drives, and what its console said, for a failure's evidence. */
let current: { page: Page; log: string[] } | null = null;

/** Polls until `read()` equals `expected` (deep), then asserts it, so a failure shows a diff. */
async function waitForEqual<T>(what: string, read: () => Promise<T>, expected: T, timeoutMs = 10_000): Promise<void> {
  let last: T | undefined;
  try {
    await waitFor(what, async () => {
      last = await read();
      return JSON.stringify(last) === JSON.stringify(expected);
    }, timeoutMs);
  } catch {
    /* fall through to the assertion, which reports the difference */
  }
  expect(last, what).toEqual(expected);
}

async function newPage(): Promise<{ context: BrowserContext; page: Page; pageErrors: string[] }> {
  const context = await browser!.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const pageErrors: string[] = [];
  const log: string[] = [];
  current = { page, log };
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => log.push(`${message.type()}: ${message.text()}`));
  page.setDefaultTimeout(15_000);
  await page.goto(baseUrl);
  return { context, page, pageErrors };
}

/** How the visible terminal's grid sits in its pane: overflow (> 0 is hidden) and the space left below it. */
function terminalFit(page: Page, app: string): Promise<{ overBottom: number; overRight: number; spareBottom: number; rowHeight: number }> {
  return page.getByRole('region', { name: `${app} session` }).evaluate((session) => {
    const host = session.querySelector('.terminal-host')!.getBoundingClientRect();
    const screen = session.querySelector('.xterm-screen')!.getBoundingClientRect();
    const rows = session.querySelectorAll('.xterm-rows > div').length;
    return { overBottom: screen.bottom - host.bottom, overRight: screen.right - host.right, spareBottom: host.bottom - screen.bottom, rowHeight: screen.height / rows };
  });
}

function terminalSize(page: Page): Promise<string | null> {
  return page.getByLabel('Terminal size', { exact: true }).textContent({ timeout: 1_000 }).catch(() => null);
}

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  if (!existsSync(join(root, 'dist/renderer/index.html'))) {
    const built = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: root, encoding: 'utf8' });
    if (built.status !== 0) throw new Error(`build failed:\n${built.stdout}\n${built.stderr}`);
  }
  demoNode = await startDemoNode(root);
  baseUrl = demoNode.url;
  browser = await launchChromium();
});

afterEach(async (context) => {
  if (context.task.result?.state !== 'fail' || !current || current.page.isClosed()) return;
  const name = context.task.name.replace(/\W+/g, '-').slice(0, 60);
  await current.page.screenshot({ path: join(artifacts, `failed-${name}.png`) }).catch(() => {});
  console.error(`page ${current.page.url()} console:\n${current.log.join('\n')}\nbody text:\n${await current.page.locator('body').innerText({ timeout: 1_000 }).catch(String)}`);
});

afterAll(async () => {
  await browser?.close().catch(() => {});
  const problems = (await demoNode?.stop()) ?? [];
  expect(problems, 'processes left behind by the demo node').toEqual([]);
});

describe('the web client, as a person uses it', () => {
  it('signs demo in and shows exactly Shell, Python, htop, XTerm, the text editor, Mousepad and Sound check', async () => {
    demo = await newPage();
    const { page } = demo;
    await page.getByRole('heading', { name: 'Sign in to Holdfast' }).waitFor();
    await signIn(page, 'demo', 'demo');
    await page.getByRole('heading', { name: 'Your apps' }).waitFor();
    await waitForEqual('the launcher to list demo’s apps', () => launchButtons(page), ['Launch Shell', 'Launch Python', 'Launch htop', 'Launch XTerm', 'Launch Text editor', 'Launch Mousepad', 'Launch Sound check']);
    expect(await page.getByRole('status').first().textContent()).toMatch(/Connected to server demo/);
    expect(await page.getByText('Demo User', { exact: true }).isVisible()).toBe(true);
    await page.screenshot({ path: join(artifacts, 'launcher.png') });
  });

  it('filters the apps as the person types in the search box', async () => {
    const { page } = demo;
    const search = page.getByRole('searchbox', { name: 'Search apps' });
    await search.fill('pyth');
    await waitForEqual('only Python to match "pyth"', () => launchButtons(page), ['Launch Python']);
    await search.fill('no-such-app');
    await waitForEqual('nothing to match', () => launchButtons(page), []);
    expect(await page.getByText('No app matches “no-such-app”.').isVisible()).toBe(true);
    await search.fill('');
    await waitForEqual('every app back', () => launchButtons(page), ['Launch Shell', 'Launch Python', 'Launch htop', 'Launch XTerm', 'Launch Text editor', 'Launch Mousepad', 'Launch Sound check']);
  });

  it('launches Python, and the terminal shows what it computes', async () => {
    const { page } = demo;
    await page.getByRole('button', { name: 'Launch Python', exact: true }).click();
    await waitFor('the Python tab to be selected', () => page.getByRole('tab', { name: 'Python', selected: true }).isVisible());
    await waitFor('the Python prompt', async () => (await terminalRows(page, 'Python')).some((row) => row.startsWith('>>>')), 15_000);
    await page.getByRole('region', { name: 'Python session' }).locator('.xterm-screen').click();
    await page.keyboard.type('6*7');
    await page.keyboard.press('Enter');
    await waitFor('Python to print 42', async () => (await terminalRows(page, 'Python')).includes('42'));
    await page.screenshot({ path: join(artifacts, 'session-python.png') });
  });

  it('launches Shell in a second tab, whose terminal follows the window size', async () => {
    const { page } = demo;
    await page.getByRole('tab', { name: 'Apps' }).click();
    await page.getByRole('button', { name: 'Launch Shell', exact: true }).click();
    await waitFor('the Shell tab to be selected', () => page.getByRole('tab', { name: 'Shell', selected: true }).isVisible());
    expect(await page.getByRole('tab').allTextContents()).toEqual(['Apps', 'Python', 'Shell']);
    await waitFor('a shell prompt', async () => (await terminalRows(page, 'Shell')).some((row) => /[$#] ?$/.test(row)), 15_000);
    const before = await waitFor('the status bar to show the terminal size', () => terminalSize(page));
    expect(before).toMatch(/^\d+×\d+$/);

    // 549 px leaves the terminal pane a whole number of rows tall, where a fit that
    // forgets the pane's padding gets one row too many and hides it under the status bar.
    await page.setViewportSize({ width: 900, height: 549 });
    const after = await waitFor('the terminal size to change', async () => {
      const size = await terminalSize(page);
      return size && size !== before ? size : null;
    });
    const [cols, rows] = after.split('×').map(Number) as [number, number];
    expect(cols).toBeLessThan(Number(before.split('×')[0]));
    // The terminal on screen has as many rows as the status bar says.
    await waitForEqual('the terminal to show that many rows', async () => (await terminalRows(page, 'Shell')).length, rows);
    // …and they fill the pane without spilling out of it.
    const fit = await terminalFit(page, 'Shell');
    expect(fit.overBottom, 'terminal rows hidden below the pane').toBeLessThanOrEqual(0);
    expect(fit.overRight, 'terminal columns hidden right of the pane').toBeLessThanOrEqual(0);
    expect(fit.spareBottom, 'unused space below the terminal').toBeLessThan(fit.rowHeight);

    await page.getByRole('region', { name: 'Shell session' }).locator('.xterm-screen').click();
    await page.keyboard.type('stty size');
    await page.keyboard.press('Enter');
    const reported = await waitFor('stty to print the size', async () => (await terminalRows(page, 'Shell')).find((row) => /^\d+ \d+$/.test(row)));
    expect(reported, `status bar says ${after}`).toBe(`${rows} ${cols}`);
  });

  it('signs out back to the sign-in form', async () => {
    const { page, context, pageErrors } = demo;
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    // Python and Shell still run: signing out asks what becomes of them (test/e2e-sessions.test.ts keeps them).
    await page.getByRole('dialog', { name: 'Sign out?' }).getByRole('button', { name: 'End them and sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to Holdfast' }).waitFor();
    expect(await page.getByLabel('User name', { exact: true }).isVisible()).toBe(true);
    expect(await page.getByRole('tab').count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Sign out' }).count()).toBe(0);
    expect(pageErrors).toEqual([]);
    await context.close();
  });

  it('shows guest only Python', async () => {
    const { page, context, pageErrors } = await newPage();
    await signIn(page, 'guest', 'guest');
    await page.getByRole('heading', { name: 'Your apps' }).waitFor();
    await waitForEqual('the launcher to list guest’s apps', () => launchButtons(page), ['Launch Python']);
    expect(await page.getByText('Guest', { exact: true }).isVisible()).toBe(true);
    expect(pageErrors).toEqual([]);
    await context.close();
  });

  it('says so when the password is wrong, and changes nothing else', async () => {
    const { page, context, pageErrors } = await newPage();
    await signIn(page, 'demo', 'not-the-password');
    const alert = page.getByRole('alert').filter({ hasText: /sign-in failed/i });
    await alert.waitFor({ state: 'visible' });
    expect(await alert.textContent()).toBe('Sign-in failed: the user name or password is not right.');
    expect(await page.getByRole('heading', { name: 'Sign in to Holdfast' }).isVisible()).toBe(true);
    expect(await page.getByLabel('User name', { exact: true }).inputValue()).toBe('demo');
    // Focus is back in the password field, ready for the next try.
    await waitFor('focus back in the password field', () => page.evaluate(() => document.activeElement?.id === 'password'));
    expect(await page.getByRole('heading', { name: 'Your apps' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Sign out' }).count()).toBe(0);
    expect(await page.getByRole('status').first().textContent()).toMatch(/Not signed in/);
    expect(pageErrors).toEqual([]);
    await context.close();
  });
});
