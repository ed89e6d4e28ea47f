// The Files panel of a session's tab as a person uses it (issue 23, downloads): the real
// web client — bundled from this tree into a directory of the test's own — in Debian's
// Chromium, against a real node. In a Shell the person makes files; Files lists the
// home, sorts, opens a folder and downloads a 3 MB file whose hash matches the one
// sha256sum printed inside; a download whose answer stops short, and one whose
// connection is reset midway (the page reaches the node through a proxy that can), resume
// where they stopped (Range with If-Range) and still match; Cancel stops one; where the
// administrator turned downloads off, the panel says so and offers no Download.
import { createHash } from 'node:crypto';
import net from 'node:net';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, type Download, type Locator, type Page, type Request, type Route } from 'playwright-core';
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
const SHELL = { id: 'shell', name: 'Shell', command: '/bin/bash', args: ['--norc', '--noprofile', '-i'], env: { PS1: '$ ' } };
/** Requests for docs/big.bin's bytes (not the panel's other calls). */
const CONTENT = (url: URL | string) => {
  const parsed = new URL(url);
  return parsed.pathname.endsWith('/files/content') && parsed.searchParams.get('path') === 'docs/big.bin';
};

let web: string;
let browser: Browser;
const nodes: Array<{ node: BrokerNode; stateDir: string }> = [];
let context: BrowserContext;
let proxy: PacedProxy;
let page: Page;
/** What sha256sum printed for docs/big.bin inside the session. */
let insideHash = '';

/**
 * A TCP proxy in front of the node that paces what the node sends (`rate` bytes a second;
 * 0: as fast as it comes) and can reset every connection at once — a dropped network, as
 * the page sees it: its fetch fails mid-body. (Chromium's offline emulation leaves a
 * response already flowing alone, and its throttling paces the page, not the socket.)
 */
class PacedProxy {
  rate = 0;
  private readonly sockets = new Set<net.Socket>();
  private constructor(private readonly server: net.Server) {}

  static async start(targetPort: number): Promise<PacedProxy> {
    const proxy: PacedProxy = new PacedProxy(net.createServer((client) => proxy.pair(client, targetPort)));
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
  }

  private pair(client: net.Socket, targetPort: number): void {
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => (this.sockets.delete(socket), client.destroy(), upstream.destroy()));
    }
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      client.write(chunk);
      if (this.rate <= 0) return;
      upstream.pause();
      setTimeout(() => upstream.resume(), (chunk.length / this.rate) * 1000);
    });
    upstream.on('end', () => client.end());
  }

  reset(): void {
    for (const socket of this.sockets) socket.resetAndDestroy();
  }

  async stop(): Promise<void> {
    this.reset();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

async function startNode(extra: Record<string, unknown> = {}): Promise<string> {
  const stateDir = mkdtempSync(join(tmpdir(), 'holdfast-e2e-files-'));
  const config = NodeConfig.parse({
    node: { name: 'test-node', listen: { host: '127.0.0.1', port: 0 }, stateDir },
    users: [{ name: 'ann', passwordHash: await hashPassword('ann-pw', { N: 1024, r: 8, p: 1 }), groups: ['staff'] }],
    apps: [SHELL],
    sandboxProfiles: { default: TEST_PROFILE },
    entitlements: [{ groups: ['staff'], apps: ['shell'] }],
    ...extra,
  });
  const node = new BrokerNode({ config, webRoot: web, log: silentLogger });
  nodes.push({ node, stateDir });
  return node.start();
}

async function newPage(url: string): Promise<Page> {
  context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
  const opened = await context.newPage();
  opened.setDefaultTimeout(15_000);
  await opened.goto(url);
  return opened;
}

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  web = mkdtempSync(join(tmpdir(), 'holdfast-e2e-files-web-'));
  await bundleWebClient(web);
  browser = await launchChromium();
  // The page reaches the node through a proxy that can cut every connection at once.
  proxy = await PacedProxy.start(Number(new URL(await startNode()).port));
  page = await newPage(proxy.url);
}, 120_000);

afterEach(async (test) => {
  if (test.task.result?.state === 'fail') await page?.screenshot({ path: join(artifacts, 'failed-files.png') }).catch(() => {});
});

afterAll(async () => {
  await browser?.close().catch(() => {});
  await proxy?.stop();
  for (const { node, stateDir } of nodes) {
    await node.stop().catch(() => {});
    rmSync(stateDir, { recursive: true, force: true });
  }
  if (web) rmSync(web, { recursive: true, force: true });
});

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const panel = () => page.getByRole('dialog', { name: 'Files in Shell' });
/** The names in the panel's list, top to bottom. */
const names = () => panel().locator('tbody th').evaluateAll((cells) => cells.map((cell) => (cell.textContent ?? '').trim()));
/** The path to the folder shown: Home, then each folder. */
const crumbs = () => panel().getByRole('navigation', { name: 'Folder path' });
/** The words the panel ends a download with. */
const outcome = () => panel().locator('.files-outcome').innerText();

async function launchShell(): Promise<void> {
  await page.getByRole('button', { name: 'Launch Shell', exact: true }).click();
  await waitFor('the shell prompt', async () => (await terminalRows(page, 'Shell')).some((row) => row.endsWith('$')), 15_000);
}

async function openFiles(): Promise<Locator> {
  await page.getByRole('region', { name: 'Shell session' }).getByRole('button', { name: 'Files', exact: true }).click();
  await panel().waitFor();
  return panel();
}

/** Clicks Download for `name` and waits for the browser's download of it. */
async function download(name: string, before?: () => Promise<void>): Promise<Download> {
  const saved = page.waitForEvent('download', { timeout: 30_000 });
  await panel().getByRole('button', { name: `Download ${name}`, exact: true }).click();
  await before?.();
  return saved;
}

describe('the Files panel of a session tab', () => {
  it('lists the home, sorts, opens a folder and downloads a file whole, with the same bytes as inside', async () => {
    await signIn(page, 'ann', 'ann-pw');
    await launchShell();
    await typeLine(page, 'Shell', "printf 'hello holdfast\\n' > hello.txt; head -c 20000 /dev/zero > zeros.dat; mkdir docs; head -c 3000000 /dev/urandom > docs/big.bin; sha256sum docs/big.bin");
    const line = await waitFor('sha256sum to print', async () => (await terminalRows(page, 'Shell')).map((row) => /^([0-9a-f]{64}) {2}docs\/big\.bin$/.exec(row)).find(Boolean), 15_000);
    insideHash = line[1]!;

    const session = page.getByRole('region', { name: 'Shell session' });
    const size = () => session.evaluate((el) => [el.getBoundingClientRect().width, el.getBoundingClientRect().height]);
    const before = await size();
    const files = await openFiles();
    const mine = async () => (await names()).filter((n) => ['docs', 'hello.txt', 'zeros.dat'].includes(n));
    await waitFor('the home listed', async () => (await mine()).length === 3);
    // Folders first, then by name.
    expect(await mine()).toEqual(['docs', 'hello.txt', 'zeros.dat']);
    const helloRow = files.locator('tbody tr', { has: page.getByText('hello.txt', { exact: true }) });
    expect(await helloRow.locator('td.number').innerText()).toBe('15 bytes');
    expect(await helloRow.locator('time').getAttribute('datetime')).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(await crumbs().getByRole('listitem').allInnerTexts()).toEqual(['Home']);
    // Folders offer Open, files Download (uploading: test/e2e-uploads.test.ts).
    expect(await files.getByRole('button', { name: /^Download / }).count()).toBeGreaterThanOrEqual(2);

    // Sorted by size: largest first; again: smallest first; by name again.
    const header = (label: string) => files.getByRole('columnheader', { name: label });
    await files.getByRole('button', { name: 'Size', exact: true }).click();
    expect(await header('Size').getAttribute('aria-sort')).toBe('descending');
    expect(await header('Name').getAttribute('aria-sort')).toBeNull();
    expect(await mine()).toEqual(['docs', 'zeros.dat', 'hello.txt']);
    await files.getByRole('button', { name: 'Size', exact: true }).click();
    expect(await header('Size').getAttribute('aria-sort')).toBe('ascending');
    expect(await mine()).toEqual(['docs', 'hello.txt', 'zeros.dat']);
    await files.getByRole('button', { name: 'Name', exact: true }).click();
    expect(await header('Name').getAttribute('aria-sort')).toBe('ascending');
    await page.screenshot({ path: join(artifacts, 'files-panel.png') });
    // A sheet over the app: the app behind keeps its size.
    expect(await size()).toEqual(before);
    expect(await axeViolations(page)).toEqual([]);

    // Into docs, by keyboard: focus moves to where the path now says it is.
    await files.getByRole('button', { name: 'Open folder docs' }).focus();
    await page.keyboard.press('Enter');
    await waitFor('docs listed', async () => (await names()).includes('big.bin'));
    expect(await crumbs().getByRole('listitem').allInnerTexts()).toEqual(['Home', 'docs']);
    expect(await crumbs().locator('[aria-current=location]').innerText()).toBe('docs');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('aria-current'))).toBe('location');
    const bigRow = files.locator('tbody tr', { has: page.getByText('big.bin', { exact: true }) });
    expect(await bigRow.locator('td.number').innerText()).toBe('3.0 MB');

    const saved = await download('big.bin');
    expect(saved.suggestedFilename()).toBe('big.bin');
    expect(sha256((await saved.path())!)).toBe(insideHash);
    await waitFor('the words', async () => (await outcome()) === 'big.bin is downloaded (3.0 MB).');
    expect(await files.getByRole('status').allInnerTexts()).toContain('big.bin is downloaded (3.0 MB).');
    await page.screenshot({ path: join(artifacts, 'files-downloaded.png') });
    expect(await axeViolations(page)).toEqual([]);

    // Back up by the path; Escape closes, and focus is back on the Files button.
    await crumbs().getByRole('button', { name: 'Home' }).click();
    await waitFor('the home again', async () => (await names()).includes('hello.txt'));
    await page.keyboard.press('Escape');
    await waitFor('the panel closed', async () => !(await panel().isVisible()));
    expect(await page.evaluate(() => [document.activeElement?.tagName, document.activeElement?.textContent])).toEqual(['BUTTON', 'Files']);
  }, 90_000);

  it('resumes a download whose answer stopped short (a third of Content-Length) from where it stopped, with the same bytes', async () => {
    const asked: Array<Record<string, string>> = [];
    const answered: Array<{ status: number; etag: string | undefined }> = [];
    page.on('request', (request) => {
      if (CONTENT(request.url())) void request.allHeaders().then((headers) => asked.push(headers));
    });
    page.on('response', (response) => {
      if (CONTENT(response.url())) answered.push({ status: response.status(), etag: response.headers().etag });
    });
    let first = true;
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    // The first answer stops after 1 MB of the 3 (the connection dropped); the next is held a moment, so the panel is seen waiting.
    await page.route(CONTENT, async (route: Route) => {
      if (first) {
        first = false;
        const whole = await route.fetch();
        const body = await whole.body();
        return route.fulfill({ status: whole.status(), headers: whole.headers(), body: body.subarray(0, 1_000_000) });
      }
      await held;
      return route.continue();
    });
    const files = await openFiles();
    await files.getByRole('button', { name: 'Open folder docs' }).click();
    await waitFor('docs listed', async () => (await names()).includes('big.bin'));
    const saved = await download('big.bin', async () => {
      const words = files.getByRole('listitem').filter({ hasText: 'big.bin' });
      await waitFor('the panel to say it resumes', async () => /Resuming from 1\.0 MB/.test(await words.innerText()));
      expect(await files.getByRole('progressbar', { name: 'Downloading big.bin' }).count()).toBe(1);
      await page.screenshot({ path: join(artifacts, 'files-resuming.png') });
      release();
    });
    expect(sha256((await saved.path())!)).toBe(insideHash);
    await waitFor('the words', async () => (await outcome()) === 'big.bin is downloaded (3.0 MB).');
    await waitFor('both requests seen', () => asked.length >= 2 && answered.length >= 2);
    expect(asked[0]!.range).toBeUndefined();
    expect(asked[1]!.range).toBe('bytes=1000000-');
    expect(asked[1]!['if-range']).toBe(answered[0]!.etag);
    expect(answered[0]!.etag).toBeTruthy();
    expect(answered[1]!.status).toBe(206);
    expect(asked).toHaveLength(2);
    await page.unroute(CONTENT);
  }, 60_000);

  it('resumes after every connection was reset midway (as a dropped network does), with the same bytes', async () => {
    const asked: Array<Record<string, string>> = [];
    const listener = (request: Request) => {
      if (CONTENT(request.url())) void request.allHeaders().then((headers) => asked.push(headers));
    };
    page.on('request', listener);
    const files = panel();
    const progress = files.getByRole('progressbar', { name: 'Downloading big.bin' });
    // What the node sends is paced to 1 MB/s, so that the reset comes while the bytes flow.
    proxy.rate = 1_000_000;
    const saved = await download('big.bin', async () => {
      await waitFor('a third of it', async () => (await progress.evaluate((bar: HTMLProgressElement) => bar.value)) >= 1_000_000, 15_000);
      // Every connection between the page and the node is reset (the session's too: it reconnects on its own).
      proxy.rate = 0;
      proxy.reset();
      const words = files.getByRole('listitem').filter({ hasText: 'big.bin' });
      await waitFor('the panel to say it resumes', async () => /The connection dropped\. Resuming from [12]\.\d MB/.test(await words.innerText()));
    });
    expect(sha256((await saved.path())!)).toBe(insideHash);
    await waitFor('the words', async () => (await outcome()) === 'big.bin is downloaded (3.0 MB).');
    page.off('request', listener);
    // The first asked for all of it; the next for the rest, from past the first third, on condition of the same version.
    expect(asked).toHaveLength(2);
    expect(asked[0]!.range).toBeUndefined();
    expect(Number(/^bytes=(\d+)-$/.exec(asked[1]!.range ?? '')?.[1])).toBeGreaterThanOrEqual(1_000_000);
    expect(asked[1]!['if-range']).toMatch(/^".+"$/);
  }, 60_000);

  it('stops a download on Cancel, and says so', async () => {
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    await page.route(CONTENT, async (route: Route) => {
      await held;
      await route.continue().catch(() => {});
    });
    let downloads = 0;
    page.on('download', () => downloads++);
    const files = panel();
    await files.getByRole('button', { name: 'Download big.bin', exact: true }).click();
    await files.getByRole('button', { name: 'Cancel download of big.bin' }).click();
    await waitFor('the words', async () => (await outcome()) === 'big.bin was not downloaded: you cancelled it.');
    expect(await files.getByRole('progressbar').count()).toBe(0);
    release();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(downloads).toBe(0);
    await page.unroute(CONTENT);
    await page.keyboard.press('Escape');
  }, 30_000);

  it('says downloads are off where the administrator turned them off, and offers no Download', async () => {
    await context.close();
    page = await newPage(await startNode({ transferPolicies: [{ apps: ['shell'], download: false }] }));
    await signIn(page, 'ann', 'ann-pw');
    await launchShell();
    await typeLine(page, 'Shell', "printf 'secret\\n' > notes.txt");
    const files = await openFiles();
    await waitFor('the panel to say downloads are off', async () => /turned off by your administrator/.test(await files.innerText()));
    expect(await files.getByRole('button', { name: /^Download/ }).count()).toBe(0);
    await page.screenshot({ path: join(artifacts, 'files-off.png') });
    expect(await axeViolations(page)).toEqual([]);
  }, 60_000);
});
