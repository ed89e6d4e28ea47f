// A guest link (issue 24), in the real web client in Debian's Chromium against a node
// that allows guests: ann shares Python for anyone with the link; a stranger opens it,
// does not sign in, gives a name, and watches what ann types; ann sees who it is; a
// link for people who sign in tells a guest to sign in. Screenshots to test-artifacts/,
// axe-core on each.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Screen, client, launch, startNode, type TestNode } from '../support/harness.js';
import { waitFor } from '../support/wait.js';
import { axeViolations, bundleWebClient, launchChromium, terminalRows } from './page.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const artifacts = join(root, 'test-artifacts');

let t: TestNode;
let web: string;
let browser: Browser;

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  web = mkdtempSync(join(tmpdir(), 'holdfast-e2e-guest-web-'));
  await bundleWebClient(web);
  t = await startNode({ webRoot: web, node: { sharing: { guests: true } } });
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close().catch(() => {});
  await t?.stop();
  if (web) rmSync(web, { recursive: true, force: true });
});

async function stranger(url: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 700 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  await page.goto(url);
  return page;
}

const sees = (page: Page, text: string | RegExp) => waitFor(`the page to show ${String(text)}`, () => page.getByText(text).first().isVisible());

describe('a guest link in the browser', () => {
  it('lets someone watch without signing in, named as they asked; a link for people who sign in sends them to sign in', async () => {
    const ann = client(t.url);
    await ann.signIn('ann', 'ann-pw');
    const owner = await launch(ann, 'python');
    const ownerScreen = new Screen(owner);
    await ownerScreen.waitFor('>>> ');
    const forGuests = (await owner.share('view', 15, true)).shares.find((s) => s.link)!.link!;
    const forPeople = (await owner.share('view', 15)).shares.find((s) => s.link)!.link!;

    const page = await stranger(`${t.url}/#join=${forGuests}`);
    await sees(page, 'Or watch without signing in');
    expect(await axeViolations(page), 'axe-core on the sign-in page with the guest form').toEqual([]);
    await page.screenshot({ path: join(artifacts, 'guest-sign-in.png') });
    await page.getByLabel('Your name, as the others will see it').fill('Zoe');
    await page.getByRole('button', { name: 'Watch as a guest' }).click();
    await sees(page, /Watching ann’s Python — view only/);
    owner.sendInput('print("hello", "guest")\r');
    await waitFor('the owner’s line on the guest’s screen', async () => (await terminalRows(page, 'ann’s Python')).includes('hello guest'), 10_000);
    await waitFor('the owner to see Zoe', async () => owner.view.sharing?.watchers.some((w) => w.displayName === 'Zoe' && w.guest === true) ?? false, 5000);
    expect(await axeViolations(page), 'axe-core on the guest’s view').toEqual([]);
    await page.screenshot({ path: join(artifacts, 'guest-watching.png') });

    // A link for people who sign in: the guest is told to sign in, and can go back to do so.
    const other = await stranger(`${t.url}/#join=${forPeople}`);
    await other.getByLabel('Your name, as the others will see it').fill('Yan');
    await other.getByRole('button', { name: 'Watch as a guest' }).click();
    await sees(other, 'The shared session could not be opened: This link is for people who sign in: sign in to watch.');
    await other.getByRole('button', { name: 'Close tab' }).click();
    await sees(other, 'Sign in to Holdfast');
    owner.close();
    ann.signOut();
  }, 90_000);
});
