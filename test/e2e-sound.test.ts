// Sound in the web client (issue 25), in Debian's Chromium against a real node: an app
// with sound plays a 440 Hz tone in its sandbox; the person turns the tab's sound on and
// the page's analyser finds the tone at 440 Hz (± 10); off, the page plays nothing.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNode, type TestNode } from '../support/harness.js';
import { waitFor } from '../support/wait.js';
import { axeViolations, bundleWebClient, launchChromium, signIn } from './page.js';
import { TONE_APP } from './tones.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const artifacts = join(root, 'test-artifacts');

let t: TestNode;
let web: string;
let browser: Browser;

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  web = mkdtempSync(join(tmpdir(), 'holdfast-e2e-sound-web-'));
  await bundleWebClient(web);
  t = await startNode({ webRoot: web, apps: [TONE_APP] });
  browser = await launchChromium(['--autoplay-policy=no-user-gesture-required']);
}, 120_000);

afterAll(async () => {
  await browser?.close().catch(() => {});
  await t?.stop();
  if (web) rmSync(web, { recursive: true, force: true });
});

describe('sound in the browser', () => {
  it('plays the app’s tone once turned on: the page finds 440 Hz', async () => {
    const page = await (await browser.newContext({ viewport: { width: 1100, height: 700 } })).newPage();
    page.setDefaultTimeout(15_000);
    await page.goto(t.url);
    await signIn(page, 'ann', 'ann-pw');
    await page.getByRole('button', { name: 'Launch Tone', exact: true }).click();
    const button = page.getByRole('button', { name: 'Sound off' });
    await button.click();
    await page.getByRole('button', { name: 'Sound on' }).waitFor();
    const mark = page.locator('.sound-playing');
    const hz = await waitFor('the tone heard by the page', async () => {
      const value = await mark.getAttribute('data-peak-hz').catch(() => null);
      return value ? Number(value) : null;
    }, 15_000);
    expect(Math.abs(hz - 440), `peak at ${hz} Hz`).toBeLessThanOrEqual(10);
    expect(await mark.textContent()).toBe('playing');
    await page.screenshot({ path: join(artifacts, 'sound-on.png') });
    expect(await axeViolations(page)).toEqual([]);
    await page.getByRole('button', { name: 'Sound on' }).click();
    await page.getByRole('button', { name: 'Sound off' }).waitFor();
    expect(await mark.count()).toBe(0);
  }, 90_000);
});
