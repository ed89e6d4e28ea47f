// End to end, graphical apps: the demo node as a child process, the web client in
// Debian's Chromium, and the demo's text editor (xedit) and XTerm, each on its own
// Xvnc display in its sandbox, drawn by noVNC. Asserts what a person sees on the
// canvas and finds on their clipboard.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startDemoNode, waitFor, type DemoNode } from './demo-node.js';
import { homeFiles } from './gui.js';
import { canvasCells, launch, saveFailure, settledCanvas } from './rfb-page.js';
import { launchChromium } from './page.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const artifacts = join(root, 'test-artifacts');
let demoNode: DemoNode | null = null;
let browser: Browser | null = null;
let context: BrowserContext | null = null;
let page: Page;
/** The page's console, kept for a failing test's artifacts. */
const consoleLines: string[] = [];

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  if (!existsSync(join(root, 'dist/renderer/index.html'))) {
    const built = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: root, encoding: 'utf8' });
    if (built.status !== 0) throw new Error(`build failed:\n${built.stdout}\n${built.stderr}`);
  }
  demoNode = await startDemoNode(root);
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: demoNode.url });
  page = await context.newPage();
  page.on('console', (message) => consoleLines.push(`${new Date().toISOString()} ${message.type()}: ${message.text()}`));
  page.setDefaultTimeout(15_000);
  await page.goto(demoNode.url);
  await page.getByLabel('User name', { exact: true }).fill('demo');
  await page.getByLabel('Password', { exact: true }).fill('demo');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('button', { name: 'Launch Text editor', exact: true }).waitFor();
});

afterEach(async (test) => {
  if (test.task.result?.state === 'fail') await saveFailure(artifacts, 'failed-rfb', test.task.name, page, demoNode?.output() ?? '', consoleLines);
});

afterAll(async () => {
  await browser?.close().catch(() => {});
  const problems = (await demoNode?.stop()) ?? [];
  expect(problems, 'processes left behind by the demo node').toEqual([]);
});

describe('a graphical app in the web client', () => {
  it('launches the text editor, fills the pane, and shows the line typed into it', async () => {
    await launch(page, 'Text editor');
    // The tab carries the app's own window name (xedit names its window "xedit"), as a terminal's title does.
    await waitFor('the tab named by the app’s window', () => page.getByRole('tab', { name: 'xedit', exact: true, selected: true }).isVisible(), 15_000);
    // The display follows the pane (ExtendedDesktopSize): the canvas becomes the pane's size, not the catalog's 1024×700.
    const pane = (await page.locator('.rfb-host').boundingBox())!;
    await waitFor('the display to take the pane’s size', async () => {
      const now = await canvasCells(page, 'Text editor');
      return now && Math.abs(now.width - Math.round(pane.width)) <= 2 && Math.abs(now.height - Math.round(pane.height)) <= 2;
      // Generous: under the whole suite (two files at once on two cores) the sandbox and Xvnc can take a while to start.
    }, 30_000);
    const before = await settledCanvas(page, 'Text editor');
    const drawn = (await canvasCells(page, 'Text editor'))!;

    const canvas = page.getByRole('region', { name: 'Text editor session' }).locator('canvas').first();
    const box = (await canvas.boundingBox())!;
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    // Long enough to span well over 8 cells of 16 px in any of xedit's usual fonts (22
    // characters of a 6 px font end right at the 8th: too close to tell a line from a word).
    await page.keyboard.type('Hello from Holdfast 42, typed in Chromium', { delay: 15 });
    const after = await waitFor('the typed line to show', async () => {
      const now = await settledCanvas(page, 'Text editor');
      return now.join(',') !== before.join(',') ? now : null;
    });
    await page.screenshot({ path: join(artifacts, 'rfb-editor.png') });

    // What changed is one line of text near the top of the editing area, and not the
    // rest of the screen — beside it only xedit's scroll bar (which appears down the
    // left edge once there is text) and the pointer, which the click moved.
    const cols = Math.ceil(drawn.width / 16);
    const changed = after.map((sum, i) => (sum !== before[i] && i % cols >= 2 ? i : -1)).filter((i) => i >= 0);
    const top = changed.filter((i) => Math.floor(i / cols) * 16 < drawn.height / 4);
    const rows = new Set(top.map((i) => Math.floor(i / cols)));
    const columns = top.map((i) => i % cols);
    expect(rows.size, 'rows of 16 px that changed in the top quarter').toBeGreaterThanOrEqual(1);
    // The line (one or two rows of 16 px), and xedit's message line, which says the file was opened once it is written to.
    expect(rows.size, 'rows of 16 px that changed in the top quarter').toBeLessThanOrEqual(3);
    expect(Math.max(...columns) - Math.min(...columns), 'width of the typed line, in 16 px cells').toBeGreaterThanOrEqual(8);
    expect(changed.length - top.length, 'cells that changed elsewhere (the pointer)').toBeLessThanOrEqual(8);
  });

  it('copies text from the app to the local clipboard, and from the local clipboard into the app', async () => {
    await launch(page, 'XTerm');
    await settledCanvas(page, 'XTerm');
    const canvas = page.getByRole('region', { name: 'XTerm session' }).locator('canvas').first();
    const box = (await canvas.boundingBox())!;
    await page.mouse.click(box.x + 200, box.y + 200);
    await page.keyboard.type('printf clip-from-app-42 | xclip -selection clipboard\n', { delay: 10 });
    await waitFor('the app’s clipboard text on the local clipboard', () => page.evaluate(() => navigator.clipboard.readText()).then((text) => text === 'clip-from-app-42'));

    await page.evaluate(() => navigator.clipboard.writeText('from-local-77'));
    await page.mouse.click(box.x + 200, box.y + 200); // using the view sends the local clipboard to the app
    await page.keyboard.type('xclip -o -selection clipboard > pasted.txt\n', { delay: 10 });
    await waitFor('the app to have read the local clipboard', () => homeFiles(demoNode!.stateDir, 'pasted.txt').includes('from-local-77'));
    await page.screenshot({ path: join(artifacts, 'rfb-xterm-clipboard.png') });
  });
});
