// Downloading a selection as a zip from the Files panel, as a person does it (issue 23):
// the real web client — bundled from this tree — in Debian's Chromium, against a real
// node. In a Shell the person makes a folder and files; in Files they select a folder
// and a file with the keyboard (Space on each box), the toolbar says how many, and
// "Download 2 as zip" saves a zip whose files hold what the shell wrote; links offer no
// box; Select all takes every file and folder; a refusal is told in words; Cancel stops
// a zip. axe finds nothing wrong on the way.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page, Route } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startNode, type TestNode } from '../support/harness.js';
import { waitFor } from '../support/wait.js';
import { axeViolations, bundleWebClient, launchChromium, signIn, terminalRows, typeLine } from './page.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const artifacts = join(root, 'test-artifacts');
/** What the shell writes into proj/numbers.txt (seq 1 30000). */
const NUMBERS = Array.from({ length: 30_000 }, (_, i) => `${i + 1}\n`).join('');
const ZIP_CALL = (url: URL | string) => new URL(url).pathname.endsWith('/files/zip');

let web: string;
let node: TestNode;
let browser: Browser;
let context: BrowserContext;
let page: Page;

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  web = mkdtempSync(join(tmpdir(), 'holdfast-e2e-zip-web-'));
  await bundleWebClient(web);
  node = await startNode({ webRoot: web });
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
  page = await context.newPage();
  page.setDefaultTimeout(15_000);
  await page.goto(node.url);
}, 120_000);

afterEach(async (test) => {
  if (test.task.result?.state === 'fail') await page?.screenshot({ path: join(artifacts, 'failed-files-zip.png') }).catch(() => {});
});

afterAll(async () => {
  await browser?.close().catch(() => {});
  await node?.stop();
  if (web) rmSync(web, { recursive: true, force: true });
});

const panel = () => page.getByRole('dialog', { name: 'Files in Shell' });
const toolbar = () => panel().getByRole('toolbar', { name: 'Files actions' });
const outcome = () => panel().locator('.files-outcome').innerText();
const focused = () => page.evaluate(() => document.activeElement?.getAttribute('aria-label') ?? document.activeElement?.textContent ?? null);

/** Each entry of a zip on disk: its name, and its text (folders: null), as python3's zipfile reads it. */
function zipContents(file: string): Array<[string, string | null]> {
  const script = ['import json, sys, zipfile', 'z = zipfile.ZipFile(sys.argv[1])', 'print(json.dumps([[i.filename, None if i.is_dir() else z.read(i).decode()] for i in z.infolist()]))'].join('\n');
  return JSON.parse(execFileSync('python3', ['-c', script, file], { encoding: 'utf8' })) as Array<[string, string | null]>;
}

describe('downloading a selection as a zip', () => {
  it('selects a folder and a file with the keyboard and downloads them as one zip with the shell’s bytes', async () => {
    await signIn(page, 'ann', 'ann-pw');
    await page.getByRole('button', { name: 'Launch Shell', exact: true }).click();
    await waitFor('the shell prompt', async () => (await terminalRows(page, 'Shell')).some((row) => row.endsWith('$')), 15_000);
    await typeLine(page, 'Shell', "mkdir -p proj/src && seq 1 30000 > proj/numbers.txt && printf 'alpha\\n' > proj/src/a.txt && printf 'notes\\n' > notes.txt && echo other > other.txt && ln -s /etc/passwd plink && echo made");
    await waitFor('the files made', async () => (await terminalRows(page, 'Shell')).includes('made'), 15_000);

    await page.getByRole('region', { name: 'Shell session' }).getByRole('button', { name: 'Files', exact: true }).click();
    const files = panel();
    await files.getByRole('checkbox', { name: 'Select notes.txt' }).waitFor();
    // A link cannot go into a zip: it has no box.
    expect(await files.getByRole('checkbox', { name: 'Select plink' }).count()).toBe(0);
    expect(await toolbar().getByRole('button', { name: 'Download as zip' }).isDisabled()).toBe(true);

    // By keyboard: Space on the folder's box, Tab past its Open button to the next row's box, Space.
    await files.getByRole('checkbox', { name: 'Select proj' }).focus();
    await page.keyboard.press('Space');
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('Open folder proj');
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('Select notes.txt');
    await page.keyboard.press('Space');
    expect(await files.getByRole('checkbox', { name: 'Select proj' }).isChecked()).toBe(true);
    expect(await files.getByRole('checkbox', { name: 'Select notes.txt' }).isChecked()).toBe(true);
    expect(await toolbar().innerText()).toContain('2 items selected');
    // Some, not all: Select all shows as mixed.
    expect(await toolbar().getByRole('checkbox', { name: 'Select all' }).evaluate((box: HTMLInputElement) => box.indeterminate)).toBe(true);
    await page.screenshot({ path: join(artifacts, 'files-zip-selected.png') });
    expect(await axeViolations(page)).toEqual([]);

    const saved = page.waitForEvent('download', { timeout: 30_000 });
    await toolbar().getByRole('button', { name: 'Download 2 as zip' }).click();
    const download = await saved;
    expect(download.suggestedFilename()).toBe('Shell files.zip');
    const contents = zipContents((await download.path())!);
    expect(contents).toEqual([
      ['proj/', null],
      ['proj/numbers.txt', NUMBERS],
      ['proj/src/', null],
      ['proj/src/a.txt', 'alpha\n'],
      ['notes.txt', 'notes\n'],
    ]);
    await waitFor('the words', async () => /^Shell files\.zip is downloaded \(\d+(\.\d)? kB\)\.$/.test(await outcome()));
    await page.screenshot({ path: join(artifacts, 'files-zip-downloaded.png') });
    expect(await axeViolations(page)).toEqual([]);
  }, 90_000);

  it('selects every file and folder with Select all, and clears them again', async () => {
    const files = panel();
    const all = toolbar().getByRole('checkbox', { name: 'Select all' });
    await all.focus();
    await page.keyboard.press('Space');
    for (const name of ['proj', 'notes.txt', 'other.txt']) expect(await files.getByRole('checkbox', { name: `Select ${name}` }).isChecked(), name).toBe(true);
    expect(await toolbar().getByRole('button', { name: 'Download 3 as zip' }).count()).toBe(1);
    await page.keyboard.press('Space');
    expect(await files.getByRole('checkbox', { checked: true }).count()).toBe(0);
    expect(await toolbar().getByRole('button', { name: 'Download as zip' }).isDisabled()).toBe(true);
  });

  it('tells a refusal in words, with what to do next', async () => {
    await page.route(ZIP_CALL, (route: Route) =>
      route.fulfill({
        status: 413,
        contentType: 'application/json',
        body: JSON.stringify({ error: 'too_many_files', message: 'The selection holds more than 10,000 files and folders, too many for one zip; select fewer, or make an archive inside the session and download that.' }),
      }),
    );
    await panel().getByRole('checkbox', { name: 'Select proj' }).check();
    await toolbar().getByRole('button', { name: 'Download 1 as zip' }).click();
    await waitFor('the words', async () => (await outcome()).startsWith('proj.zip could not be downloaded. The selection holds more than 10,000 files'));
    expect(await panel().locator('.files-outcome').getAttribute('class')).toContain('error');
    await page.unroute(ZIP_CALL);
  });

  it('stops a zip on Cancel, and says so', async () => {
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    await page.route(ZIP_CALL, async (route: Route) => {
      await held;
      await route.continue().catch(() => {});
    });
    let downloads = 0;
    page.on('download', () => downloads++);
    await toolbar().getByRole('button', { name: 'Download 1 as zip' }).click();
    expect(await panel().getByRole('listitem').filter({ hasText: 'proj.zip' }).innerText()).toContain('Making the zip…');
    await panel().getByRole('button', { name: 'Cancel download of proj.zip' }).click();
    await waitFor('the words', async () => (await outcome()) === 'proj.zip was not downloaded: you cancelled it.');
    release();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(downloads).toBe(0);
    await page.unroute(ZIP_CALL);
  });
});
