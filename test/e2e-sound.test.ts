// Sound in the web client (issue 25), in Debian's Chromium against a real node: an app
// with sound plays a 440 Hz tone in its sandbox; the person turns the tab's sound on and
// the page's analyser finds the tone at 440 Hz (± 10); off, the page plays nothing. The
// volume at 0 is quiet; a dropped network brings the tone back by itself with nothing
// stale replayed; a second session's 660 Hz tone stays in its own tab; the tab's sound is
// remembered per app over a reload (and waits for a click, as Chromium's autoplay rule
// has it); a desktop whose machine policy turns sound off shows no controls and never
// asks the node. Chromium runs with its default autoplay rule: a page plays only after a
// click or a key on it (and Playwright's own reads of the page count as one: see the
// reload test).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DesktopConfig } from '../shared/ipc.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { startNode, type TestNode } from '../support/harness.js';
import { waitFor } from '../support/wait.js';
import { axeViolations, bundleWebClient, launchChromium, signIn } from './page.js';
import { HIGH_TONE_APP, TONE_APP } from './tones.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const artifacts = join(root, 'test-artifacts');

let t: TestNode;
let web: string;
let browser: Browser;
/** Between the page of the network test and the node: it drops every connection on demand. */
let proxy: FaultProxy;

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  web = mkdtempSync(join(tmpdir(), 'holdfast-e2e-sound-web-'));
  await bundleWebClient(web);
  t = await startNode({ webRoot: web, apps: [TONE_APP, HIGH_TONE_APP, { ...TONE_APP, id: 'quiet-tone', name: 'Quiet tone' }], sessionPolicies: [{ apps: ['quiet-tone'], sound: 'off' }] });
  proxy = await FaultProxy.start({ host: '127.0.0.1', port: Number(new URL(t.url).port) });
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close().catch(() => {});
  await proxy?.stop();
  await t?.stop();
  if (web) rmSync(web, { recursive: true, force: true });
});

async function newPage(url = t.url): Promise<Page> {
  const page = await (await browser.newContext({ viewport: { width: 1100, height: 700 } })).newPage();
  page.setDefaultTimeout(30_000);
  await page.goto(url);
  return page;
}

/** The sound status of `app`'s tab (shown or hidden): "playing", "quiet", "click to hear". */
const statusOf = (page: Page, app: string) => page.locator(`section[aria-label="${app} session"] .sound-playing`);

/** The peak of the tab's analyser, in Hz; null while it finds nothing. */
const peakHz = async (status: Locator) => {
  const value = await status.getAttribute('data-peak-hz', { timeout: 1000 }).catch(() => null);
  return value ? Number(value) : null;
};

/**
 * Waits until the tab's analyser finds its loudest sound at `hz` (± 10; one FFT bin is
 * 11.7 Hz). Not the first peak it finds: the onset of a sound (its first 85 ms fill
 * the analyser's window) spreads over the next bins, most on a busy machine.
 */
const hears = (status: Locator, hz: number, what: string) =>
  waitFor(
    `${what} at ${hz} Hz`,
    async () => {
      const peak = await peakHz(status);
      return peak !== null && Math.abs(peak - hz) <= 10 ? peak : null;
    },
    30_000,
  );

/** Seconds of sound the tab's player has scheduled, in all. */
const scheduled = async (status: Locator) => Number(await status.getAttribute('data-scheduled-s'));

async function launchWithSound(page: Page, app: string): Promise<Locator> {
  await page.getByRole('button', { name: `Launch ${app}`, exact: true }).click();
  await page.getByRole('region', { name: `${app} session` }).getByRole('button', { name: 'Sound off' }).click();
  return statusOf(page, app);
}

describe('sound in the browser', () => {
  it('plays the app’s tone once turned on: the page finds 440 Hz', async () => {
    const page = await newPage();
    await signIn(page, 'ann', 'ann-pw');
    const mark = await launchWithSound(page, 'Tone');
    await page.getByRole('button', { name: 'Sound on' }).waitFor();
    await hears(mark, 440, 'the tone heard by the page');
    expect(await mark.textContent()).toBe('playing');
    await page.screenshot({ path: join(artifacts, 'sound-on.png') });
    await page.locator('.sound-controls').screenshot({ path: join(artifacts, 'sound-controls.png') });
    expect(await axeViolations(page)).toEqual([]);
    await page.getByRole('button', { name: 'Sound on' }).click();
    await page.getByRole('button', { name: 'Sound off' }).waitFor();
    expect(await mark.count()).toBe(0);
    await page.context().close();
  }, 120_000);

  it('says so when a session policy turns the app’s sound off, and goes back to off', async () => {
    const page = await newPage();
    await signIn(page, 'ann', 'ann-pw');
    await launchWithSound(page, 'Quiet tone');
    const pane = page.getByRole('region', { name: 'Quiet tone session' });
    await expect.poll(() => pane.getByRole('alert').textContent().catch(() => '')).toBe('Sound is turned off for Quiet tone by your administrator.');
    await pane.getByRole('button', { name: 'Sound off' }).waitFor();
    expect(await axeViolations(page)).toEqual([]);
    await page.context().close();
  }, 120_000);

  it('is silent at volume 0 and with Sound off, and plays again when turned back up or on', async () => {
    const page = await newPage();
    await signIn(page, 'ann', 'ann-pw');
    const mark = await launchWithSound(page, 'Tone');
    await hears(mark, 440, 'the tone');
    const volume = page.getByRole('slider', { name: 'Volume of Tone' });
    await volume.fill('0');
    await waitFor('quiet at volume 0', async () => (await mark.textContent()) === 'quiet' && (await mark.getAttribute('data-peak-hz')) === null, 30_000);
    await volume.fill('80');
    await hears(mark, 440, 'the tone at 80 again');
    // Off: the player is gone (that the node then sends nothing is test/sound.test.ts's); on again, the tone.
    await page.getByRole('button', { name: 'Sound on' }).click();
    await page.getByRole('button', { name: 'Sound off' }).waitFor();
    expect(await mark.count()).toBe(0);
    await page.getByRole('button', { name: 'Sound off' }).click();
    await hears(mark, 440, 'the tone, on again');
    await page.context().close();
  }, 120_000);

  it('comes back by itself after the network drops, with nothing stale replayed', async () => {
    const page = await newPage(proxy.url);
    await signIn(page, 'ann', 'ann-pw');
    await page.getByRole('button', { name: 'Launch Tone', exact: true }).click();
    const section = page.getByRole('region', { name: 'Tone session' });
    const mark = statusOf(page, 'Tone');
    await waitFor('the app to play', async () => (await section.locator('.xterm-rows').innerText()).includes('TONE-READY'), 30_000);
    const on = Date.now();
    await section.getByRole('button', { name: 'Sound off' }).click();
    await hears(mark, 440, 'the tone before the drop');
    // Every connection is cut, and new ones refused until the page has tried and failed at least once.
    proxy.refuse(true);
    const dropped = Date.now();
    proxy.drop();
    await waitFor('the page to try again and fail', async () => (await section.locator('.reconnecting').textContent({ timeout: 1000 }))?.includes('Last try:'), 30_000);
    // Nothing plays, and nothing is scheduled, while the node cannot be reached.
    await waitFor('quiet while disconnected', async () => (await mark.textContent()) === 'quiet', 30_000);
    const whileDown = await scheduled(mark);
    // An outage long enough to matter: a backlog of it would be heard after the resume.
    await waitFor('two seconds without the node', () => Date.now() - dropped > 2000, 30_000);
    expect(await scheduled(mark), 'sound scheduled while disconnected').toBe(whileDown);
    const back = Date.now();
    proxy.refuse(false);
    // The page resumes by itself (no click): the tone is heard again.
    await waitFor('the session streaming again', async () => (await section.getAttribute('data-status')) === 'streaming', 60_000);
    const resumed = Date.now();
    await hears(mark, 440, 'the tone after the resume');
    await waitFor('two more seconds of it', async () => (await scheduled(mark)) >= whileDown + 2, 30_000);
    const total = await scheduled(mark);
    const end = Date.now();
    // All the sound scheduled fits in the time the page could hear the node, and what came after the resume in
    // the time since: nothing twice, no backlog of the outage. (Loose by how long sound takes to start, about a
    // second; what keeps any backlog under 0.3 s is the player's own limit, sound-player.ts.)
    const reachable = (dropped - on + (end - back)) / 1000;
    expect(total, `${total} s of sound scheduled in ${reachable.toFixed(2)} s connected`).toBeLessThanOrEqual(reachable + 0.2);
    expect(total - whileDown, 'sound scheduled since the resume').toBeLessThanOrEqual((end - resumed) / 1000 + 0.2);
    await page.context().close();
  }, 180_000);

  it('keeps a second session’s tone in its own tab: 440 Hz in one, 660 Hz in the other', async () => {
    const page = await newPage();
    await signIn(page, 'ann', 'ann-pw');
    const low = await launchWithSound(page, 'Tone');
    await page.getByRole('tab', { name: 'Apps' }).click();
    const high = await launchWithSound(page, 'High tone');
    await hears(high, 660, 'the second tab’s tone');
    await hears(low, 440, 'the first tab’s tone, its tab hidden');
    // Over a few seconds neither tab's analyser ever finds the other's tone.
    const seen = { low: [] as number[], high: [] as number[] };
    for (let i = 0; i < 15; i++) {
      for (const [name, mark] of [['low', low], ['high', high]] as const) {
        const hz = await peakHz(mark);
        if (hz !== null) seen[name].push(hz);
      }
      await page.waitForTimeout(200);
    }
    expect(seen.low.length, 'the first tab heard').toBeGreaterThan(5);
    expect(seen.high.length, 'the second tab heard').toBeGreaterThan(5);
    expect(seen.low.filter((hz) => Math.abs(hz - 660) <= 30), 'the 660 Hz tone in the 440 Hz tab').toEqual([]);
    expect(seen.high.filter((hz) => Math.abs(hz - 440) <= 30), 'the 440 Hz tone in the 660 Hz tab').toEqual([]);
    await page.context().close();
  }, 180_000);

  it('is remembered per app: after a reload the tab starts with sound on at the same volume, once the page is clicked', async () => {
    const page = await newPage();
    await signIn(page, 'ann', 'ann-pw');
    const mark = await launchWithSound(page, 'Tone');
    await page.getByRole('slider', { name: 'Volume of Tone' }).fill('35');
    await hears(mark, 440, 'the tone');
    // Playwright's own reads of the page count as a person's gesture for Chromium (they run with userGesture):
    // until the reloaded tab has asked for a click, the test only listens to what the page logs.
    await page.addInitScript(() => {
      let last: string | null | undefined;
      new MutationObserver(() => {
        const text = document.querySelector('.sound-playing')?.textContent;
        if (text !== last) console.log(`sound status: ${(last = text)}`);
      }).observe(document, { subtree: true, childList: true, characterData: true });
    });
    const asked = page.waitForEvent('console', { predicate: (message) => message.text() === 'sound status: click to hear', timeout: 30_000 });
    await page.reload();
    // The tab opens again by itself, sound on; the browser lets nothing play before a click or a key on the page.
    await asked;
    const section = page.getByRole('region', { name: 'Tone session' });
    await section.getByRole('button', { name: 'Sound on', pressed: true }).waitFor();
    expect(await section.getByRole('slider', { name: 'Volume of Tone' }).inputValue()).toBe('35');
    expect(await mark.textContent()).toBe('click to hear');
    expect(await scheduled(mark)).toBe(0);
    await page.locator('.sound-controls').screenshot({ path: join(artifacts, 'sound-click-to-hear.png') });
    expect(await axeViolations(page)).toEqual([]);
    await section.locator('.xterm-screen').click();
    await hears(mark, 440, 'the tone after a click');
    // Another app keeps its own: High tone was never turned on here.
    await page.getByRole('tab', { name: 'Apps' }).click();
    await page.getByRole('button', { name: 'Launch High tone', exact: true }).click();
    await page.getByRole('region', { name: 'High tone session' }).getByRole('button', { name: 'Sound off', pressed: false }).waitFor();
    await page.context().close();
  }, 180_000);

  it('a desktop whose policy turns sound off shows no controls, and never asks the node', async () => {
    const context = await browser.newContext({ viewport: { width: 1100, height: 700 } });
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    const config: DesktopConfig = {
      brokerUrl: t.url,
      version: '0.7.0',
      policyError: null,
      kiosk: null,
      autoLaunchApp: null,
      rememberMe: { offered: false, reason: 'turned off by your administrator' },
      sound: { playback: false, microphone: true },
      settings: { brokerUrl: t.url, updateChannel: 'stable', locked: [] },
    };
    // The preload's bridge, played by the test (main/preload.ts has the real one); and this app's sound, left on.
    await page.addInitScript((initial: DesktopConfig) => {
      localStorage.setItem('holdfast.sound.tone', JSON.stringify({ on: true, volume: 60 }));
      const none = () => () => {};
      Object.assign(window, {
        holdfast: {
          getConfig: async () => initial,
          setSettings: async () => initial,
          loadCredential: async () => null,
          saveCredential: async () => ({ saved: false, reason: 'not offered' }),
          clearCredential: async () => null,
          loadKioskSecret: async () => null,
          saveKioskSecret: async () => ({ saved: false, reason: 'not a kiosk' }),
          kioskEscape: async () => ({ ok: false, message: 'This is not a kiosk.' }),
          installUpdate: async () => null,
          takePendingLaunch: async () => null,
          startOidc: async () => null,
          printPdf: async () => ({ printed: false, reason: null }),
          onUpdateStatus: none,
          onLaunchRequested: none,
          onKioskEscapeRequested: none,
          onOidcCode: none,
        },
      });
    }, config);
    const sent: string[] = [];
    page.on('websocket', (socket) => socket.on('framesent', (frame) => void (typeof frame.payload === 'string' && sent.push(frame.payload))));
    await page.goto(t.url);
    await signIn(page, 'ann', 'ann-pw');
    await page.getByRole('button', { name: 'Launch Tone', exact: true }).click();
    const section = page.getByRole('region', { name: 'Tone session' });
    await section.getByText('Sound is turned off on this computer by its administrator').waitFor();
    await waitFor('the app to play', async () => (await section.locator('.xterm-rows').innerText()).includes('TONE-READY'), 30_000);
    expect(await section.getByRole('button', { name: /^Sound (on|off)$/ }).count()).toBe(0);
    expect(await section.getByRole('slider').count()).toBe(0);
    expect(sent.some((payload) => payload.includes('"session.launch"')), 'the launch was seen on the socket').toBe(true);
    expect(sent.filter((payload) => payload.includes('session.sound'))).toEqual([]);
    await section.locator('.session-tools').screenshot({ path: join(artifacts, 'sound-off-by-policy.png') });
    expect(await axeViolations(page)).toEqual([]);
    await context.close();
  }, 120_000);
});
