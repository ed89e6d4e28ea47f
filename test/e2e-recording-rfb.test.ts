// End to end, the graphical recording player (issue 24): a real node records xterm on
// its Xvnc while a line is typed; the player (RfbRecordingPlayer, on a page of its own
// served at the node's origin) fetches the recording through the admin API and plays it
// in noVNC in Debian's Chromium: at 8× to the end, the canvas shows the screen the
// person saw; seeking back to the start shows the screen before the line.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, startNode, type TestNode } from '../support/harness.js';
import { signInToken } from '../support/cluster-harness.js';
import { waitFor } from '../support/wait.js';
import { launchGui } from './gui.js';
import { axeViolations, launchChromium } from './page.js';
import { formatTime } from '../renderer/src/rfb-playback.js';
import { recordingsApi } from './recordings.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const artifacts = join(root, 'test-artifacts');
const XTERM = { id: 'gui-xterm', name: 'GUI XTerm', display: 'rfb', geometry: '640x400', command: '/usr/bin/xterm', args: ['-fa', 'DejaVu Sans Mono', '-fs', '14'] };

let t: TestNode;
let browser: Browser | null = null;
let bundleDir: string;
beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  bundleDir = mkdtempSync(join(tmpdir(), 'rfb-player-page-'));
  await build({ entryPoints: { player: join(root, 'test/rfb-player-page.ts') }, outdir: bundleDir, bundle: true, platform: 'browser', target: ['chrome120'], format: 'esm', jsx: 'automatic', logLevel: 'error' });
  t = await startNode({ admin: true, apps: [XTERM], sessionPolicies: [{ apps: ['gui-xterm'], recording: 'on' }] });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close().catch(() => {});
  await t?.stop();
  rmSync(bundleDir, { recursive: true, force: true });
});

/** The player's canvas as RGB pixels (noVNC draws the recorded frame 1:1 into it). */
function canvasPixels(page: Page): Promise<{ width: number; height: number; rgb: number[] } | null> {
  return page.evaluate(() => {
    const canvas = document.querySelector('canvas');
    if (!canvas || canvas.width === 0) return null;
    const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    const rgb: number[] = [];
    for (let i = 0; i < data.length; i += 4) rgb.push(data[i]!, data[i + 1]!, data[i + 2]!);
    return { width: canvas.width, height: canvas.height, rgb };
  });
}

/** The share of pixels alike in a viewer's BGRX framebuffer and the canvas's RGB. */
function alike(bgrx: Uint8Array, rgb: number[]): number {
  let same = 0;
  for (let p = 0; p < bgrx.length / 4; p++) if (bgrx[p * 4 + 2] === rgb[p * 3] && bgrx[p * 4 + 1] === rgb[p * 3 + 1] && bgrx[p * 4] === rgb[p * 3 + 2]) same++;
  return same / (bgrx.length / 4);
}

describe('the graphical recording player', () => {
  it('plays a recorded xterm session in noVNC: the end shows the screen the person saw, the start the screen before', async () => {
    const ann = client(t.url);
    await ann.signIn('ann', 'ann-pw');
    const gui = await launchGui(ann, XTERM.id);
    const id = gui.stream.sessionId!;
    const before = await gui.steady();
    gui.viewer.type('echo played-$((6*7))\n');
    const seen = await waitFor('the echo to show', async () => {
      const now = await gui.steady();
      return now.hash !== before.hash && gui.stream.view.pendingInputs === 0 ? now : null;
    });
    // Held still a moment, so the recorder's last update is this screen; then the session is ended, not the app.
    await new Promise((r) => setTimeout(r, 500));
    await ann.endSession((await ann.listSessions()).find((s) => s.sessionId === id)!);
    ann.signOut();
    const token = await signInToken(t.url, 'admin', 'admin-pw');
    await waitFor('the recording to be complete', async () => (await recordingsApi(t.url, token).list()).find((r) => r.sessionId === id && r.complete), 30_000);

    const page = await browser!.newPage({ viewport: { width: 1000, height: 800 } });
    const consoleLines: string[] = [];
    page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => consoleLines.push(`page error: ${e.stack ?? e.message}`));
    await page.route(`${t.url}/player-test.html`, (route) => route.fulfill({ contentType: 'text/html', body: '<!doctype html><html lang="en"><head><title>Player</title></head><body style="background:#111;color:#eee"><div id="root"></div><script type="module" src="/player-test.js"></script></body></html>' }));
    await page.route(`${t.url}/player-test.js`, (route) => route.fulfill({ contentType: 'text/javascript', body: readFileSync(join(bundleDir, 'player.js'), 'utf8') }));
    try {
      await page.goto(`${t.url}/player-test.html#session=${encodeURIComponent(id)}&token=${encodeURIComponent(token)}`);
      const play = page.getByRole('button', { name: 'Play' });
      await play.waitFor();
      await waitFor('the player to be ready', () => play.isEnabled());
      const total = (await page.locator('.term-size').textContent())!.split(' / ')[1]!;
      await page.getByLabel('Speed').selectOption('8');
      await play.click();
      await waitFor('playback to reach the end', async () => (await page.getByTestId('playback-time').textContent()) === total && (await page.getByRole('button', { name: 'Play' }).isVisible()), 30_000);
      const end = await waitFor('the canvas to show the last screen', async () => {
        const now = await canvasPixels(page);
        return now && now.width === seen.width && alike(seen.pixels, now.rgb) > 0.995 ? now : null;
      }, 5000);
      expect([end.width, end.height]).toEqual([640, 400]);
      await page.screenshot({ path: join(artifacts, 'rfb-recording-player-end.png') });

      // Seek back with the keyboard (Home on the position slider: noVNC starts again from the first bytes),
      // then step on (→, 100 ms a step) until the screen before the line shows: xterm's prompt alone.
      const slider = page.getByLabel('Position in the recording');
      await slider.focus();
      await page.keyboard.press('Home');
      await waitFor('the start to show', async () => (await page.getByTestId('playback-time').textContent()) === '0:00');
      let start: Awaited<ReturnType<typeof canvasPixels>> = null;
      for (let step = 0; step < 100 && !start; step++) {
        await page.keyboard.press('ArrowRight');
        await new Promise((r) => setTimeout(r, 60));
        const now = await canvasPixels(page);
        if (now && now.width === 640 && alike(before.pixels, now.rgb) > 0.995) start = now;
      }
      expect(start, 'the screen before the line, stepping from the start').not.toBeNull();
      expect(alike(seen.pixels, start!.rgb)).toBeLessThan(0.995);
      await page.screenshot({ path: join(artifacts, 'rfb-recording-player-start.png') });
      // Play on from there with the keyboard (Space on the button), at 1×, to the end.
      await page.getByRole('button', { name: 'Play' }).focus();
      await page.keyboard.press('Space');
      await page.getByRole('button', { name: 'Pause' }).waitFor();
      await waitFor('playback to reach the end again', async () => (await page.getByTestId('playback-time').textContent()) === total && (await page.getByRole('button', { name: 'Play' }).isVisible()), 15_000);
      expect(alike(seen.pixels, (await canvasPixels(page))!.rgb)).toBeGreaterThan(0.995);
      expect(await page.getByRole('alert').textContent()).toBe('');
      expect(await axeViolations(page), 'accessibility (axe, WCAG 2.1 AA)').toEqual([]);

      // A key search's match opens the player at its time (`at`), paused: the screen as it was then —
      // everything up to it given to noVNC in one go (its handshake first, record by record).
      const found = await recordingsApi(t.url, token).search(id, 'played');
      expect(found.matches).toHaveLength(1);
      await page.goto(`${t.url}/player-test.html#session=${encodeURIComponent(id)}&token=${encodeURIComponent(token)}&at=${found.matches[0]!.start}`);
      await page.reload();
      await waitFor('the player at the match', async () => {
        const shown = await page.getByTestId('playback-time').textContent();
        const canvas = await canvasPixels(page);
        return shown === formatTime(found.matches[0]!.start * 1000) && canvas !== null;
      });
      expect(await page.getByRole('button', { name: 'Play' }).isVisible()).toBe(true);
    } catch (error) {
      await page.screenshot({ path: join(artifacts, 'failed-rfb-recording-player.png') }).catch(() => {});
      throw new Error(`${(error as Error).message}\n---- page console ----\n${consoleLines.join('\n')}`);
    } finally {
      await page.close();
    }
    // About 45 s on a quiet machine (a real session, then its playback at 8× and again from the start): room for a busy one.
  }, 150_000);
});
