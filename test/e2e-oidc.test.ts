// Sign-in through an identity provider, end to end: a real OpenID provider on loopback
// (oidc-provider, its development login pages), real broker nodes, the real web client
// in Chromium. A person clicks "Sign in with …", signs in at the provider, and lands in
// the launcher with exactly their apps; the ways it must fail, fail in words.
import { readFileSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeSocketFactory } from '../broker/cli/connect.js';
import { parseDeepLink } from '../main/deep-link.js';
import { HoldfastClient } from '../shared/core/index.js';
import type { DesktopConfig } from '../shared/ipc.js';
import { waitFor } from './demo-node.js';
import { client, rawSocket, startNode, type TestNode } from '../support/harness.js';
import { CLIENT_ID, CLIENT_SECRET, signInAtProvider, startIdentityProvider, type TestIdentityProvider } from './identity-provider.js';
import { launchButtons, terminalRows } from './page.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const artifacts = join(root, 'test-artifacts');
const webRoot = join(root, 'dist', 'renderer');
const SIGN_IN = 'Sign in with Test IdP';

let idp: TestIdentityProvider;
/** allowListed only: people under users: (bob, and carol, who has no password). */
let listed: TestNode;
/** allowUnlisted too: anyone the provider signs in, with its groups. */
let open: TestNode;
/** Its provider is not running. */
let down: TestNode;
let browser: Browser;

const oidc = (issuer: string, extra: Record<string, unknown> = {}) => ({ issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, displayName: 'Test IdP', groupsClaim: 'groups', ...extra });

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  idp = await startIdentityProvider({ bob: { name: 'Bob B' }, carol: { name: 'Carol C' }, zoe: { name: 'Zoe Z', groups: ['/engineering', 'everyone'] } });
  listed = await startNode({ webRoot, users: [{ name: 'carol', displayName: 'Carol', groups: ['staff'] }], oidc: oidc(idp.issuer) });
  open = await startNode({
    webRoot,
    oidc: oidc(idp.issuer, { allowUnlisted: true }),
    entitlements: [
      { groups: ['staff'], apps: ['shell', 'python', 'cat'] },
      { groups: ['engineering'], apps: ['python', 'cat'] },
    ],
  });
  down = await startNode({ webRoot, oidc: oidc(`http://127.0.0.1:${await closedPort()}`) });
  await idp.serve([listed, open].map((t) => `${t.url}/auth/oidc/callback`));
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    // Nothing leaves this machine: the provider's pages ask for a web font, which is refused here and below.
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'],
  });
});

afterAll(async () => {
  await browser?.close().catch(() => {});
  await Promise.all([listed?.stop(), open?.stop(), down?.stop()]);
  await idp?.stop();
});

/** A fresh browser (no provider session), that reaches loopback only. */
async function newPage(): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  await context.route((url) => url.hostname !== '127.0.0.1', (route) => route.abort());
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  return { context, page, errors };
}

/** What went between the browser and the node: the handoff value the client started with, and the code it was sent back with. */
function watchHandOff(page: Page): { handoff: () => string; code: () => string } {
  let handoff = '';
  let code = '';
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (url.pathname === '/auth/oidc/start') handoff = url.searchParams.get('handoff') ?? '';
  });
  page.on('response', async (response) => {
    const url = new URL(response.url());
    if (url.pathname !== '/auth/oidc/callback') return;
    const location = response.headers().location ?? '';
    const html = location ? '' : await response.text().catch(() => '');
    code = /#oidc=([\w-]+)/.exec(location)?.[1] ?? /holdfast:\/\/oidc\?code=([\w-]+)/.exec(html)?.[1] ?? '';
  });
  return { handoff: () => handoff, code: () => code };
}

/** The same string with its first character changed (still base64url). */
const flip = (text: string) => (text[0] === 'A' ? 'B' : 'A') + text.slice(1);

function audit(t: TestNode): Array<Record<string, unknown>> {
  return readFileSync(join(t.stateDir, 'audit.log'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('signing in with an identity provider, in the web client', () => {
  it('takes the person to the provider and back into the launcher with exactly their apps; Python computes 6*7', async () => {
    const { context, page, errors } = await newPage();
    const seen = watchHandOff(page);
    await page.goto(listed.url);
    await page.getByRole('button', { name: SIGN_IN }).waitFor();
    await page.screenshot({ path: join(artifacts, 'oidc-sign-in.png') });
    await page.getByRole('button', { name: SIGN_IN }).click();
    await page.waitForURL((url) => url.origin === idp.issuer);
    await signInAtProvider(page, 'bob');
    await page.getByRole('heading', { name: 'Your apps' }).waitFor();
    await waitFor('bob’s apps', async () => JSON.stringify(await launchButtons(page)) === JSON.stringify(['Launch Python']));
    expect(await launchButtons(page)).toEqual(['Launch Python']);
    // The code left the address bar and the history at once.
    expect(new URL(page.url()).hash).toBe('');
    expect(await page.evaluate(() => window.location.href)).toBe(`${listed.url}/`);
    expect(await page.getByRole('status').first().textContent()).toMatch(/^Connected/);
    expect(await page.locator('.status-bar .user, .user').first().textContent()).toBe('bob');

    await page.getByRole('button', { name: 'Launch Python', exact: true }).click();
    await waitFor('the Python prompt', async () => (await terminalRows(page, 'Python')).some((row) => row.startsWith('>>>')), 15_000);
    await page.getByRole('region', { name: 'Python session' }).locator('.xterm-screen').click();
    await page.keyboard.type('6*7');
    await page.keyboard.press('Enter');
    await waitFor('Python to print 42', async () => (await terminalRows(page, 'Python')).includes('42'));
    await page.screenshot({ path: join(artifacts, 'oidc-python.png') });
    await page.getByRole('tab', { name: 'Apps' }).click();
    await page.screenshot({ path: join(artifacts, 'oidc-signed-in.png') });

    expect(audit(listed)).toContainEqual(expect.objectContaining({ event: 'sign-in.ok', user: 'bob', method: 'oidc' }));

    // The same code again, even with the right handoff value, is refused like any bad one.
    expect(seen.code()).toMatch(/^[\w-]{43}$/);
    const again = rawSocket(listed.url);
    await again.opened;
    await again.next('welcome');
    again.ws.send(JSON.stringify({ type: 'auth.signInWithCode', id: 1, code: seen.code(), handoff: seen.handoff() }));
    expect(await again.next('error')).toEqual({
      type: 'error',
      id: 1,
      code: 'sign_in_failed',
      message: 'Sign-in could not be finished: the sign-in code has expired or was already used. Start again with the sign-in button.',
    });
    again.ws.close();
    expect(audit(listed)).toContainEqual(expect.objectContaining({ event: 'sign-in.failed', user: null, method: 'oidc' }));
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);

  it('a person under users: without a password signs in through the provider only; password sign-in refuses them like anyone', async () => {
    const { context, page } = await newPage();
    await page.goto(listed.url);
    await page.getByRole('button', { name: SIGN_IN }).click();
    await signInAtProvider(page, 'carol');
    await page.getByRole('heading', { name: 'Your apps' }).waitFor();
    await waitFor('carol’s apps', async () => (await launchButtons(page)).length === 3);
    expect(await launchButtons(page)).toEqual(['Launch Shell', 'Launch Python', 'Launch Cat']);
    await context.close();
    for (const password of ['', 'carol-pw', 'anything']) {
      await expect(client(listed.url).signIn('carol', password)).rejects.toThrow('Sign-in failed: the user name or password is not right.');
    }
  }, 60_000);

  it('someone the provider knows who is not under users: is refused in words that name no other account', async () => {
    const { context, page } = await newPage();
    await page.goto(listed.url);
    await page.getByRole('button', { name: SIGN_IN }).click();
    await signInAtProvider(page, 'zoe');
    await page.getByRole('heading', { name: 'No access to Holdfast' }).waitFor();
    expect(await page.locator('main').innerText()).toBe(
      'No access to Holdfast\n\nTest IdP signed you in as “zoe”, but that account may not use Holdfast here. Ask your administrator for access.\n\nBack to sign-in',
    );
    await page.screenshot({ path: join(artifacts, 'oidc-no-access.png') });
    expect(audit(listed)).toContainEqual(expect.objectContaining({ event: 'sign-in.failed', user: 'zoe', method: 'oidc' }));
    // Back on the sign-in page, nothing is signed in.
    await page.getByRole('link', { name: 'Back to sign-in' }).click();
    await page.getByRole('heading', { name: 'Sign in to Holdfast' }).waitFor();
    await context.close();
  }, 60_000);

  it('with allowUnlisted, that person signs in with the provider’s groups, and their token works on new connections', async () => {
    const { context, page } = await newPage();
    await page.goto(open.url);
    await page.getByRole('button', { name: SIGN_IN }).click();
    await signInAtProvider(page, 'zoe');
    await page.getByRole('heading', { name: 'Your apps' }).waitFor();
    await waitFor('zoe’s apps', async () => (await launchButtons(page)).length === 2);
    expect(await launchButtons(page)).toEqual(['Launch Python', 'Launch Cat']);
    expect(await page.getByText('Zoe Z', { exact: true }).isVisible()).toBe(true);
    // A session is a new connection, authenticated at upgrade with the token that carries zoe's groups.
    await page.getByRole('button', { name: 'Launch Python', exact: true }).click();
    await waitFor('the Python prompt', async () => (await terminalRows(page, 'Python')).some((row) => row.startsWith('>>>')), 15_000);
    await context.close();
  }, 60_000);

  it('a page opened with a code this window did not ask for signs nobody in, says why, and drops the code from the address bar', async () => {
    const { context, page } = await newPage();
    await page.goto(`${listed.url}/#oidc=${'A'.repeat(43)}`);
    await expect.poll(() => page.getByRole('alert').first().textContent()).toBe('This sign-in was not started in this window, so it cannot be finished here. Start again with the sign-in button.');
    expect(new URL(page.url()).hash).toBe('');
    await page.goto('about:blank');
    await page.goto(`${listed.url}/#oidc=<script>`);
    await expect.poll(() => page.getByRole('alert').first().textContent()).toBe('The address this page was opened with holds no usable sign-in code. Start again with the sign-in button.');
    expect(await page.getByRole('heading', { name: 'Sign in to Holdfast' }).isVisible()).toBe(true);
    await context.close();
  }, 60_000);

  it('a callback whose state or sealed cookie was changed, or that has no state, is refused with a page that says what to do', async () => {
    // Tampered with on the way out (the browser follows redirects by itself, so the start answer is where to change them).
    const tamperings: Array<[string, (answer: { location: URL; cookie: string }) => void]> = [
      ['state', ({ location }) => location.searchParams.set('state', flip(location.searchParams.get('state')!))],
      ['cookie', (answer) => (answer.cookie = answer.cookie.replace(/=v1\.(.)/, (_m, c: string) => `=v1.${flip(c)}`))],
    ];
    for (const [what, tamper] of tamperings) {
      const { context, page } = await newPage();
      await page.route(
        (url) => url.pathname === '/auth/oidc/start',
        async (route) => {
          const response = await route.fetch({ maxRedirects: 0 });
          const answer = { location: new URL(response.headers().location!), cookie: response.headers()['set-cookie']! };
          tamper(answer);
          await route.fulfill({ response, headers: { ...response.headers(), location: answer.location.href, 'set-cookie': answer.cookie } });
        },
      );
      await page.goto(listed.url);
      await page.getByRole('button', { name: SIGN_IN }).click();
      await signInAtProvider(page, 'bob');
      await page.getByRole('heading', { name: 'This sign-in cannot be finished' }).waitFor();
      const words = await page.locator('main').innerText();
      expect(words, what).toContain('This sign-in link is not valid here: it was changed, it was already used, it is more than 10 minutes old, or it was opened in another browser than the one that started it.');
      expect(words, what).toContain('Start again from the sign-in page.');
      if (what === 'state') await page.screenshot({ path: join(artifacts, 'oidc-bad-state.png') });
      await context.close();
    }

    const missing = await fetch(`${listed.url}/auth/oidc/callback?code=abc`);
    expect(missing.status).toBe(400);
    expect(missing.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const text = await missing.text();
    expect(text).toContain('This sign-in link is not valid here');
    expect(text).not.toMatch(/at \w+ \(|node_modules|Error:/);
    expect(audit(listed)).toContainEqual(expect.objectContaining({ event: 'sign-in.failed', method: 'oidc', detail: 'missing or malformed state' }));
  }, 60_000);
});

describe('the desktop app’s hand-off (holdfast://oidc), without Electron', () => {
  it('the callback page links back to the app with a code only the app’s handoff value redeems', async () => {
    const { context, page } = await newPage();
    const seen = watchHandOff(page);
    // What main opens in the system browser (main/shell.ts: holdfast:oidc.start).
    const handoff = 'desktop-handoff-value-0123456789';
    await page.goto(`${listed.url}/auth/oidc/start?client=desktop&handoff=${handoff}`);
    await signInAtProvider(page, 'bob');
    await page.getByRole('heading', { name: 'Signed in' }).waitFor();
    const href = await page.getByRole('link', { name: 'Open Holdfast' }).getAttribute('href');
    const link = parseDeepLink(href);
    expect(link).toEqual({ kind: 'oidc', code: seen.code(), broker: listed.url });
    await context.close();
    if (link?.kind !== 'oidc') return;
    // Someone else holding the link cannot use it: a wrong handoff uses the code up.
    const thief = client(listed.url);
    await expect(thief.signInWithCode(link.code, 'another-handoff-value-0123456789')).rejects.toThrow(/the sign-in code has expired or was already used/);
    await expect(client(listed.url).signInWithCode(link.code, handoff)).rejects.toThrow(/already used/);
  }, 60_000);

  it('the desktop renderer asks the shell to open the browser, and signs in with the code the shell passes back', async () => {
    const { context, page, errors } = await newPage();
    const config: DesktopConfig = {
      brokerUrl: listed.url,
      version: '0.6.0',
      policyError: null,
      kiosk: null,
      autoLaunchApp: null,
      rememberMe: { offered: false, reason: null },
      sound: { playback: true, microphone: true },
      settings: { brokerUrl: listed.url, updateChannel: 'stable', locked: [] },
    };
    // The preload's bridge, played by the test (main/preload.ts has the real one; main/shell.test.ts tests main's side).
    await page.addInitScript((initial: DesktopConfig) => {
      const listeners: Array<(payload: { code: string }) => void> = [];
      const started: string[] = [];
      Object.assign(window, {
        __started: started,
        __deliver: (code: string) => listeners.forEach((listener) => listener({ code })),
        holdfast: {
          getConfig: async () => initial,
          loadCredential: async () => null,
          takePendingLaunch: async () => null,
          startOidc: async (handoff: string) => (started.push(handoff), null),
          onOidcCode: (listener: (payload: { code: string }) => void) => (listeners.push(listener), () => {}),
          onUpdateStatus: () => () => {},
          onLaunchRequested: () => () => {},
          onKioskEscapeRequested: () => () => {},
        },
      });
    }, config);
    await page.goto(listed.url);
    await page.getByRole('button', { name: SIGN_IN }).click();
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'in your browser' }).textContent()).toBe('Finish signing in with Test IdP in your browser; Holdfast continues here when you are done.');
    const [handoff] = await page.evaluate(() => (window as unknown as { __started: string[] }).__started);
    expect(handoff).toMatch(/^[\w-]{32}$/);
    // The system browser: what main opened (main/shell.ts builds this URL from the configured broker).
    const browserPage = await context.newPage();
    const seen = watchHandOff(browserPage);
    await browserPage.goto(`${listed.url}/auth/oidc/start?client=desktop&handoff=${handoff}`);
    await signInAtProvider(browserPage, 'bob');
    await browserPage.getByRole('heading', { name: 'Signed in' }).waitFor();
    await page.evaluate((code) => (window as unknown as { __deliver: (code: string) => void }).__deliver(code), seen.code());
    await page.getByRole('heading', { name: 'Your apps' }).waitFor();
    await waitFor('bob’s apps', async () => JSON.stringify(await launchButtons(page)) === JSON.stringify(['Launch Python']));
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);

  it('redeemed by the app, the code signs it in, and with remember me brings a refresh token that keeps the person', async () => {
    const { context, page } = await newPage();
    const seen = watchHandOff(page);
    const handoff = 'desktop-handoff-value-abcdefghij';
    await page.goto(`${open.url}/auth/oidc/start?client=desktop&handoff=${handoff}`);
    await signInAtProvider(page, 'zoe');
    await page.getByRole('heading', { name: 'Signed in' }).waitFor();
    await context.close();
    const refreshTokens: string[] = [];
    const withRefresh = new HoldfastClient({ brokerUrl: open.url, socketFactory: nodeSocketFactory, onRefreshToken: (grant) => refreshTokens.push(grant.refreshToken) });
    expect(await withRefresh.signInWithCode(seen.code(), handoff, { remember: true })).toEqual({ name: 'zoe', displayName: 'Zoe Z', groups: ['engineering'] });
    expect(refreshTokens).toHaveLength(1);
    withRefresh.signOut();
    const later = client(open.url);
    expect(await later.signInWithToken(refreshTokens[0]!)).toMatchObject({ name: 'zoe', groups: ['engineering'] });
    expect((await later.listApps()).map((a) => a.id)).toEqual(['python', 'cat']);
    later.signOut();
  }, 60_000);
});

describe('when the provider is down', () => {
  it('the button still shows, following it says so in words, and password sign-in keeps working', async () => {
    const methods = await fetch(`${down.url}/auth/methods`);
    expect(methods.headers.get('access-control-allow-origin')).toBe('*');
    expect(await methods.json()).toEqual({ password: true, oidc: { displayName: 'Test IdP', start: '/auth/oidc/start' } });
    const { context, page } = await newPage();
    await page.goto(down.url);
    await page.getByRole('button', { name: SIGN_IN }).click();
    await page.getByRole('heading', { name: 'Test IdP is not answering' }).waitFor();
    expect(await page.locator('main').innerText()).toContain('Holdfast cannot reach Test IdP to sign you in right now. Try again in a few minutes, or sign in with your Holdfast user name and password if you have one.');
    await page.screenshot({ path: join(artifacts, 'oidc-provider-down.png') });
    await page.getByRole('link', { name: 'Back to sign-in' }).click();
    await page.getByLabel('User name', { exact: true }).fill('ann');
    await page.getByLabel('Password', { exact: true }).fill('ann-pw');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('heading', { name: 'Your apps' }).waitFor();
    await context.close();
  }, 60_000);

  it('a node without oidc: offers only the password form', async () => {
    const plain = await startNode({ webRoot });
    try {
      expect(await (await fetch(`${plain.url}/auth/methods`)).json()).toEqual({ password: true, oidc: null });
      const start = await fetch(`${plain.url}/auth/oidc/start?client=web&handoff=0123456789012345678901234`);
      expect(start.status).toBe(404);
      expect(await start.text()).toContain('This Holdfast node does not offer sign-in with an identity provider.');
      const { context, page } = await newPage();
      await page.goto(plain.url);
      await page.getByRole('heading', { name: 'Sign in to Holdfast' }).waitFor();
      await page.waitForTimeout(300);
      expect(await page.getByRole('button', { name: /^Sign in with/ }).count()).toBe(0);
      await context.close();
    } finally {
      await plain.stop();
    }
  }, 60_000);
});
