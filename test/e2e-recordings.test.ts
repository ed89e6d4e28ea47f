// Playing a recording back on the Admin page (issue 24), in the real web client in
// Debian's Chromium against a real node whose policy records Shell: ann types a line in
// Shell and leaves; admin finds the recording in the list, plays it and sees the line
// come, searches the typed keys and jumps to just before them (the answer not yet on the
// screen), then seeks to the end with the keyboard (the answer there). Screenshots go
// to test-artifacts/recordings-*.png, and axe-core checks the page with the player open.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startNode, type TestNode } from '../support/harness.js';
import { signInToken } from '../support/cluster-harness.js';
import { waitFor } from '../support/wait.js';
import { axeViolations, bundleWebClient, launchChromium, signIn, terminalRows } from './page.js';
import { recordingsApi } from './recordings.js';
import { launchGui } from './gui.js';
import { formatTime } from '../renderer/src/rfb-playback.js';
import { client } from '../support/harness.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const artifacts = join(root, 'test-artifacts');
const LINE = 'echo hello-from-the-recording';
const XTERM = { id: 'gui-xterm', name: 'GUI XTerm', display: 'rfb', geometry: '640x400', command: '/usr/bin/xterm', args: ['-fa', 'DejaVu Sans Mono', '-fs', '14'] };
const ANSWER = 'hello-from-the-recording';

let t: TestNode;
let web: string;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  web = mkdtempSync(join(tmpdir(), 'holdfast-e2e-recordings-web-'));
  await bundleWebClient(web);
  t = await startNode({ admin: true, webRoot: web, apps: [XTERM], sessionPolicies: [{ apps: ['shell', XTERM.id], recording: 'on' }] });
  browser = await launchChromium();
}, 120_000);

afterEach(async (context) => {
  if (context.task.result?.state === 'fail') await page?.screenshot({ path: join(artifacts, `failed-recordings-${context.task.name.split(':')[0]!.replace(/\W+/g, '-')}.png`), fullPage: true }).catch(() => {});
});

afterAll(async () => {
  await browser?.close().catch(() => {});
  await t?.stop();
  if (web) rmSync(web, { recursive: true, force: true });
});

async function window(user: string, viewport = { width: 1280, height: 900 }): Promise<Page> {
  const context = await browser.newContext({ viewport });
  const p = await context.newPage();
  p.setDefaultTimeout(15_000);
  await p.goto(t.url);
  await signIn(p, user, `${user}-pw`);
  return p;
}

/** The player's terminal, one entry per row, as xterm's DOM renderer shows it — in view, as xterm draws only what can be seen. */
async function playerRows(p: Page): Promise<string[]> {
  await p.locator('.recording-screen').scrollIntoViewIfNeeded();
  return p.locator('.recording-player .xterm-rows > div').evaluateAll((rows) => rows.map((row) => (row.textContent ?? '').replace(/\u00a0/g, ' ').trimEnd()));
}

describe('a recording played back on the Admin page', () => {
  let sessionId = '';
  /** ann's screen when Shell ended. */
  let lastScreen: string[] = [];

  it('is made: ann types a line in a recorded Shell and leaves', async () => {
    // A smaller window than the administrator's: the recording is of its terminal's size.
    page = await window('ann', { width: 900, height: 560 });
    await page.getByRole('button', { name: 'Launch Shell', exact: true }).click();
    await waitFor('the prompt', async () => (await terminalRows(page, 'Shell')).some((row) => row.endsWith('$')), 15_000);
    // A pause first: the keys come well after the prompt, so "just before them" shows the prompt alone.
    await page.waitForTimeout(1500);
    await page.getByRole('region', { name: 'Shell session' }).locator('.xterm-screen').click();
    // A key at a time, as a person types: each key is its own moment in the recording.
    await page.keyboard.type(LINE, { delay: 25 });
    await page.keyboard.press('Enter');
    await waitFor('the answer', async () => (await terminalRows(page, 'Shell')).includes(ANSWER));
    await page.waitForTimeout(1500);
    await page.keyboard.type('exit', { delay: 25 });
    await page.keyboard.press('Enter');
    await waitFor('Shell to end', () => page.getByRole('button', { name: 'Relaunch Shell' }).isVisible(), 15_000);
    lastScreen = (await terminalRows(page, 'Shell')).filter((row) => row !== '');
    await page.context().close();
    const api = recordingsApi(t.url, await signInToken(t.url, 'admin', 'admin-pw'));
    // Completed once the session's end has been written and its files closed: seconds under CI's load.
    sessionId = (await waitFor('the recording to be complete', async () => (await api.list()).find((r) => r.owner === 'ann' && r.complete), 30_000)).sessionId;
  }, 60_000);

  it('is listed, plays in xterm.js, and key search jumps to just before the keys', async () => {
    page = await window('admin');
    await waitFor('the Admin page', () => page.getByRole('heading', { name: /^Recordings/ }).isVisible());
    const row = page.locator(`tr[data-recording="${sessionId}"]`);
    await waitFor('the recording listed', () => row.isVisible());
    const cells = await row.locator('th, td').allInnerTexts();
    expect(cells.slice(0, 3)).toEqual(['ann', 'Shell', 'test-node']);
    expect(cells[4]).toMatch(/^0:0\d$/);
    expect(cells[5]).toMatch(/^\d+\.\d KB$/);
    expect(cells[6]).toBe('complete');
    await row.scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(artifacts, 'recordings-list.png') });

    await row.getByRole('button', { name: /^Play Shell of ann, started / }).click();
    const player = page.getByRole('region', { name: /^Recording: Shell of ann/ });
    await waitFor('the player', () => player.isVisible());
    // Focus moves to the player, so a keyboard user is where it opened.
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('player-title');
    await waitFor('the typed line to play', async () => (await playerRows(page)).includes(ANSWER), 20_000);
    await page.screenshot({ path: join(artifacts, 'recordings-playing.png') });

    await player.getByRole('searchbox', { name: 'Find typed text' }).fill('hello-from');
    await player.getByRole('button', { name: 'Find', exact: true }).click();
    const hit = player.getByRole('button', { name: /hello-from-the-recording/ });
    await waitFor('a match', () => hit.isVisible());
    expect(await player.getByRole('listitem').count()).toBe(1);
    await hit.click();
    const slider = player.getByRole('slider', { name: 'Position' });
    await waitFor('the player to pause', () => player.getByRole('button', { name: 'Play', exact: true }).isVisible());
    const admin = recordingsApi(t.url, await signInToken(t.url, 'admin', 'admin-pw'));
    const [match] = (await admin.search(sessionId, 'hello-from')).matches;
    const at = Number(await slider.inputValue());
    expect(at).toBeLessThanOrEqual(match!.start);
    await page.waitForTimeout(300);
    const before = await playerRows(page);
    expect(before.some((r) => r.endsWith('$')), 'the prompt is there').toBe(true);
    expect(before, 'the answer is not there yet').not.toContain(ANSWER);
    await page.screenshot({ path: join(artifacts, 'recordings-search.png') });
    expect(await axeViolations(page)).toEqual([]);

    // To the end, by keyboard.
    await slider.focus();
    await page.keyboard.press('End');
    await waitFor('the answer at the end', async () => (await playerRows(page)).includes(ANSWER));
    // The last screen played is the one ann saw last, the final output included.
    await waitFor('ann’s last screen', async () => JSON.stringify((await playerRows(page)).filter((row) => row !== '')) === JSON.stringify(lastScreen));
    expect(lastScreen.at(-1)).toBe('exit');
    expect(await player.locator('.recording-time').innerText()).toMatch(/^(\d:\d\d) \/ \1$/);
    await page.screenshot({ path: join(artifacts, 'recordings-end.png') });
    expect(await axeViolations(page)).toEqual([]);

    // At 800 px (half a laptop screen) nothing runs off the side: the row is a card, the controls wrap, the screen scrolls in its box.
    await page.setViewportSize({ width: 800, height: 800 });
    expect(await page.locator('.admin').evaluate((e) => e.scrollWidth <= e.clientWidth)).toBe(true);
    await player.getByRole('button', { name: 'Play again' }).scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(artifacts, 'recordings-800px.png') });
    await page.setViewportSize({ width: 1280, height: 900 });

    // A file the player cannot read says which line and what to do; Try again loads it anew.
    await player.getByRole('button', { name: 'Close player' }).click();
    await waitFor('focus back on the row’s Play', async () => (await page.evaluate(() => document.activeElement?.getAttribute('aria-label'))) === (await row.getByRole('button').getAttribute('aria-label')));
    const castUrl = `${t.url}/api/recordings/${sessionId}`;
    await page.route(castUrl, (route) => route.fulfill({ status: 200, contentType: 'application/x-asciicast', body: '{"version":2,"width":80,"height":24}\n[0.1, "o", "a"]\n{oops}\n[0.3, "o", "b"]\n' }));
    await row.getByRole('button', { name: /^Play / }).click();
    const problem = player.getByRole('alert').filter({ hasText: 'cannot be played' });
    await waitFor('the problem', () => problem.isVisible());
    expect(await problem.innerText()).toMatch(/This recording cannot be played\. Line 3 of the recording is not JSON \(“\{oops\}”\)\. Export it with “holdfast recording export \S+” to look at the file\.\s+Try again/);
    await page.screenshot({ path: join(artifacts, 'recordings-unreadable.png') });
    await page.unroute(castUrl);
    await player.getByRole('button', { name: 'Try again' }).click();
    await waitFor('the recording to play after all', async () => (await playerRows(page)).includes(ANSWER), 20_000);
  }, 90_000);
});

describe('a graphical app’s recording on the Admin page', () => {
  it('is listed and plays in noVNC, the screen ann saw drawn', async () => {
    const ann = client(t.url);
    await ann.signIn('ann', 'ann-pw');
    const gui = await launchGui(ann, XTERM.id);
    const id = gui.stream.sessionId!;
    const before = await gui.steady();
    gui.viewer.type('echo drawn-$((6*7))\n');
    await waitFor('the echo to show', async () => ((await gui.steady()).hash !== before.hash && gui.stream.view.pendingInputs === 0) || null);
    await ann.endSession((await ann.listSessions()).find((s) => s.sessionId === id)!);
    ann.signOut();
    const api = recordingsApi(t.url, await signInToken(t.url, 'admin', 'admin-pw'));
    await waitFor('the recording to be complete', async () => (await api.list()).find((r) => r.sessionId === id && r.complete), 30_000);

    page = await window('admin');
    const row = page.locator(`tr[data-recording="${id}"]`);
    await waitFor('the recording listed', () => row.isVisible());
    await row.getByRole('button', { name: /^Play / }).click();
    const player = page.getByRole('region', { name: /^Recording: GUI XTerm of ann/ });
    const play = player.getByRole('button', { name: 'Play', exact: true });
    await waitFor('the player to be ready', () => play.isEnabled());
    await player.getByLabel('Speed').selectOption('8');
    await play.click();
    await waitFor('noVNC to draw the recorded display', async () => (await player.locator('canvas').count()) > 0 && (await player.locator('canvas').first().evaluate((c) => (c as HTMLCanvasElement).width)) === 640, 15_000);
    // Played to its end: the typed line and its answer are drawn (light text on the terminal's white-on-black).
    await waitFor('the recording played to its end', async () => (await player.getByRole('button', { name: 'Play', exact: true }).isVisible()) || null, 15_000);
    const lit = await player.locator('canvas').first().evaluate((c) => {
      const canvas = c as HTMLCanvasElement;
      const pixels = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
      let count = 0;
      for (let i = 0; i < pixels.length; i += 4) if (pixels[i]! + pixels[i + 1]! + pixels[i + 2]! > 384) count++;
      return count;
    });
    expect(lit, 'light pixels (text) drawn in the recorded screen').toBeGreaterThan(200);
    // …and shown: noVNC scales the display into the player's box (a box of no height would scale it to nothing).
    const shown = await player.locator('canvas').first().boundingBox();
    expect(shown!.width * shown!.height, 'the recorded screen on the page, in px²').toBeGreaterThan(200 * 120);
    // No problem said anywhere in the player (its alerts stand empty).
    expect((await player.getByRole('alert').allInnerTexts()).join('')).toBe('');
    await player.scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(artifacts, 'recordings-gui.png') });
    // Key search: the typed word, one click away; the player goes there, paused.
    await player.getByRole('searchbox').fill('drawn');
    await player.getByRole('button', { name: 'Find' }).click();
    const match = player.getByRole('button', { name: /^Typed at \d+:\d\d$/ });
    await match.waitFor();
    expect(await match.count()).toBe(1);
    await match.click();
    const start = (await api.search(id, 'drawn')).matches[0]!.start;
    await waitFor('the player paused just before the match', async () => (await player.getByRole('button', { name: 'Play', exact: true }).isVisible()) && (await player.getByTestId('playback-time').textContent()) === formatTime((start - 0.5) * 1000));
    expect(await axeViolations(page)).toEqual([]);
  }, 90_000);
});
