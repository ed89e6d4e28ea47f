// Printing as a person meets it (issue 23, printing): the real web client — bundled from
// this tree — in Debian's Chromium against a real node. `echo hello | lp` in a Shell
// brings a notice into the session's pane, in words, with Print… and Save PDF, reached
// by keyboard; Save PDF downloads a PDF whose text (pdftotext) says hello; Print… loads
// that PDF into a hidden frame under the page's strict CSP and calls the frame's print()
// (headless Chromium shows no dialog: what is checked is that the PDF loaded in the
// frame and print() was called on it); printing turned off says so; axe finds nothing.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
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
const bash = (id: string, name: string) => ({ id, name, command: '/bin/bash', args: ['--norc', '--noprofile', '-i'], env: { PS1: '$ ' } });

let web: string;
let browser: Browser;
let page: Page;
let node: BrokerNode;
let stateDir: string;
const csp: string[] = [];

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  web = mkdtempSync(join(tmpdir(), 'holdfast-e2e-print-web-'));
  await bundleWebClient(web);
  stateDir = mkdtempSync(join(tmpdir(), 'holdfast-e2e-print-'));
  const config = NodeConfig.parse({
    node: { name: 'test-node', listen: { host: '127.0.0.1', port: 0 }, stateDir },
    users: [{ name: 'ann', passwordHash: await hashPassword('ann-pw', { N: 1024, r: 8, p: 1 }), groups: ['staff'] }],
    apps: [bash('shell', 'Shell'), bash('sealed', 'Sealed')],
    transferPolicies: [{ apps: ['sealed'], print: false }],
    sandboxProfiles: { default: TEST_PROFILE },
    entitlements: [{ groups: ['staff'], apps: ['shell', 'sealed'] }],
  });
  node = new BrokerNode({ config, webRoot: web, log: silentLogger });
  const url = await node.start();
  browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
  // Every frame, the printed PDF's too, counts its print() calls in the top page (headless Chromium opens no dialog).
  await context.addInitScript(() => {
    const top = window.top as unknown as { printCalls?: string[] };
    window.print = () => void (top.printCalls = [...(top.printCalls ?? []), `${location.protocol} ${document.contentType}`]);
  });
  page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on('console', (message) => void (/Content Security Policy/i.test(message.text()) && csp.push(message.text())));
  await page.goto(url);
}, 120_000);

afterEach(async (test) => {
  if (test.task.result?.state === 'fail') await page?.screenshot({ path: join(artifacts, 'failed-print.png') }).catch(() => {});
});

afterAll(async () => {
  await browser?.close().catch(() => {});
  await node?.stop().catch(() => {});
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  if (web) rmSync(web, { recursive: true, force: true });
});

async function launch(name: string): Promise<void> {
  await page.getByRole('button', { name: `Launch ${name}`, exact: true }).click();
  await waitFor(`the ${name} prompt`, async () => (await terminalRows(page, name)).some((row) => row.endsWith('$')), 15_000);
}

describe('what an app prints, in its session tab', () => {
  it('echo hello | lp: a notice in words, Save PDF downloads it, Print… prints it from a hidden frame; keyboard only; axe', async () => {
    await signIn(page, 'ann', 'ann-pw');
    await launch('Shell');
    const pane = page.getByRole('region', { name: 'Shell session' });
    const size = () => pane.evaluate((el) => [el.getBoundingClientRect().width, el.getBoundingClientRect().height]);
    const before = await size();
    await typeLine(page, 'Shell', 'echo hello | lp');
    const notice = pane.getByRole('status').filter({ hasText: 'Shell printed a document (1 page).' });
    await notice.waitFor();
    expect(await notice.innerText()).toMatch(/^Shell printed a document \(1 page\)\. Shell\.pdf, \d+(\.\d)? kB/);
    // It floats over the app: the app keeps its size.
    expect(await size()).toEqual(before);

    // Keyboard: from the pane's End session button, Tab reaches Print… then Save PDF.
    await pane.getByRole('button', { name: 'End session' }).focus();
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Print…');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Save PDF');
    const saved = page.waitForEvent('download', { timeout: 30_000 });
    await page.keyboard.press('Enter');
    const download = await saved;
    expect(download.suggestedFilename()).toBe('Shell.pdf');
    const path = (await download.path())!;
    expect(readFileSync(path).subarray(0, 5).toString()).toBe('%PDF-');
    expect(execFileSync('pdftotext', [path, '-'], { encoding: 'utf8' })).toContain('hello');

    await page.keyboard.press('Shift+Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Print…');
    await page.keyboard.press('Enter');
    const frame = page.locator('iframe[data-print-frame]');
    await frame.waitFor({ state: 'attached' });
    expect(await frame.getAttribute('src')).toMatch(/^blob:/);
    const calls = await waitFor('print() on the PDF frame', async () => {
      const made = await page.evaluate(() => (window as unknown as { printCalls?: string[] }).printCalls ?? []);
      return made.length > 0 ? made : null;
    });
    expect(calls).toEqual(['blob: application/pdf']);
    expect(csp).toEqual([]);
    // The notice stays (the person may print it again, or save it), and focus stays with it.
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Print…');
    await page.screenshot({ path: join(artifacts, 'print-notice.png') });
    expect(await axeViolations(page)).toEqual([]);

    // Dismiss by keyboard: the notice goes.
    await notice.getByRole('button', { name: 'Dismiss' }).focus();
    await page.keyboard.press('Enter');
    await waitFor('the notice gone', async () => (await notice.count()) === 0);
  }, 120_000);

  it('printing turned off: the person is told why, with no PDF to print', async () => {
    await page.getByRole('tab', { name: 'Apps' }).click();
    await launch('Sealed');
    await typeLine(page, 'Sealed', 'echo secret | lp');
    const pane = page.getByRole('region', { name: 'Sealed session' });
    const alert = pane.getByRole('alert').filter({ hasText: 'printing is turned off for Sealed by your administrator' });
    await alert.waitFor();
    expect(await alert.getByRole('button', { name: 'Print…' }).count()).toBe(0);
    expect(await alert.getByRole('button', { name: 'Save PDF' }).count()).toBe(0);
    await page.screenshot({ path: join(artifacts, 'print-refused.png') });
    expect(await axeViolations(page)).toEqual([]);
  }, 60_000);
});
