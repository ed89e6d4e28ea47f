// Sharing a session (issue 24), in two real browsers against a demo node: the owner
// shares Python view-only and copies the link; a second person opens it, signs in and
// sees 6*7 → 42 typed by the owner, while their own keys do nothing; the owner lets
// them type and their line arrives once; the owner revokes the link and the watcher's
// pane says so within a second. And shadowing: an administrator asks to view a
// person's session from the Admin page; denied, the administrator reads so; allowed,
// the person sees a banner while they view. Screenshots of each state go to
// test-artifacts/, and axe-core checks each.
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

async function window(url: string): Promise<Page> {
  const context = await browser!.newContext({ viewport: { width: 1100, height: 700 } });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  await page.goto(url);
  return page;
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(artifacts, `sharing-${name}.png`) });
  expect(await axeViolations(page), `axe-core on ${name}`).toEqual([]);
}

const sees = (page: Page, text: string | RegExp) => waitFor(`the page to show ${String(text)}`, () => page.getByText(text).first().isVisible());
const count = (rows: string[], text: string) => rows.filter((row) => row.includes(text)).length;

describe('sharing a session in the browser', () => {
  it('shares view-only, lets the watcher type once allowed, and sends them away on revoke', async () => {
    const owner = await window(demoNode!.url);
    await signIn(owner, 'demo', 'demo');
    await owner.getByRole('button', { name: 'Launch Python', exact: true }).click();
    await waitFor('the Python prompt', async () => (await terminalRows(owner, 'Python')).some((row) => row.startsWith('>>>')), 15_000);

    // Share, view only (the default), and read the link the dialog shows.
    await owner.getByRole('button', { name: 'Share…' }).click();
    const dialog = owner.getByRole('dialog', { name: 'Share Python' });
    expect(await dialog.getByRole('radio', { name: 'View only' }).isChecked()).toBe(true);
    await dialog.getByRole('button', { name: 'Create link' }).click();
    const linkBox = dialog.getByRole('textbox', { name: 'Link' });
    await linkBox.waitFor();
    const url = await linkBox.inputValue();
    expect(url).toMatch(/#join=[\w-]+\.[\w-]+\.[\w-]+$/);
    await shot(owner, 'owner-link');
    await dialog.getByRole('button', { name: 'Close' }).click();

    // The other person opens the link, signs in, and is in.
    const watcher = await window(url);
    await sees(watcher, 'Someone shared a session with you: sign in to watch it.');
    await signIn(watcher, 'guest', 'guest');
    await sees(watcher, /Watching Demo User’s Python — view only/);
    const watcherPane = 'Demo User’s Python';
    await sees(owner, '1 watching');

    await typeLine(owner, 'Python', '6*7');
    await waitFor('42 on the watcher’s screen', async () => (await terminalRows(watcher, watcherPane)).includes('42'), 10_000);
    // The watcher's keys do nothing.
    await typeLine(watcher, watcherPane, 'print("guest" + "typed")');
    await typeLine(owner, 'Python', 'print("owner" + "again")');
    await waitFor('the owner’s next line on both screens', async () => (await terminalRows(watcher, watcherPane)).includes('owneragain'), 10_000);
    expect(count(await terminalRows(owner, 'Python'), 'guesttyped')).toBe(0);
    await shot(watcher, 'watcher-view-only');
    await shot(owner, 'owner-watched');

    // The owner lets them type: their line arrives once.
    await owner.getByRole('button', { name: 'Share…' }).click();
    await dialog.getByRole('button', { name: 'Let them type' }).click();
    await sees(watcher, /you can type/);
    await typeLine(watcher, watcherPane, 'print("guest" + "typed")');
    await waitFor('the watcher’s line on the owner’s screen', async () => (await terminalRows(owner, 'Python')).includes('guesttyped'), 10_000);
    expect(count(await terminalRows(owner, 'Python'), 'guesttyped')).toBe(1);
    await shot(owner, 'owner-dialog');

    // Revoke: the watcher's pane says so within a second.
    const revokedAt = Date.now();
    await dialog.getByRole('button', { name: 'Revoke' }).click();
    await sees(watcher, 'You are no longer watching Demo User’s Python.');
    expect(Date.now() - revokedAt).toBeLessThan(1000);
    expect(await watcher.getByText('Demo User stopped sharing this session.').isVisible()).toBe(true);
    await shot(watcher, 'watcher-revoked');
    await dialog.getByRole('button', { name: 'Close' }).click();
    await waitFor('the badge to go', async () => !(await owner.getByText('1 watching').isVisible()), 5000);
    // Ended, so the Admin page of the next test lists only its own session of demo's.
    await owner.getByRole('button', { name: 'End session' }).click();
    await owner.getByRole('dialog').getByRole('button', { name: 'End Python' }).click();
    await sees(owner, /Relaunch Python/);
  }, 120_000);

  it('lets an administrator view a session only when its person allows it, and shows the person a banner while they do', async () => {
    const person = await window(demoNode!.url);
    await signIn(person, 'demo', 'demo');
    await person.getByRole('button', { name: 'Launch Python', exact: true }).click();
    await waitFor('the Python prompt', async () => (await terminalRows(person, 'Python')).some((row) => row.startsWith('>>>')), 15_000);
    await typeLine(person, 'Python', 'print("for" + " the admin")');

    const admin = await window(demoNode!.url);
    await signIn(admin, 'admin', 'admin');
    const row = admin.locator('tr', { has: admin.getByRole('button', { name: /^View python of demo/ }) });
    await row.waitFor();
    expect(await row.count()).toBe(1);

    // Denied: the administrator reads so.
    await row.getByRole('button', { name: /^View python of demo/ }).click();
    await sees(admin, 'Asking demo to let you view it…');
    const question = person.getByRole('dialog', { name: 'Administrator Administrator wants to view your Python session' });
    await question.waitFor();
    await shot(person, 'shadow-question');
    await question.getByRole('button', { name: 'Deny' }).click();
    await sees(admin, 'You cannot view demo’s python: Demo User said no to your request to view their Python.');
    await shot(admin, 'shadow-denied');

    // Allowed: the administrator sees the screen, the person a banner.
    await admin.getByRole('tab', { name: 'Admin' }).click();
    await row.getByRole('button', { name: /^View python of demo/ }).click();
    await question.waitFor();
    await question.getByRole('button', { name: 'Allow' }).click();
    await sees(admin, /Viewing as an administrator Demo User’s Python — view only/);
    await waitFor('the person’s screen on the administrator’s', async () => (await terminalRows(admin, 'Demo User’s Python')).includes('for the admin'), 10_000);
    await sees(person, 'Administrator Administrator is viewing this session. Open Share… to stop them.');
    await shot(person, 'shadow-banner');
    await shot(admin, 'shadow-viewing');
  }, 120_000);
});
