// Two-step sign-in end to end in Chromium: a person turns it on from the launcher
// (QR code and key, a first code, recovery codes), then signs in with password and
// code; a wrong code is refused in words; a recovery code works once.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeAt, stepAt } from '../broker/auth/totp.js';
import { startNode, type TestNode } from '../support/harness.js';
import { launchChromium } from './page.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const artifacts = join(root, 'test-artifacts');
let t: TestNode;
let browser: Browser;

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  t = await startNode({ webRoot: join(root, 'dist', 'renderer') });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close().catch(() => {});
  await t?.stop();
});

async function signIn(page: Page, password: string, code?: string): Promise<void> {
  await page.getByLabel('User name', { exact: true }).fill('ann');
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  if (code === undefined) return;
  await page.getByLabel('Code from your authenticator app').fill(code);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

describe('two-step sign-in in the web client', () => {
  it('is set up from the launcher with a QR code, then asks for the code at sign-in; a recovery code works once', async () => {
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(t.url);
    await signIn(page, 'ann-pw');
    await page.getByRole('button', { name: 'Set up two-step sign-in' }).click();
    const qr = page.getByRole('img', { name: 'QR code for your authenticator app' });
    await expect.poll(() => qr.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);
    // The key is shown in groups of four, as people copy it by hand.
    const shown = (await page.locator('.totp-secret').textContent())!;
    expect(shown).toMatch(/^([A-Z2-7]{4} ){7}[A-Z2-7]{4}$/);
    const secret = shown.replace(/ /g, '');
    // Cancel goes back without turning anything on.
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.getByRole('button', { name: 'Set up two-step sign-in' }).click();
    await expect.poll(() => qr.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);
    const again = (await page.locator('.totp-secret').textContent())!.replace(/ /g, '');
    expect(again).not.toBe(secret);
    const enrolledAt = stepAt(Date.now());
    await page.getByLabel('Enter the 6-digit code the app shows').fill(codeAt(again, enrolledAt));
    await page.getByRole('button', { name: 'Turn on' }).click();
    const recovery = page.getByRole('list', { name: 'Recovery codes' }).getByRole('listitem');
    await expect.poll(() => recovery.count()).toBe(10);
    const codes = await recovery.allTextContents();
    expect(await page.getByRole('button', { name: 'Copy codes' }).isVisible()).toBe(true);
    expect(await page.getByRole('button', { name: 'Download codes' }).isVisible()).toBe(true);
    await page.screenshot({ path: join(artifacts, 'two-step-recovery-codes.png') });
    // Once kept, the setting says it is on, and offers no second setup.
    await page.getByRole('button', { name: 'I have kept them' }).click();
    expect(await page.getByText(/^On: you sign in with your password and a code/).isVisible()).toBe(true);
    expect(await page.getByRole('button', { name: 'Set up two-step sign-in' }).count()).toBe(0);

    // Sign in again: the password alone is not enough; a wrong code is refused in words.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('User name', { exact: true }).fill('ann');
    await page.getByLabel('Password', { exact: true }).fill('ann-pw');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    // Asked for the code: an instruction, not an error.
    await expect.poll(() => page.locator('.sign-in-prompt').textContent()).toBe('Enter the 6-digit code from your authenticator app, or one of your recovery codes.');
    expect(await page.getByRole('alert').first().textContent()).toBe('');
    await page.getByLabel('Code from your authenticator app').fill('000000');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await expect.poll(() => page.getByRole('alert').first().textContent()).toMatch(/Sign-in failed: that code is not right\. Codes change every 30 seconds, and each works once\./);
    // The code that turned it on signs in once more, within its 30 s (or the next one, if the step rolled over).
    await page.getByLabel('Code from your authenticator app').fill(codeAt(again, Math.max(enrolledAt, stepAt(Date.now()))));
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('heading', { name: 'Your apps' }).waitFor();
    await page.screenshot({ path: join(artifacts, 'two-step-signed-in.png') });

    // A recovery code stands in for the phone, once.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signIn(page, 'ann-pw', codes[3]!);
    await page.getByRole('heading', { name: 'Your apps' }).waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signIn(page, 'ann-pw', codes[3]!);
    await expect.poll(() => page.getByRole('alert').first().textContent()).toMatch(/that code is not right/);
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);
});
