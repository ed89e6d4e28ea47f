// The whole desktop app in Electron, driven by Playwright's _electron against a real
// demo node: an everyday desktop (sign in, launch, type), a kiosk from a machine
// policy (signs itself in, launches its app full screen, cannot be closed, lets an
// administrator out), and an invalid policy. Runs wherever Electron's binary is
// installed; where it cannot be downloaded (these build machines) it is skipped, saying why.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { _electron, type ElectronApplication, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../broker/auth/password.js';
import { startDemoNode, waitFor, type DemoNode } from './demo-node.js';

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * Electron's binary, found the way `require('electron')` finds it — without calling it,
 * because on a machine without the binary that call starts a download.
 */
function electronBinary(): { path: string } | { missing: string } {
  const packageDir = join(root, 'node_modules', 'electron');
  const pathFile = join(packageDir, 'path.txt');
  if (!existsSync(pathFile)) return { missing: 'Electron’s binary is not installed (node_modules/electron/path.txt is absent: installed with ELECTRON_SKIP_BINARY_DOWNLOAD)' };
  const relative = readFileSync(pathFile, 'utf8').trim();
  const path = process.env.ELECTRON_OVERRIDE_DIST_PATH ? join(process.env.ELECTRON_OVERRIDE_DIST_PATH, relative) : join(packageDir, 'dist', relative);
  return existsSync(path) ? { path } : { missing: `Electron’s binary is not at ${path}` };
}

const binary = electronBinary();
const skipReason = 'missing' in binary ? binary.missing : null;
if (skipReason) console.info(`test/electron-app.test.ts skipped: ${skipReason}`);

let node: DemoNode;
let work: string;
const apps: ElectronApplication[] = [];

/** Starts the built app with its own profile and policy file (the test-only overrides main honours unpackaged). */
async function launchApp(options: { policy?: unknown; userData?: string } = {}): Promise<{ app: ElectronApplication; page: Page; userData: string }> {
  const userData = options.userData ?? mkdtempSync(join(work, 'profile-'));
  const policyFile = join(mkdtempSync(join(work, 'policy-')), 'policy.json');
  if (options.policy !== undefined) writeFileSync(policyFile, JSON.stringify(options.policy));
  const app = await _electron.launch({
    executablePath: (binary as { path: string }).path,
    args: [join(root, 'dist/main/main.cjs'), `--broker=${node.url}`],
    env: { ...process.env, HOLDFAST_POLICY_FILE: policyFile, HOLDFAST_USER_DATA: userData } as Record<string, string>,
  });
  apps.push(app);
  const page = await app.firstWindow();
  page.setDefaultTimeout(15_000);
  return { app, page, userData };
}

async function signIn(page: Page, user: string, password: string, remember = false): Promise<void> {
  if (user) await page.getByLabel('User name', { exact: true }).fill(user);
  await page.getByLabel('Password', { exact: true }).fill(password);
  if (remember) await page.getByLabel('Remember me on this computer').check();
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

function terminalText(page: Page, app: string): Promise<string> {
  return page.getByRole('region', { name: `${app} session` }).locator('.xterm-rows').innerText();
}

/** Closes every app started; a kiosk refuses to quit, so its process is killed after 5 s. */
const closeAll = async () => {
  for (const app of apps.splice(0)) {
    const closed = await Promise.race([app.close().then(() => true, () => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 5_000))]);
    if (!closed) app.process().kill('SIGKILL');
  }
};

describe.skipIf(skipReason !== null)('the desktop app in Electron', () => {
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'holdfast-electron-'));
    if (!existsSync(join(root, 'dist/main/main.cjs'))) throw new Error('build first: node scripts/build.mjs');
    node = await startDemoNode(root);
  });
  afterAll(async () => {
    await closeAll();
    expect((await node?.stop()) ?? []).toEqual([]);
    rmSync(work, { recursive: true, force: true });
  });

  it('an everyday desktop: a sandboxed window, sign in, launch Python, and type', async () => {
    const { app, page } = await launchApp();
    expect(page.url()).toBe('holdfast-app://renderer/index.html');
    // The page has the named bridge and nothing of Node's.
    expect(await page.evaluate(() => [typeof (window as unknown as { holdfast?: object }).holdfast, typeof (window as unknown as { require?: unknown }).require])).toEqual(['object', 'undefined']);
    expect(await page.evaluate(() => typeof (globalThis as unknown as { process?: unknown }).process)).toBe('undefined');
    // The CSP lets the page reach the broker and nothing else.
    expect(await page.evaluate(() => new Promise<string>((resolve) => {
      const socket = new WebSocket('ws://127.0.0.2:9/ws');
      socket.onerror = () => resolve('blocked');
      socket.onopen = () => resolve('open');
    }))).toBe('blocked');

    await signIn(page, 'demo', 'demo');
    await page.getByRole('heading', { name: 'Your apps' }).waitFor();
    await page.getByRole('button', { name: 'Launch Python', exact: true }).click();
    await waitFor('the Python prompt', async () => (await terminalText(page, 'Python')).includes('>>>'), 20_000);
    await page.getByRole('region', { name: 'Python session' }).locator('.xterm-screen').click();
    await page.keyboard.type('6*7\n');
    await waitFor('Python to answer 42', async () => (await terminalText(page, 'Python')).includes('42'));
    // window.open and navigation go nowhere.
    await page.evaluate(() => void window.open('https://example.com/'));
    expect(app.windows()).toHaveLength(1);
    await closeAll();
  });

  it('remember me signs the person in again on the next start, where the OS can keep the secret', async () => {
    const first = await launchApp();
    const offered = await first.page.getByLabel('Remember me on this computer').isVisible();
    if (!offered) {
      // Linux without a keyring: nothing may be kept, and the app says nothing is.
      expect(await first.page.evaluate(() => (window as unknown as { holdfast: { getConfig(): Promise<{ rememberMe: { reason: string } }> } }).holdfast.getConfig().then((c) => c.rememberMe.reason))).toMatch(/keyring|encryption/);
      await closeAll();
      return;
    }
    await signIn(first.page, 'demo', 'demo', true);
    await first.page.getByRole('heading', { name: 'Your apps' }).waitFor();
    await closeAll();
    const again = await launchApp({ userData: first.userData });
    await again.page.getByRole('heading', { name: 'Your apps' }).waitFor();
    expect(readFileSync(join(first.userData, 'credential.bin')).includes('eyJ')).toBe(false);
    await closeAll();
  });

  it('a kiosk: signs in as its account, launches its app full screen, cannot be closed, and lets an administrator out', async () => {
    const policy = {
      brokers: [node.url],
      kiosk: { account: 'demo', escapeHash: await hashPassword('let-me-out', { N: 1024, r: 8, p: 1 }) },
      autoLaunchApp: 'python',
      updates: { enabled: false },
    };
    const { app, page } = await launchApp({ policy });
    expect(await app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows()[0]!.isKiosk())).toBe(true);
    // The first start: an administrator types the kiosk account's password once.
    expect(await page.getByLabel('User name', { exact: true }).inputValue()).toBe('demo');
    await signIn(page, '', 'demo');
    await waitFor('Python to start by itself', async () => (await terminalText(page, 'Python')).includes('>>>'), 20_000);
    expect(await page.getByRole('tab').count()).toBe(0);

    // Closing the window does nothing.
    await app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows()[0]!.close());
    expect(await app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows().length)).toBe(1);

    // The app ending returns to the launcher, not the desktop.
    await page.getByRole('region', { name: 'Python session' }).locator('.xterm-screen').click();
    await page.keyboard.type('exit()\n');
    await page.getByRole('heading', { name: 'Your apps' }).waitFor();
    expect(await page.getByRole('status').filter({ hasText: 'Python ended' }).isVisible()).toBe(true);

    // The administrator escape.
    const exited = new Promise<void>((resolve) => app.process().once('exit', () => resolve()));
    await page.keyboard.press('Control+Alt+Shift+KeyE');
    await page.getByLabel('Administrator escape secret').fill('wrong');
    await page.getByRole('button', { name: 'Leave kiosk mode' }).click();
    await page.getByText('That is not the escape secret.').waitFor();
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await page.getByLabel('Administrator escape secret').fill('let-me-out');
    await page.getByRole('button', { name: 'Leave kiosk mode' }).click();
    await exited;
    apps.splice(apps.indexOf(app), 1);
  });

  it('an invalid policy: the app shows what is wrong and offers no sign-in', async () => {
    const { page } = await launchApp({ policy: { brokers: ['ftp://nowhere'], locked: ['colour'] } });
    await page.getByRole('heading', { name: 'This computer’s Holdfast policy is not valid' }).waitFor();
    const problems = await page.getByRole('list', { name: 'Problems' }).innerText();
    expect(problems).toMatch(/brokers\.0/);
    expect(problems).toMatch(/locked\.0/);
    expect(await page.getByLabel('Password', { exact: true }).count()).toBe(0);
    await closeAll();
  });
});
