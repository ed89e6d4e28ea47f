// End to end, one graphical session on two monitors (issue 26, point 5): Debian's Chromium
// with two virtual screens side by side (headless --screen-info), the Window Management
// permission granted as a person would, a real node and Xvnc. "All screens" opens a
// window on the other monitor; the display becomes one desktop of two RandR monitors (what
// `xrandr --listmonitors` in the app's sandbox says), each window shows its own part of it,
// a click in the second window lands on the app at that part's place, and closing the
// window gives the session back its one screen.
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNode, type TestNode } from '../support/harness.js';
import { readRunningHomeFile } from '../support/homes.js';
import { waitFor } from '../support/wait.js';
import { axeViolations, bundleWebClient, CHROMIUM_ARGS, signIn } from './page.js';
import { launch, saveFailure, settledCanvas } from './rfb-page.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const artifacts = join(root, 'test-artifacts');
/**
 * xev on the whole desktop (where each click landed, in xev.log), and the monitors as an
 * app sees them (monitors.txt, written every half second).
 */
const MONITORS = {
  id: 'monitors',
  name: 'Monitors',
  display: 'rfb',
  geometry: '800x600',
  command: '/bin/bash',
  args: ['-c', '(while sleep 0.3; do /usr/bin/xrandr --listmonitors > "$HOME/monitors.new" 2>&1 && mv "$HOME/monitors.new" "$HOME/monitors.txt"; done) & exec /usr/bin/xev -event button > "$HOME/xev.log"'],
};

let t: TestNode;
let web: string;
let context: BrowserContext;
let page: Page;
const consoleLines: string[] = [];

function homeFile(name: string): string | null {
  return readdirSync(join(t.stateDir, 'sandboxes'))
    .map((id) => readRunningHomeFile(t.stateDir, id, name)?.toString('utf8'))
    .find((text) => text !== undefined) ?? null;
}

/** The monitors xrandr lists: [width, height, x, y] each. */
function monitors(): number[][] | null {
  const text = homeFile('monitors.txt');
  if (!text?.startsWith('Monitors:')) return null;
  return [...text.matchAll(/(\d+)\/\d+x(\d+)\/\d+\+(\d+)\+(\d+)/g)].map((m) => [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])]);
}

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  web = mkdtempSync(join(tmpdir(), 'holdfast-e2e-screens-web-'));
  await bundleWebClient(web);
  t = await startNode({ webRoot: web, apps: [MONITORS] });
  // Two monitors side by side, both at a ratio of 1: the first 1000×700, the second 800×600.
  context = await chromium.launchPersistentContext('', {
    executablePath: '/usr/bin/chromium',
    viewport: null,
    args: [...CHROMIUM_ARGS, '--screen-info={0,0 1000x700}{1000,0 800x600}'],
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(30_000);
  page.on('console', (message) => consoleLines.push(`${new Date().toISOString()} ${message.type()}: ${message.text()}`));
  // As a person who answered the browser's prompt "Manage windows on all your displays" with Allow.
  const cdp = await context.newCDPSession(page);
  await cdp.send('Browser.grantPermissions', { permissions: ['windowManagement'], origin: new URL(t.url).origin });
}, 120_000);

afterAll(async () => {
  await context?.close().catch(() => {});
  await t?.stop();
  if (web) rmSync(web, { recursive: true, force: true });
});

describe('a graphical session on two monitors', () => {
  it('spans both: two RandR monitors, each window its part, a click on the second lands there, and closing it gives one screen back', async () => {
    /** The session's status as the tab shows it, each change (polled): it must stay streaming. */
    const statuses: string[] = [];
    let poll: ReturnType<typeof setInterval> | undefined;
    try {
      await page.goto(t.url);
      await signIn(page, 'ann', 'ann-pw');
      await launch(page, 'Monitors');
      await settledCanvas(page, 'Monitors');
      const one = await waitFor('one monitor', () => (monitors()?.length === 1 ? monitors() : null), 15_000);
      expect(one[0]![2]).toBe(0);

      const button = page.getByRole('button', { name: 'All screens' });
      expect(await button.getAttribute('aria-pressed')).toBe('false');
      const region = page.getByRole('region', { name: 'Monitors session' });
      poll = setInterval(() => void region.getAttribute('data-status').then((st) => { if (st && statuses.at(-1) !== st) statuses.push(st); }).catch(() => {}), 50);
      const opened = context.waitForEvent('page');
      await button.click();
      const second = await opened;
      await waitFor('the second window on the second monitor', () => second.evaluate(() => window.screenX >= 1000 && window.innerWidth > 0).catch(() => false));
      expect(await button.getAttribute('aria-pressed')).toBe('true');
      const [paneWidth, secondSize] = await Promise.all([
        page.getByRole('region', { name: 'Monitors session' }).locator('.rfb-host').evaluate((host) => Math.floor(host.getBoundingClientRect().width)),
        second.evaluate(() => [window.innerWidth, window.innerHeight]),
      ]);

      // The app sees two monitors: the pane's at 0,0 and the second window's right of it.
      const two = await waitFor('two monitors', () => (monitors()?.length === 2 ? monitors() : null), 15_000);
      console.log('monitors:', JSON.stringify({ two, paneWidth, secondSize }));
      expect(two[0]![2]).toBe(0);
      expect(two[1]).toEqual([secondSize[0], secondSize[1], paneWidth, 0]);

      // Each window shows its own part of the one frame, pixel for pixel: a checksum of the
      // second window's canvas against the same region of the tab's (computed in the page:
      // megabytes of pixels through the debugger stalled the page long enough to lose its link).
      const match = await waitFor('the second window to show its part of the frame', async () => {
        const theirs = await second.evaluate(() => {
          const canvas = document.querySelector('canvas');
          if (!canvas || canvas.width === 0) return null;
          const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
          let sum = 0;
          for (let i = 0; i < data.length; i += 4) sum = (sum * 31 + data[i]! * 65536 + data[i + 1]! * 256 + data[i + 2]!) % 2147483647;
          return { width: canvas.width, height: canvas.height, sum };
        });
        if (!theirs || theirs.width !== secondSize[0]) return null;
        const ours = await page.getByRole('region', { name: 'Monitors session' }).locator('canvas').evaluate((canvas: HTMLCanvasElement, at) => {
          const data = canvas.getContext('2d')!.getImageData(at.x, 0, at.width, at.height).data;
          let sum = 0;
          for (let i = 0; i < data.length; i += 4) sum = (sum * 31 + data[i]! * 65536 + data[i + 1]! * 256 + data[i + 2]!) % 2147483647;
          return sum;
        }, { x: paneWidth, width: theirs.width, height: theirs.height });
        return ours === theirs.sum ? theirs : null;
      }, 15_000);
      expect(match.width).toBe(secondSize[0]);
      // What each window shows a person (xev's window is white, the whole desktop over).
      await page.screenshot({ path: join(artifacts, 'rfb-screens-first.png') });
      await second.screenshot({ path: join(artifacts, 'rfb-screens-second.png') });
      // The pane shows its own screen one pixel per pixel, not the whole desktop shrunk into it.
      const drawn = await page.getByRole('region', { name: 'Monitors session' }).locator('canvas').evaluate((canvas: HTMLCanvasElement) => ({ css: canvas.getBoundingClientRect().width, pixels: canvas.width }));
      expect(drawn.css).toBeCloseTo(drawn.pixels, 0);
      clearInterval(poll);
      // Spreading the session over two screens never cost it its link.
      expect(statuses).toEqual(['streaming']);

      // A click in the second window lands on the app at its place on the desktop.
      await second.mouse.click(50, 40);
      const landed = await waitFor('xev to log the click', () => {
        const press = (homeFile('xev.log') ?? '').split('\n\n').filter((block) => block.trim().startsWith('ButtonPress')).at(-1);
        const at = press && /root:\((\d+),(\d+)\)/.exec(press);
        return at ? { x: Number(at[1]), y: Number(at[2]) } : null;
      }, 15_000);
      expect(landed).toEqual({ x: paneWidth + 50, y: 40 });
      expect(await axeViolations(page)).toEqual([]);

      // Closing the second window: one monitor again, the button no longer pressed.
      await second.close();
      await waitFor('one monitor again', () => (monitors()?.length === 1 ? monitors() : null), 15_000);
      await waitFor('the button released', async () => (await button.getAttribute('aria-pressed')) === 'false');
    } catch (error) {
      await saveFailure(artifacts, 'failed-rfb-screens', 'spans both', page, '', consoleLines);
      throw error;
    } finally {
      clearInterval(poll);
    }
  }, 120_000);
});
