// Session policies as a person meets them in the web client (issue 22, point 2): the
// real web client — bundled from this tree into a directory of the test's own, so the
// shared dist/ is left alone — in Debian's Chromium, against a real node whose policy
// ends Python after 20 idle seconds, warned 10 s before. The person sees the warning at
// the top of the pane, counting down; a key makes it go and keeps the session; left
// alone, the session ends and the pane says why.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../broker/auth/password.js';
import { NodeConfig } from '../broker/config/schema.js';
import { silentLogger } from '../broker/log.js';
import { BrokerNode } from '../broker/node.js';
import { TEST_PROFILE } from '../support/harness.js';
import { waitFor } from '../support/wait.js';
import { axeViolations, bundleWebClient, launchChromium, signIn, terminalRows, typeLine } from './page.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const artifacts = join(root, 'test-artifacts');

let node: BrokerNode;
let stateDir: string;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'holdfast-e2e-policies-'));
  const web = join(stateDir, 'web');
  await bundleWebClient(web);
  const config = NodeConfig.parse({
    node: { name: 'test-node', listen: { host: '127.0.0.1', port: 0 }, stateDir },
    users: [{ name: 'ann', passwordHash: await hashPassword('ann-pw', { N: 1024, r: 8, p: 1 }), groups: ['staff'] }],
    apps: [{ id: 'python', name: 'Python', command: '/usr/bin/python3', args: ['-q'] }],
    sandboxProfiles: { default: TEST_PROFILE },
    entitlements: [{ groups: ['staff'], apps: ['python'] }],
    sessionPolicies: [{ apps: ['python'], idleMinutes: 20 / 60, warnMinutes: 10 / 60 }],
  });
  node = new BrokerNode({ config, webRoot: web, log: silentLogger });
  const url = await node.start();
  browser = await launchChromium();
  page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  page.setDefaultTimeout(15_000);
  await page.goto(url);
}, 120_000);

afterEach(async (context) => {
  if (context.task.result?.state === 'fail') await page?.screenshot({ path: join(artifacts, 'failed-session-policies.png') }).catch(() => {});
});

afterAll(async () => {
  await browser?.close().catch(() => {});
  await node?.stop();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

/** The warning's words as they are shown (the countdown), or null when none is. */
const shownNotice = (page: Page) =>
  page
    .getByRole('region', { name: 'Python session' })
    .locator('.session-notice [aria-hidden="true"]')
    .textContent({ timeout: 200 })
    .catch(() => null);

describe('an idle Python, as its person sees it', () => {
  it('warns at the top of the pane with the time left, and a key keeps the session', async () => {
    await signIn(page, 'ann', 'ann-pw');
    await page.getByRole('button', { name: /Python/ }).first().click();
    await waitFor('the Python prompt', async () => (await terminalRows(page, 'Python')).some((row) => row.startsWith('>>>')), 15_000);
    const first = await waitFor('the idle warning', () => shownNotice(page), 20_000);
    expect(first).toMatch(/^Python ends in 0:(0[1-9]|10) because it has been idle — press a key to keep it$/);
    // It counts down.
    await waitFor('the countdown to move', async () => {
      const now = await shownNotice(page);
      return now !== null && now !== first;
    }, 3000);
    await page.screenshot({ path: join(artifacts, 'session-idle-warning.png') });
    // Nothing of the warning itself is an accessibility problem.
    expect((await axeViolations(page)).filter((v) => v.includes('session-notice'))).toEqual([]);
    await typeLine(page, 'Python', '6*7');
    await waitFor('Python to print 42', async () => (await terminalRows(page, 'Python')).includes('42'));
    await waitFor('the warning to go', async () => (await shownNotice(page)) === null, 3000);
  }, 60_000);

  it('left alone, ends the session and says why', async () => {
    await waitFor('the warning again', () => shownNotice(page), 20_000);
    const pane = page.getByRole('region', { name: 'Python session' });
    await waitFor('the session to end', async () => (await pane.innerText()).includes('Python ended because it was idle for 20 seconds.'), 15_000);
    expect(await shownNotice(page)).toBeNull();
    await page.screenshot({ path: join(artifacts, 'session-idle-ended.png') });
  }, 30_000);
});
