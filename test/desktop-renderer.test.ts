// The renderer's desktop-only behaviour, in Chromium against a real demo node, with
// the preload's bridge played by the test (window.holdfast, injected before the page
// runs; see main/preload.ts for the real one). Everything past the bridge is real: the
// renderer bundle, the session core, the broker's refresh tokens, sandboxed apps.
// What main does on its side of the bridge is tested in main/*.test.ts.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DesktopConfig, StoredCredential } from '../shared/ipc.js';
import { startDemoNode, waitFor, type DemoNode } from './demo-node.js';

const root = fileURLToPath(new URL('..', import.meta.url));
let node: DemoNode;
let browser: Browser;

interface FakeShell {
  config: DesktopConfig;
  credential: StoredCredential | null;
  kioskSecret: string | null;
  pendingLaunch: string | null;
}

/** What the fake bridge recorded: saved credentials and secrets, and calls. */
interface Recorded {
  saved: StoredCredential[];
  cleared: number;
  kioskSaved: string[];
  installs: number;
  printed: Array<{ head: string; size: number; name: string }>;
}

const baseConfig = (): DesktopConfig => ({
  brokerUrl: node.url,
  version: '0.5.0',
  policyError: null,
  kiosk: null,
  autoLaunchApp: null,
  rememberMe: { offered: true, reason: null },
  sound: { playback: true, microphone: true },
  settings: { brokerUrl: node.url, updateChannel: 'stable', locked: [] },
});

async function desktopPage(shell: Partial<FakeShell>): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const state: FakeShell = { config: baseConfig(), credential: null, kioskSecret: null, pendingLaunch: null, ...shell };
  await page.addInitScript((initial: FakeShell) => {
    const recorded = { saved: [] as unknown[], cleared: 0, kioskSaved: [] as string[], installs: 0, printed: [] as unknown[] };
    const listeners: Record<string, Array<(payload: unknown) => void>> = {};
    const on = (event: string) => (listener: (payload: unknown) => void) => {
      (listeners[event] ??= []).push(listener);
      return () => void (listeners[event] = listeners[event]!.filter((l) => l !== listener));
    };
    let pending = initial.pendingLaunch;
    Object.assign(window, {
      __recorded: recorded,
      __emit: (event: string, payload: unknown) => listeners[event]?.forEach((listener) => listener(payload)),
      holdfast: {
        getConfig: async () => initial.config,
        setSettings: async () => initial.config,
        loadCredential: async () => initial.credential,
        saveCredential: async (credential: unknown) => (recorded.saved.push(credential), { saved: true, reason: null }),
        clearCredential: async () => ((recorded.cleared += 1), null),
        loadKioskSecret: async () => initial.kioskSecret,
        saveKioskSecret: async (secret: string) => (recorded.kioskSaved.push(secret), { saved: true, reason: null }),
        kioskEscape: async () => ({ ok: false, message: 'That is not the escape secret.' }),
        installUpdate: async () => ((recorded.installs += 1), null),
        takePendingLaunch: async () => {
          const appId = pending;
          pending = null;
          return appId;
        },
        onUpdateStatus: on('holdfast:update.status'),
        onLaunchRequested: on('holdfast:launch.requested'),
        onKioskEscapeRequested: on('holdfast:kiosk.escapeRequested'),
        startOidc: async () => null,
        onOidcCode: on('holdfast:oidc.code'),
        // The shell's print dialog, as a printer out of paper would answer it.
        printPdf: async (bytes: Uint8Array, name: string) => (
          recorded.printed.push({ head: String.fromCharCode(...bytes.subarray(0, 5)), size: bytes.length, name }),
          { printed: false, reason: 'It could not be printed (the printer is out of paper); the document is open in its own window, with Print and Download.' }
        ),
      },
    });
  }, state);
  await page.goto(node.url);
  return page;
}

const recorded = (page: Page) => page.evaluate(() => (window as unknown as { __recorded: Recorded }).__recorded);
const terminalText = (page: Page, app: string) => page.getByRole('region', { name: `${app} session` }).locator('.xterm-rows').innerText();

async function signIn(page: Page, user: string | null, password: string, remember = false): Promise<void> {
  if (user !== null) await page.getByLabel('User name', { exact: true }).fill(user);
  await page.getByLabel('Password', { exact: true }).fill(password);
  if (remember) await page.getByLabel('Remember me on this computer').check();
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

beforeAll(async () => {
  if (!existsSync(join(root, 'dist/renderer/index.html'))) throw new Error('build first: node scripts/build.mjs');
  node = await startDemoNode(root);
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
});
afterAll(async () => {
  await browser?.close().catch(() => {});
  expect((await node?.stop()) ?? []).toEqual([]);
});

describe('the desktop renderer', () => {
  it('remember me: the refresh token goes to the shell, brings the person back next time, and is forgotten on sign-out', async () => {
    const first = await desktopPage({});
    await signIn(first, 'demo', 'demo', true);
    await first.getByRole('heading', { name: 'Your apps' }).waitFor();
    const saved = await waitFor('the credential to be saved', async () => (await recorded(first)).saved[0]);
    expect(saved).toMatchObject({ brokerUrl: node.url, user: 'demo' });
    await first.context().close();

    const next = await desktopPage({ credential: saved });
    await next.getByRole('heading', { name: 'Your apps' }).waitFor();
    expect(await next.getByText('Demo User', { exact: true }).isVisible()).toBe(true);
    const rotated = await waitFor('the rotated token to be saved', async () => (await recorded(next)).saved[0]);
    expect(rotated.refreshToken).not.toBe(saved.refreshToken);
    await next.getByRole('button', { name: 'Sign out' }).click();
    await next.getByRole('heading', { name: 'Sign in to Holdfast' }).waitFor();
    expect((await recorded(next)).cleared).toBe(1);
    await next.context().close();
  });

  it('a saved token the broker refuses is forgotten, and the person is asked to sign in', async () => {
    const page = await desktopPage({ credential: { brokerUrl: node.url, user: 'demo', refreshToken: 'eyJhbGciOiJIUzI1NiJ9.e30.forged' } });
    await page.getByText('Your saved sign-in has expired or is no longer valid; sign in again.').waitFor();
    expect((await recorded(page)).cleared).toBe(1);
    await page.context().close();
  });

  it('without remember me offered (no safe storage), there is no checkbox and nothing is saved', async () => {
    const page = await desktopPage({ config: { ...baseConfig(), rememberMe: { offered: false, reason: 'no keyring' } } });
    await page.getByRole('heading', { name: 'Sign in to Holdfast' }).waitFor();
    expect(await page.getByLabel('Remember me on this computer').count()).toBe(0);
    await signIn(page, 'demo', 'demo');
    await page.getByRole('heading', { name: 'Your apps' }).waitFor();
    expect((await recorded(page)).saved).toEqual([]);
    await page.context().close();
  });

  it('a kiosk’s first start: the account is fixed, and its secret goes to the shell once signed in', async () => {
    const page = await desktopPage({ config: { ...baseConfig(), kiosk: { account: 'guest' }, rememberMe: { offered: false, reason: null } } });
    expect(await page.getByLabel('User name', { exact: true }).inputValue()).toBe('guest');
    expect(await page.getByLabel('User name', { exact: true }).getAttribute('readonly')).not.toBeNull();
    await signIn(page, null, 'guest');
    await page.getByRole('heading', { name: 'Your apps' }).waitFor();
    await waitFor('the kiosk secret to be stored', async () => (await recorded(page)).kioskSaved.length === 1);
    expect((await recorded(page)).kioskSaved).toEqual(['guest']);
    expect(await page.getByRole('button', { name: 'Sign out' }).count()).toBe(0);
    await page.context().close();
  });

  it('a kiosk signs itself in, launches its app filling the screen, and returns to the launcher when the app ends', async () => {
    const page = await desktopPage({ config: { ...baseConfig(), kiosk: { account: 'demo' }, autoLaunchApp: 'python', rememberMe: { offered: false, reason: null } }, kioskSecret: 'demo' });
    await waitFor('Python to start by itself', async () => (await terminalText(page, 'Python').catch(() => '')).includes('>>>'), 20_000);
    expect(await page.locator('.tabs').isVisible()).toBe(false);
    await page.getByRole('region', { name: 'Python session' }).locator('.xterm-screen').click();
    await page.keyboard.type('exit()\n');
    await page.getByRole('heading', { name: 'Your apps' }).waitFor();
    await page.getByRole('status').filter({ hasText: 'Python ended' }).waitFor();
    await page.context().close();
  });

  it('holdfast:// links launch their app after sign-in; one for an app the person does not have says so', async () => {
    const page = await desktopPage({ pendingLaunch: 'htop' });
    await signIn(page, 'demo', 'demo');
    await waitFor('the htop tab', () => page.getByRole('tab', { name: 'htop', selected: true }).isVisible());
    await page.evaluate(() => (window as unknown as { __emit: (e: string, p: unknown) => void }).__emit('holdfast:launch.requested', { appId: 'payroll' }));
    await page.getByRole('tab', { name: 'Apps' }).click();
    await page.getByText('“payroll” is not one of your apps, so it was not launched.').waitFor();
    await page.context().close();
  });

  it('an update ready to install: the person is told, and chooses restart now or later', async () => {
    const page = await desktopPage({});
    await signIn(page, 'demo', 'demo');
    await page.getByRole('heading', { name: 'Your apps' }).waitFor();
    const emit = (payload: unknown) => page.evaluate((p) => (window as unknown as { __emit: (e: string, p: unknown) => void }).__emit('holdfast:update.status', p), payload);
    await emit({ state: 'downloading', version: '0.6.0', percent: 50 });
    expect(await page.getByText(/is ready to install/).count()).toBe(0);
    await emit({ state: 'ready', version: '0.6.0' });
    await page.getByText('Holdfast 0.6.0 is ready to install.').waitFor();
    await page.getByRole('button', { name: 'Restart now' }).click();
    await waitFor('the install to be asked for', async () => (await recorded(page)).installs === 1);
    await page.getByRole('button', { name: 'Later' }).click();
    expect(await page.getByText(/is ready to install/).count()).toBe(0);
    await page.context().close();
  });

  it('Print… hands what the app printed to the shell, which opens it with its print dialog (no frame here), and its answer is shown', async () => {
    const page = await desktopPage({});
    await signIn(page, 'demo', 'demo');
    await page.getByRole('button', { name: 'Launch Shell', exact: true }).click();
    const pane = page.getByRole('region', { name: 'Shell session' });
    await waitFor('the Shell prompt', async () => /\$\s*$/.test(await terminalText(page, 'Shell').catch(() => '')), 20_000);
    await pane.locator('.xterm-screen').click();
    await page.keyboard.type('echo hello | lp\n');
    const notice = pane.getByRole('status').filter({ hasText: 'Shell printed a document (1 page).' });
    await notice.getByRole('button', { name: 'Print…' }).click();
    const [printed] = await waitFor('the PDF handed to the shell', async () => ((await recorded(page)).printed.length > 0 ? (await recorded(page)).printed : null), 20_000);
    expect(printed).toMatchObject({ head: '%PDF-', name: 'Shell.pdf' });
    expect(printed!.size).toBeGreaterThan(500);
    await pane.getByRole('alert').filter({ hasText: 'the printer is out of paper' }).waitFor();
    expect(await page.locator('iframe[data-print-frame]').count()).toBe(0);
    await page.context().close();
  });

  it('an invalid machine policy: the problems, and no way to sign in', async () => {
    const page = await desktopPage({ config: { ...baseConfig(), policyError: { file: '/etc/holdfast/policy.json', problems: ['brokers.0: http:// only for loopback addresses; use https://'] } } });
    await page.getByRole('heading', { name: 'This computer’s Holdfast policy is not valid' }).waitFor();
    expect(await page.getByRole('list', { name: 'Problems' }).innerText()).toContain('brokers.0: http:// only for loopback addresses');
    expect(await page.getByText('/etc/holdfast/policy.json').isVisible()).toBe(true);
    expect(await page.getByLabel('Password', { exact: true }).count()).toBe(0);
    await page.context().close();
  });

  it('the web client (no bridge) shows none of it', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(node.url);
    await page.getByRole('heading', { name: 'Sign in to Holdfast' }).waitFor();
    expect(await page.getByLabel('Remember me on this computer').count()).toBe(0);
    expect(await page.getByText('Settings').count()).toBe(0);
    await context.close();
  });
});
