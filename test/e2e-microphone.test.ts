// The microphone in the web client (issue 25), in Debian's Chromium against a real node:
// Chromium's fake capture device plays a file of a 523 Hz tone; the person turns the
// tab's microphone on, and the app in the sandbox — recording its default source with
// parecord — hears 523 Hz (it says so in its terminal). Where the session policy does
// not allow it, the person is told why and the browser never asks for the microphone.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNode, type TestNode } from '../support/harness.js';
import { waitFor } from '../support/wait.js';
import { HEARD, LISTENER_APP, toneFrames } from './listener.js';
import { axeViolations, bundleWebClient, launchChromium, signIn, terminalRows } from './page.js';
import { TONE_APP } from './tones.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const artifacts = join(root, 'test-artifacts');

let t: TestNode;
let web: string;
let browser: Browser;

/** A WAV file (48 kHz mono 16-bit) of `seconds` of 523 Hz: what Chromium's fake device captures, over and over. */
function toneWav(path: string, seconds: number): void {
  const pcm = Buffer.concat(toneFrames(seconds));
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + pcm.length, 4);
  header.write('WAVEfmt ', 8);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(48_000, 24);
  header.writeUInt32LE(96_000, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36);
  header.writeUInt32LE(pcm.length, 40);
  writeFileSync(path, Buffer.concat([header, pcm]));
}

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  web = mkdtempSync(join(tmpdir(), 'holdfast-e2e-microphone-web-'));
  await bundleWebClient(web);
  const wav = join(web, 'tone-523.wav');
  toneWav(wav, 5);
  t = await startNode({ webRoot: web, apps: [TONE_APP, LISTENER_APP], sessionPolicies: [{ apps: ['listener'], microphone: 'on' }] });
  browser = await launchChromium(['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-audio-capture=${wav}`, '--autoplay-policy=no-user-gesture-required']);
}, 120_000);

afterAll(async () => {
  await browser?.close().catch(() => {});
  await t?.stop();
  if (web) rmSync(web, { recursive: true, force: true });
});

describe('the microphone in the browser', () => {
  it('reaches the app once turned on: it hears the fake device’s 523 Hz', async () => {
    const context = await browser.newContext({ viewport: { width: 1100, height: 700 } });
    await context.grantPermissions(['microphone']);
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    await page.goto(t.url);
    await signIn(page, 'ann', 'ann-pw');
    await page.getByRole('button', { name: 'Launch Listener', exact: true }).click();
    await waitFor('the app listening', async () => (await terminalRows(page, 'Listener')).some((row) => row.includes('LISTENING')) || null, 20_000);
    await page.getByRole('button', { name: 'Microphone off' }).click();
    await page.getByRole('button', { name: '● Microphone on' }).waitFor();
    await waitFor('the app hearing the tone', async () => (await terminalRows(page, 'Listener')).some((row) => row.includes(HEARD)) || null, 20_000);
    await page.screenshot({ path: join(artifacts, 'microphone-on.png') });
    expect(await axeViolations(page)).toEqual([]);
    await page.getByRole('button', { name: '● Microphone on' }).click();
    await page.getByRole('button', { name: 'Microphone off' }).waitFor();
    await context.close();
  }, 90_000);

  it('says why not where the policy does not allow it, without asking the browser', async () => {
    const context = await browser.newContext({ viewport: { width: 1100, height: 700 } });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    await page.goto(t.url);
    // Count the page's requests for the microphone: none may be made.
    await page.evaluate(() => {
      const devices = navigator.mediaDevices;
      const original = devices.getUserMedia.bind(devices);
      (window as unknown as { asked: number }).asked = 0;
      devices.getUserMedia = (constraints) => ((window as unknown as { asked: number }).asked++, original(constraints));
    });
    await signIn(page, 'ann', 'ann-pw');
    await page.getByRole('button', { name: 'Launch Tone', exact: true }).click();
    await page.getByRole('button', { name: 'Microphone off' }).click();
    await expect.poll(() => page.getByRole('alert').filter({ hasText: 'microphone' }).textContent().catch(() => '')).toBe('Your administrator has not allowed Tone to hear a microphone.');
    expect(await page.getByRole('button', { name: 'Microphone off' }).count()).toBe(1);
    expect(await page.evaluate(() => (window as unknown as { asked: number }).asked)).toBe(0);
    await page.screenshot({ path: join(artifacts, 'microphone-refused.png') });
    expect(await axeViolations(page)).toEqual([]);
    await context.close();
  }, 90_000);
});
