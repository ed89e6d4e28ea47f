// This device's keyboard and clipboard preferences as a person meets them in the web
// client (issue 22, points 7 and 11): the real web client — bundled from this tree into
// a directory of the test's own, so the shared dist/ is left alone — in Debian's
// Chromium, against a real node. The person picks other keys for leaving an app in the
// Keyboard settings under the apps: inside a terminal those keys move focus to the tab,
// the old ones no longer do, the pane's hint names the new ones, and a reload keeps the
// choice. With "copy on select" on, text dragged over in a terminal is on the clipboard;
// off (the default), a selection leaves the clipboard alone.
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
let url: string;
let stateDir: string;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  stateDir = mkdtempSync(join(tmpdir(), 'holdfast-e2e-preferences-'));
  const web = join(stateDir, 'web');
  await bundleWebClient(web);
  const config = NodeConfig.parse({
    node: { name: 'test-node', listen: { host: '127.0.0.1', port: 0 }, stateDir },
    users: [{ name: 'ann', passwordHash: await hashPassword('ann-pw', { N: 1024, r: 8, p: 1 }), groups: ['staff'] }],
    apps: [{ id: 'python', name: 'Python', command: '/usr/bin/python3', args: ['-q'] }],
    sandboxProfiles: { default: TEST_PROFILE },
    entitlements: [{ groups: ['staff'], apps: ['python'] }],
  });
  node = new BrokerNode({ config, webRoot: web, log: silentLogger });
  url = await node.start();
  browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: url });
  page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(url);
}, 120_000);

afterEach(async (context) => {
  if (context.task.result?.state === 'fail') await page?.screenshot({ path: join(artifacts, 'failed-preferences.png') }).catch(() => {});
});

afterAll(async () => {
  await browser?.close().catch(() => {});
  await node?.stop();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

const pythonPane = () => page.getByRole('region', { name: 'Python session' });
const settings = () => page.getByRole('region', { name: 'Keyboard' });

/** What has the keyboard now: a tab (its name), the Python terminal, or something else. */
const focused = () =>
  page.evaluate(() => {
    const element = document.activeElement;
    if (element?.getAttribute('role') === 'tab') return `tab ${element.textContent}`;
    if (element?.classList.contains('xterm-helper-textarea')) return 'terminal';
    return element?.tagName ?? 'nothing';
  });

/** Into the terminal, as a click on it puts the keyboard there. */
async function intoTerminal(): Promise<void> {
  await pythonPane().locator('.xterm-screen').click();
  expect(await focused()).toBe('terminal');
}

/** Ctrl, Alt and Shift pressed together (and let go), as a person presses Guacamole's menu keys. */
async function pressCtrlAltShift(): Promise<void> {
  for (const key of ['Control', 'Alt', 'Shift']) await page.keyboard.down(key);
  for (const key of ['Shift', 'Alt', 'Control']) await page.keyboard.up(key);
}

const clipboard = () => page.evaluate(() => navigator.clipboard.readText());

/** Drags the mouse over a terminal row's text, from its first letter to past its last, as a person selects it. */
async function dragOver(rowText: string): Promise<void> {
  const box = await pythonPane()
    .locator('.xterm-rows > div')
    .evaluateAll((rows, text) => {
      const row = rows.find((r) => (r.textContent ?? '').replace(/\u00a0/g, ' ').trimEnd() === text);
      if (!row) return null;
      const range = document.createRange();
      range.selectNodeContents(row);
      const rect = [...range.getClientRects()].find((r) => r.width > 0)!;
      return { left: rect.left, top: rect.top, height: rect.height, cell: rect.width / (row.textContent ?? ' ').length };
    }, rowText);
  if (!box) throw new Error(`no row reads ${rowText}`);
  const y = box.top + box.height / 2;
  await page.mouse.move(box.left + 1, y);
  await page.mouse.down();
  await page.mouse.move(box.left + box.cell * (rowText.length + 2), y, { steps: 8 });
  await page.mouse.up();
}

describe('keyboard preferences, as a person sets and uses them', () => {
  it('other keys for leaving an app: they move focus to the tab, the old ones do not, the hint names them, and a reload keeps them', async () => {
    await signIn(page, 'ann', 'ann-pw');
    await settings().waitFor();
    // The usual keys are chosen until the person picks others.
    const usual = settings().getByRole('radio', { name: /^Ctrl\+Alt\+Shift\b/ });
    const home = settings().getByRole('radio', { name: /^Ctrl\+Alt\+Home\b/ });
    expect(await usual.isChecked()).toBe(true);
    expect(await settings().getByRole('checkbox', { name: 'Copy text when I select it in a terminal' }).isChecked()).toBe(false);
    await settings().scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(artifacts, 'preferences-keyboard.png') });
    expect(await axeViolations(page)).toEqual([]);
    // Reached and changed with the keyboard: arrows move between the choices.
    await usual.focus();
    await page.keyboard.press('ArrowDown');
    expect(await home.isChecked()).toBe(true);
    expect(await usual.isChecked()).toBe(false);
    await page.screenshot({ path: join(artifacts, 'preferences-keyboard-chosen.png') });
    expect(await axeViolations(page)).toEqual([]);

    await page.getByRole('button', { name: 'Launch Python' }).click();
    await waitFor('the Python prompt', async () => (await terminalRows(page, 'Python')).some((row) => row.startsWith('>>>')), 15_000);
    expect(await pythonPane().getByText(/back to the tabs$/).innerText()).toBe('Ctrl+Alt+Home back to the tabs');
    // The old keys go to the app now: the keyboard stays in the terminal.
    await intoTerminal();
    await pressCtrlAltShift();
    expect(await focused()).toBe('terminal');
    // The new ones leave it for the tab, and the app never sees them.
    await page.keyboard.press('Control+Alt+Home');
    expect(await focused()).toBe('tab Python');
    await page.screenshot({ path: join(artifacts, 'preferences-escape-hint.png') });
    await typeLine(page, 'Python', '6*7');
    await waitFor('Python to print 42', async () => (await terminalRows(page, 'Python')).includes('42'));

    // A reload keeps the choice (and the tab, and the sign-in).
    await page.reload();
    await waitFor('the Python tab open again after the reload', () => page.getByRole('tab', { name: 'Python', selected: true }).isVisible(), 15_000);
    await waitFor('the Python prompt again', async () => (await terminalRows(page, 'Python')).some((row) => row.startsWith('>>>')), 15_000);
    expect(await pythonPane().getByText(/back to the tabs$/).innerText()).toBe('Ctrl+Alt+Home back to the tabs');
    await intoTerminal();
    await pressCtrlAltShift();
    expect(await focused()).toBe('terminal');
    await page.keyboard.press('Control+Alt+Home');
    expect(await focused()).toBe('tab Python');
    await page.getByRole('tab', { name: 'Apps' }).click();
    expect(await home.isChecked()).toBe(true);
    expect(pageErrors).toEqual([]);
  }, 90_000);

  it('copy on select: off, a selection leaves the clipboard alone; on, dragging over text in a terminal copies it', async () => {
    await page.getByRole('tab', { name: 'Apps' }).click();
    const copyOnSelect = settings().getByRole('checkbox', { name: 'Copy text when I select it in a terminal' });
    expect(await copyOnSelect.isChecked()).toBe(false);
    await page.getByRole('tab', { name: 'Python' }).click();
    await typeLine(page, 'Python', 'print("copy" + "me")');
    await waitFor('Python to print copyme', async () => (await terminalRows(page, 'Python')).includes('copyme'));

    await page.evaluate(() => navigator.clipboard.writeText('before'));
    await dragOver('copyme');
    await waitFor('the selection to show', () => pythonPane().locator('.xterm-selection div').first().isVisible());
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await clipboard()).toBe('before');
    // Ctrl+Shift+C copies it, as before.
    await page.keyboard.press('Control+Shift+C');
    await waitFor('Ctrl+Shift+C to copy the selection', async () => (await clipboard()) === 'copyme');

    await page.getByRole('tab', { name: 'Apps' }).click();
    await copyOnSelect.check();
    await settings().scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(artifacts, 'preferences-copy-on-select.png') });
    expect(await axeViolations(page)).toEqual([]);
    await page.getByRole('tab', { name: 'Python' }).click();
    await typeLine(page, 'Python', 'print("select" + "ed")');
    await waitFor('Python to print selected', async () => (await terminalRows(page, 'Python')).includes('selected'));
    await page.evaluate(() => navigator.clipboard.writeText('before'));
    await dragOver('selected');
    await waitFor('the selection on the clipboard', async () => (await clipboard()) === 'selected', 5000);
    await page.screenshot({ path: join(artifacts, 'preferences-copied-selection.png') });
    expect(pageErrors).toEqual([]);
  }, 60_000);
});
