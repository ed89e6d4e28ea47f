// Sessions the way people expect them (issue 22, points 1, 4, 6 and 8), in the real web
// client in Chromium against a demo node: closing a tab or signing out disconnects and
// the session waits; End asks first; an ended tab says why and offers Relaunch and
// Close; a session opened on another device says so and can be taken back; the status
// bar says what the overlay says. Screenshots of each state go to test-artifacts/, and
// axe-core checks each.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoNode, waitFor, type DemoNode } from './demo-node.js';
import { axeViolations, launchChromium, signIn, terminalRows, typeLine } from './page.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const artifacts = join(root, 'test-artifacts');

let demoNode: DemoNode | null = null;
let browser: Browser | null = null;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  demoNode = await startDemoNode(root);
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => {});
  await browser?.close().catch(() => {});
  await demoNode?.stop();
});

/** A person's browser window, signed in as demo, on the launcher. */
async function person(): Promise<Page> {
  const context = await browser!.newContext({ viewport: { width: 1100, height: 700 } });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  await page.goto(demoNode!.url);
  await signIn(page, 'demo', 'demo');
  await page.getByRole('heading', { name: 'Your apps' }).waitFor();
  return page;
}

async function launchPython(page: Page): Promise<void> {
  await page.getByRole('tab', { name: 'Apps' }).click();
  await page.getByRole('button', { name: 'Launch Python', exact: true }).click();
  await waitFor('the Python prompt', async () => (await terminalRows(page, 'Python')).some((row) => row.startsWith('>>>')), 15_000);
}

const sees = (page: Page, text: string | RegExp) => waitFor(`the page to show ${String(text)}`, () => page.getByText(text).first().isVisible());

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(artifacts, `sessions-${name}.png`) });
  expect(await axeViolations(page), `axe-core on ${name}`).toEqual([]);
}

describe('sessions as people expect them', () => {
  let page: Page;

  it('closing a tab disconnects: the session keeps running, waits in the launcher, and opens again as it was', async () => {
    page = await person();
    await launchPython(page);
    await typeLine(page, 'Python', 'x = 41');
    // The tab's × (the mouse's way; the keyboard's is Delete on the tab).
    await page.getByRole('tab', { name: 'Python' }).locator('.tab-close').click();
    await sees(page, 'Python is still running. Open it again from “Your running sessions” below, or end it there.');
    expect(await page.getByRole('tab').allTextContents()).toEqual(['Apps']);
    const open = page.getByRole('button', { name: /^Open Python started/ });
    await waitFor('the launcher to list Python as running', () => open.isVisible(), 10_000);
    await sees(page, /waiting for you until \d\d:\d\d/);
    await shot(page, 'running-list');
    await open.click();
    await waitFor('the Python tab back', () => page.getByRole('tab', { name: 'Python', selected: true }).isVisible());
    await typeLine(page, 'Python', 'print(x + 1)');
    await waitFor('Python to remember x', async () => (await terminalRows(page, 'Python')).includes('42'));
  }, 60_000);

  it('End asks first; once ended, the tab says why, dims the screen and offers Relaunch and Close', async () => {
    await page.getByRole('button', { name: 'End session' }).click();
    const dialog = page.getByRole('dialog', { name: 'End Python?' });
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain('Unsaved work in it is lost.');
    // The focus is on the safe choice: Enter does not end anything.
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Cancel');
    await shot(page, 'end-confirm');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    expect(await page.getByRole('dialog').count()).toBe(0);
    await page.getByRole('button', { name: 'End session' }).click();
    await page.getByRole('dialog', { name: 'End Python?' }).getByRole('button', { name: 'End Python' }).click();
    await sees(page, 'Python ended.');
    expect(await page.getByText('Exit code').count(), 'no exit code for an end the person asked for').toBe(0);
    expect(await page.locator('.session.over').count()).toBe(1);
    await waitFor('the status bar to agree', async () => /Python ended/.test((await page.locator('.status-bar').textContent()) ?? ''));
    await shot(page, 'ended');
    await page.getByRole('button', { name: 'Relaunch Python' }).click();
    await waitFor('a fresh Python prompt', async () => (await terminalRows(page, 'Python')).some((row) => row.startsWith('>>>')), 15_000);
    await typeLine(page, 'Python', 'print(6 * 7)');
    await waitFor('the relaunched Python to compute', async () => (await terminalRows(page, 'Python')).includes('42'));
  }, 60_000);

  it('a session opened on another device says so, with the time, and can be taken back', async () => {
    const other = await person();
    const open = other.getByRole('button', { name: /^Open Python started/ });
    await waitFor('the other device to list Python as open elsewhere', () => open.isVisible(), 10_000);
    await sees(other, 'open on another device');
    await open.click();
    await waitFor('Python on the other device', async () => (await terminalRows(other, 'Python')).some((row) => row.startsWith('>>>')), 15_000);
    await sees(page, /^Opened on another device at \d\d:\d\d( [AP]M)?\.$/);
    await waitFor('the status bar to agree', async () => /Python is open on another device/.test((await page.locator('.status-bar').textContent()) ?? ''));
    await shot(page, 'displaced');
    await page.getByRole('button', { name: 'Take it back' }).click();
    await typeLine(page, 'Python', 'print("back")');
    await waitFor('Python to answer here again', async () => (await terminalRows(page, 'Python')).includes('back'));
    await sees(other, /^Opened on another device at/);
  }, 60_000);

  it('signing out asks once about running sessions, keeps them by default, and they wait for the next sign-in', async () => {
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'Sign out?' });
    await dialog.waitFor();
    expect(await dialog.textContent()).toMatch(/You have \d+ sessions? running/);
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Sign out, keep them running');
    await shot(page, 'sign-out');
    await dialog.getByRole('button', { name: 'Sign out, keep them running' }).click();
    await page.getByRole('heading', { name: 'Sign in to Holdfast' }).waitFor();
    await signIn(page, 'demo', 'demo');
    const open = page.getByRole('button', { name: /^Open Python started/ });
    await waitFor('Python to be waiting after signing in again', () => open.first().isVisible(), 10_000);
    // Ending one from the launcher asks too, and it goes.
    const before = await open.count();
    await page.getByRole('button', { name: /^End Python started/ }).first().click();
    await page.getByRole('dialog', { name: 'End Python?' }).getByRole('button', { name: 'End Python' }).click();
    await waitFor('one Python fewer in the launcher', async () => (await open.count()) === before - 1, 15_000);
  }, 60_000);

  it('names tabs by the app’s own title, numbers two alike, and the window title follows the tab in front', async () => {
    const desk = await person();
    await launchPython(desk);
    await launchPython(desk);
    expect(await desk.getByRole('tab').allTextContents()).toEqual(['Apps', 'Python', 'Python 2']);
    await waitFor('the window title to name the tab in front', async () => (await desk.title()) === 'Python 2 — Holdfast');
    // A shell names its window (OSC 0): the tab takes the name.
    await desk.getByRole('tab', { name: 'Apps' }).click();
    await desk.getByRole('button', { name: 'Launch Shell', exact: true }).click();
    await waitFor('a shell prompt', async () => (await terminalRows(desk, 'Shell')).some((row) => /[$#] ?$/.test(row)), 15_000);
    await typeLine(desk, 'Shell', "printf '\\033]0;build logs\\007'");
    await waitFor('the tab to carry the title', () => desk.getByRole('tab', { name: 'build logs' }).isVisible());
    await waitFor('and the window too', async () => (await desk.title()) === 'build logs — Holdfast');
    await shot(desk, 'tab-titles');
  }, 60_000);

  it('one chord leaves an app for the tabs, and Ctrl+Shift+C / Ctrl+Shift+V and the context menu copy and paste', async () => {
    const desk = await person();
    await desk.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: demoNode!.url });
    await launchPython(desk);
    // Keys typed into the terminal go to the app — but Ctrl+Alt+Shift moves focus to the tab.
    await desk.getByRole('region', { name: 'Python session' }).locator('.xterm-screen').click();
    await desk.keyboard.down('Control');
    await desk.keyboard.down('Alt');
    await desk.keyboard.down('Shift');
    await desk.keyboard.up('Shift');
    await desk.keyboard.up('Alt');
    await desk.keyboard.up('Control');
    expect(await desk.evaluate(() => ({ role: document.activeElement?.getAttribute('role'), text: document.activeElement?.textContent }))).toEqual({ role: 'tab', text: 'Python' });
    // Paste with Ctrl+Shift+V: Python runs what was on the clipboard.
    await desk.evaluate(() => navigator.clipboard.writeText('print(6 * 7)'));
    await desk.getByRole('region', { name: 'Python session' }).locator('.xterm-screen').click();
    await desk.keyboard.press('Control+Shift+V');
    await waitFor('the pasted line on the prompt', async () => (await terminalRows(desk, 'Python')).some((row) => row.endsWith('>>> print(6 * 7)')));
    await desk.keyboard.press('Enter');
    await waitFor('the pasted line to run', async () => (await terminalRows(desk, 'Python')).includes('42'));
    // The context menu: Select all, then Copy puts the screen on the clipboard.
    await desk.getByRole('region', { name: 'Python session' }).locator('.xterm-screen').click({ button: 'right' });
    await desk.getByRole('menu', { name: 'Terminal' }).waitFor();
    await shot(desk, 'terminal-menu');
    await desk.getByRole('menuitem', { name: 'Select all' }).click();
    await desk.keyboard.press('Control+Shift+C');
    await waitFor('the screen on the clipboard', async () => (await desk.evaluate(() => navigator.clipboard.readText())).includes('print(6 * 7)'));
  }, 60_000);

  it('a reload keeps the person signed in and opens their tabs again; after signing out a reload asks for the password', async () => {
    const desk = await person();
    await launchPython(desk);
    await typeLine(desk, 'Python', 'kept = 41');
    await waitFor('the line to run', async () => (await terminalRows(desk, 'Python')).some((row) => row.endsWith('>>> kept = 41')));
    await desk.reload();
    await waitFor('the Python tab open again after the reload', () => desk.getByRole('tab', { name: 'Python', selected: true }).isVisible(), 15_000);
    expect(await desk.getByRole('heading', { name: 'Sign in to Holdfast' }).count()).toBe(0);
    await typeLine(desk, 'Python', 'print(kept + 1)');
    await waitFor('the same Python', async () => (await terminalRows(desk, 'Python')).includes('42'));
    // The kept sign-in is a cookie the page cannot read, sent to the node's /auth/keep only.
    const kept = (await desk.context().cookies()).find((cookie) => cookie.name === 'holdfast-keep');
    expect(kept).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/auth/keep' });
    expect(await desk.evaluate(() => document.cookie)).not.toContain('holdfast-keep');
    await desk.getByRole('button', { name: 'Sign out', exact: true }).click();
    await desk.getByRole('dialog', { name: 'Sign out?' }).getByRole('button', { name: 'End them and sign out' }).click();
    await desk.getByRole('heading', { name: 'Sign in to Holdfast' }).waitFor();
    await desk.reload();
    await desk.getByRole('heading', { name: 'Sign in to Holdfast' }).waitFor();
    await new Promise((r) => setTimeout(r, 1000));
    expect(await desk.getByRole('heading', { name: 'Your apps' }).count(), 'still signed out after the reload').toBe(0);
  }, 60_000);

  it('Enter in the search launches the one app it found', async () => {
    const desk = await person();
    await desk.getByRole('searchbox', { name: 'Search apps' }).fill('pyth');
    await desk.keyboard.press('Enter');
    await waitFor('Python launched from the search', async () => (await terminalRows(desk, 'Python')).some((row) => row.startsWith('>>>')), 15_000);
  }, 30_000);
});
