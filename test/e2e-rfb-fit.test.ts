// End to end, a graphical app that follows the window (issue 22, point 3) and takes text
// that comes without key events (point 11): the demo node, the web client in Debian's
// Chromium, the demo's XTerm on its own Xvnc. A person resizes the window and expects
// the app to be relaid out to the new size within a second, drawn pixel for pixel — no
// black bars, no scaling; opens the session on another device with another screen and
// expects the same there; and dictates or composes text that must land in the app.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startDemoNode, waitFor, type DemoNode } from './demo-node.js';
import { homeFiles } from './gui.js';
import { axeViolations, launchChromium } from './page.js';
import { displaySizes, displayState, type DisplayState, fitted, launch, saveFailure, settledCanvas, timeFit } from './rfb-page.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const artifacts = join(root, 'test-artifacts');
let demoNode: DemoNode;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const consoleLines: string[] = [];

async function signIn(page: Page): Promise<void> {
  page.setDefaultTimeout(15_000);
  page.on('console', (message) => consoleLines.push(`${new Date().toISOString()} ${message.type()}: ${message.text()}`));
  await page.goto(demoNode.url);
  await page.getByLabel('User name', { exact: true }).fill('demo');
  await page.getByLabel('Password', { exact: true }).fill('demo');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('button', { name: 'Launch XTerm', exact: true }).waitFor();
}

/** Waits until the display has the pane's size and is drawn 1:1; returns how long that took after `since`, and the state. */
async function waitFitted(page: Page, since: number, timeoutMs = 5000): Promise<{ ms: number; state: DisplayState }> {
  for (;;) {
    const sizes = await displaySizes(page, 'XTerm');
    if (fitted(sizes)) {
      const ms = Date.now() - since;
      return { ms, state: (await displayState(page, 'XTerm'))! };
    }
    if (Date.now() - since > timeoutMs) throw new Error(`the display did not take the pane’s size within ${timeoutMs} ms: ${JSON.stringify(sizes)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Types a line into the XTerm and waits for the file it writes to hold something. */
async function shellLine(page: Page, line: string, file: string): Promise<string> {
  await page.keyboard.type(`${line}\n`, { delay: 10 });
  return waitFor(`${file} to be written`, () => homeFiles(demoNode.stateDir, file).find((text) => text.length > 0) ?? null);
}

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  if (!existsSync(join(root, 'dist/renderer/index.html'))) {
    const built = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: root, encoding: 'utf8' });
    if (built.status !== 0) throw new Error(`build failed:\n${built.stdout}\n${built.stderr}`);
  }
  demoNode = await startDemoNode(root);
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1024, height: 768 } });
  page = await context.newPage();
  await signIn(page);
});

afterEach(async (test) => {
  if (test.task.result?.state === 'fail') await saveFailure(artifacts, 'failed-rfb-fit', test.task.name, page, demoNode?.output() ?? '', consoleLines);
});

afterAll(async () => {
  await browser?.close().catch(() => {});
  const problems = (await demoNode?.stop()) ?? [];
  expect(problems, 'processes left behind by the demo node').toEqual([]);
});

describe('a graphical app follows the window', () => {
  it('takes the window’s new size within a second of each resize, drawn 1:1 and filled by the app', async () => {
    await launch(page, 'XTerm');
    const first = await waitFitted(page, Date.now(), 30_000); // the first fit waits for the sandbox and Xvnc to start
    await settledCanvas(page, 'XTerm');
    const canvas = page.getByRole('region', { name: 'XTerm session' }).locator('canvas').first();
    const box = (await canvas.boundingBox())!;
    await page.mouse.click(box.x + 100, box.y + 100);
    const [rows1, cols1] = (await shellLine(page, 'stty size > size-1024.txt', 'size-1024.txt')).trim().split(' ').map(Number) as [number, number];

    const seen: Record<string, { ms: number; state: DisplayState; rows: number; cols: number }> = {};
    for (const [width, height] of [
      [800, 600],
      [1600, 900],
    ] as const) {
      const fitTime = await timeFit(page, 'XTerm');
      await page.setViewportSize({ width, height });
      const ms = await fitTime();
      const { state } = await waitFitted(page, Date.now());
      // The app is relaid out to the new size: XTerm's window fills the display to its edges (the bare display is black).
      await waitFor(`XTerm to fill the ${width}×${height} display`, async () => ((await displayState(page, 'XTerm'))?.blackEdges ?? 1) < 0.02);
      await settledCanvas(page, 'XTerm');
      await page.screenshot({ path: join(artifacts, `rfb-fit-${width}x${height}.png`) });
      const [rows, cols] = (await shellLine(page, `stty size > size-${width}.txt`, `size-${width}.txt`)).trim().split(' ').map(Number) as [number, number];
      seen[`${width}x${height}`] = { ms, state, rows, cols };
    }
    console.log('display fits:', JSON.stringify({ first: first.state.framebuffer, rows1, cols1, seen }));

    for (const { ms, state, rows, cols } of Object.values(seen)) {
      // Measured 0.34–0.41 s here; the bound only catches "never" or "not until a reattach" (speed is the bench's to measure, and CI is loaded).
      expect(ms, 'time from the resize to the display having the pane’s size, drawn 1:1').toBeLessThan(3000);
      expect(state.drawn, 'drawn unscaled').toEqual(state.framebuffer);
      // XTerm's own geometry follows: its rows and columns scale with the display (same character cell).
      expect(Math.abs(cols - (cols1 * state.framebuffer.width) / first.state.framebuffer.width), 'XTerm columns').toBeLessThanOrEqual(2);
      expect(Math.abs(rows - (rows1 * state.framebuffer.height) / first.state.framebuffer.height), 'XTerm rows').toBeLessThanOrEqual(2);
    }
    expect(seen['800x600']!.cols).toBeLessThan(cols1);
    expect(seen['1600x900']!.cols).toBeGreaterThan(cols1);
  });

  it('takes the other device’s size when the session is opened there, and follows that window', async () => {
    // A laptop with a 2× screen: the display is asked for in its device pixels, each drawn on one device pixel (sharp; e2e-rfb-hidpi.test.ts looks closer).
    const other = await browser.newContext({ viewport: { width: 1280, height: 1000 }, deviceScaleFactor: 2 });
    const there = await other.newPage();
    try {
      await signIn(there);
      await there.getByRole('button', { name: /^Open XTerm started/ }).first().click();
      await waitFor('XTerm to stream on the other device', () => there.getByRole('region', { name: 'XTerm session' }).getAttribute('data-status').then((s) => s === 'streaming'), 15_000);
      const opened = Date.now();
      const { ms, state } = await waitFitted(there, opened);
      await waitFor('XTerm to fill the other device’s display', async () => ((await displayState(there, 'XTerm'))?.blackEdges ?? 1) < 0.02);
      await settledCanvas(there, 'XTerm');
      await there.screenshot({ path: join(artifacts, 'rfb-fit-other-device.png') });
      console.log('other device:', JSON.stringify({ ms, state }));
      expect(Math.abs(state.framebuffer.width - state.pane.width * 2), 'the other device’s pane, in its device pixels').toBeLessThanOrEqual(1);
      expect(Math.abs(state.framebuffer.height - state.pane.height * 2), 'the other device’s pane, in its device pixels').toBeLessThanOrEqual(1);
      expect(state.framebuffer.width, 'not the first window’s 1600 px').toBeLessThanOrEqual(2560);
      expect(state.drawn.width, 'drawn at the pane’s CSS size').toBeCloseTo(state.framebuffer.width / 2, 1);
      expect(state.imageRendering, 'one device pixel per display pixel, never resampled').toBe('pixelated');
      expect(ms, 'time from the stream starting there to its size').toBeLessThan(4000);
      // …and it keeps following that window there.
      const fitTime = await timeFit(there, 'XTerm');
      await there.setViewportSize({ width: 900, height: 700 });
      const resized = { ms: await fitTime(), state: (await waitFitted(there, Date.now())).state };
      await waitFor('XTerm to fill the resized display there', async () => ((await displayState(there, 'XTerm'))?.blackEdges ?? 1) < 0.02);
      await settledCanvas(there, 'XTerm');
      await there.screenshot({ path: join(artifacts, 'rfb-fit-other-device-900x700.png') });
      console.log('other device resized:', JSON.stringify(resized));
      expect(resized.ms, 'time from the resize there to its size').toBeLessThan(3000);
    } finally {
      await other.close();
    }
  });
});

describe('text that comes without key events', () => {
  it('reaches the app: inserted text (dictation) and an input method’s composition', async () => {
    await page.setViewportSize({ width: 1024, height: 768 });
    await launch(page, 'XTerm');
    await waitFitted(page, Date.now(), 30_000);
    await settledCanvas(page, 'XTerm');
    const canvas = page.getByRole('region', { name: 'XTerm session' }).locator('canvas').first();
    const box = (await canvas.boundingBox())!;
    await page.mouse.click(box.x + 100, box.y + 100);
    await page.keyboard.type('cat > typed.txt\n', { delay: 10 });
    // Dictation and "insert text" give the page text and no keys (Playwright's insertText: an input event only).
    await page.keyboard.insertText('héllo wörld ✓ ');
    // Compositions, shown while they are chosen, then committed: a dead key (macOS's ⌥N then N)
    // and a Japanese input method (the sandbox has no CJK font: XTerm draws boxes, the file has the text).
    const cdp = await context.newCDPSession(page);
    await cdp.send('Input.imeSetComposition', { text: '˜', selectionStart: 1, selectionEnd: 1 });
    await cdp.send('Input.insertText', { text: 'ñ' });
    await page.keyboard.insertText(' ');
    await cdp.send('Input.imeSetComposition', { text: 'にほんご', selectionStart: 4, selectionEnd: 4 });
    await cdp.send('Input.insertText', { text: '日本語' });
    await page.keyboard.press('Enter');
    await page.keyboard.press('Control+D');
    const typed = await waitFor('the typed file', () => homeFiles(demoNode.stateDir, 'typed.txt').find((text) => text.includes('\n')) ?? null);
    await page.screenshot({ path: join(artifacts, 'rfb-text-input.png') });
    expect(typed).toBe('héllo wörld ✓ ñ 日本語\n');
    // The display's container carries no name of its own (aria-prohibited-attr); the hidden textarea is labelled.
    const violations = await axeViolations(page);
    console.log('axe on the GUI tab:', JSON.stringify(violations));
    expect(violations.filter((v) => /rfb|textarea|canvas/.test(v))).toEqual([]);
  });
});
