// A node serving https and wss with a certificate from `holdfast cert dev`, reached as
// people reach it: `holdfast connect` in a terminal (refused in words until the person
// trusts the key, then working), the web client in Chromium (refused by a browser that
// does not trust it, working in one that pins it), and a renewed certificate taken on
// a reload while a session carries on.
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeSocketFactoryWith } from '../broker/cli/connect.js';
import { NodeConfig } from '../broker/config/schema.js';
import { makeDevCertificate } from '../broker/tls/certificate.js';
import { makeTrust, request, UntrustedCertificateError } from '../broker/tls/trust.js';
import { HoldfastClient } from '../shared/core/index.js';
import { Screen, launch, startNode, type TestNode } from '../support/harness.js';
import { waitFor } from './demo-node.js';
import { tmuxServer } from './tmux.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const artifacts = join(root, 'test-artifacts');
const run = promisify(execFile);
const terminal = tmuxServer('tls');
const tmux = terminal.run;
const term = `holdfast-tls-${process.pid}`;
const CHROMIUM_FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

let t: TestNode;
let dir: string;
let pin: string;
let certFile: string;
let keyFile: string;
const browsers: Browser[] = [];

async function waitForScreen(pattern: RegExp, timeoutMs = 15_000): Promise<string> {
  let text = '';
  await waitFor(`the terminal to show ${pattern}`, async () => pattern.test((text = terminal.screen(term, '-J'))), timeoutMs).catch(() => {
    throw new Error(`the terminal never showed ${pattern}:\n${text}`);
  });
  return text;
}

beforeAll(async () => {
  if (!existsSync(join(root, 'dist/broker/cli.js'))) spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: 'inherit' });
  mkdirSync(artifacts, { recursive: true });
  dir = mkdtempSync(join(tmpdir(), 'holdfast-tls-'));
  // The real command, as an operator runs it.
  const { stdout } = await run(process.execPath, [join(root, 'bin/holdfast.mjs'), 'cert', 'dev', '--out', dir]);
  pin = /^Pin \(the SHA-256 of the certificate's public key\): (sha256\/\S+)$/m.exec(stdout)![1]!;
  certFile = join(dir, 'holdfast-dev.crt');
  keyFile = join(dir, 'holdfast-dev.key');
  expect(stdout).toContain(`      certFile: ${certFile}\n      keyFile: ${keyFile}\n`);
  t = await startNode({ node: { tls: { certFile, keyFile } }, webRoot: join(root, 'dist', 'renderer') });
}, 30_000);

afterAll(async () => {
  terminal.stop();
  for (const browser of browsers) await browser.close().catch(() => {});
  await t?.stop();
});

describe('a node with node.tls', () => {
  it('serves https only: its URL says so, and a plain http request gets no page', async () => {
    expect(t.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const page = await request(`${t.url}/`, { timeoutMs: 5000 }, makeTrust({ pins: [pin] }));
    expect(page.status).toBe(200);
    expect(page.text).toContain('<div id="root">');
    await expect(request(t.url.replace('https:', 'http:') + '/', { timeoutMs: 5000 })).rejects.toThrow();
    const metrics = await request(`${t.url}/metrics`, { timeoutMs: 5000 }, makeTrust({ pins: [pin] }));
    const expiry = Number(/^holdfast_tls_certificate_expiry_timestamp_seconds\{[^}]*\} (\d+)$/m.exec(metrics.text)?.[1]);
    expect(expiry * 1000 - Date.now()).toBeGreaterThan(364 * 86_400_000);
  });

  it('keeps its TLS key out of every sandbox, as it does the token key', () => {
    expect(t.node.ctx.sessions.sandbox.hide).toContain(realpathSync(keyFile));
  });

  it('holdfast connect refuses the self-signed broker in words, with its pin; with --pin, the person works in Python', async () => {
    const cli = `node ${join(root, 'bin/holdfast.mjs')} connect --broker ${t.url} --user ann --app python`;
    tmux('new-session', '-d', '-s', term, '-x', '160', '-y', '30', 'sh', '-c', `${cli}; echo "CLI-EXIT=$?"; ${cli} --pin ${pin}; echo "CLI-EXIT=$?"; sleep 60`);
    await waitForScreen(/Password for ann:/);
    tmux('send-keys', '-t', term, 'ann-pw', 'Enter');
    const refused = await waitForScreen(/CLI-EXIT=1/);
    expect(refused).toContain(`holdfast connect: the certificate of 127.0.0.1 is not trusted (self-signed); its key's pin is ${pin}. If that is your broker's (holdfast cert dev printed it), pass --pin ${pin}`);
    await waitForScreen(/CLI-EXIT=1[\s\S]*Password for ann:/);
    tmux('send-keys', '-t', term, 'ann-pw', 'Enter');
    await waitForScreen(/^>>>\s*$/m);
    tmux('send-keys', '-t', term, '6*7', 'Enter');
    await waitForScreen(/^42$/m);
    tmux('send-keys', '-t', term, 'exit(3)', 'Enter');
    await waitForScreen(/CLI-EXIT=3/);
  }, 60_000);

  it('a malformed pin or a missing CA file is refused before anything is sent', async () => {
    const cli = join(root, 'bin/holdfast.mjs');
    const bad = await run(process.execPath, [cli, 'connect', '--broker', t.url, '--user', 'ann', '--app', 'python', '--pin', 'sha256/abc'], { timeout: 10_000 }).catch((e: { code: number; stderr: string }) => e);
    expect(bad).toMatchObject({ code: 2, stderr: 'holdfast connect: "sha256/abc" is not a pin: expected sha256/ followed by 44 characters of base64 (holdfast cert dev prints one)\n' });
    const missing = await run(process.execPath, [cli, 'connect', '--broker', t.url, '--user', 'ann', '--app', 'python', '--ca', join(dir, 'nope.pem')], { timeout: 10_000 }).catch((e: { code: number; stderr: string }) => e);
    expect(missing).toMatchObject({ code: 2, stderr: expect.stringMatching(/cannot read the CA file .*nope\.pem: ENOENT/) });
  });

  it('the web client: a browser that does not trust the certificate shows no page; one that pins its key signs in and runs Python over wss', async () => {
    const untrusting = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_FLAGS });
    browsers.push(untrusting);
    const refused = await (await untrusting.newPage()).goto(t.url).catch((e: Error) => e);
    expect(String(refused)).toMatch(/net::ERR_CERT_AUTHORITY_INVALID/);

    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: [...CHROMIUM_FLAGS, `--ignore-certificate-errors-spki-list=${pin.slice('sha256/'.length)}`] });
    browsers.push(browser);
    const page = await browser.newPage({ viewport: { width: 1100, height: 700 } });
    page.setDefaultTimeout(15_000);
    const sockets: string[] = [];
    page.on('websocket', (ws) => sockets.push(ws.url()));
    await page.goto(t.url);
    await page.getByLabel('User name', { exact: true }).fill('ann');
    await page.getByLabel('Password', { exact: true }).fill('ann-pw');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('button', { name: 'Launch Python', exact: true }).click();
    const rows = () => page.getByRole('region', { name: 'Python session' }).locator('.xterm-rows > div').allTextContents();
    await waitFor('the Python prompt', async () => (await rows()).some((row) => row.startsWith('>>>')), 15_000);
    await page.getByRole('region', { name: 'Python session' }).locator('.xterm-screen').click();
    await page.keyboard.type('6*7');
    await page.keyboard.press('Enter');
    await waitFor('Python to print 42', async () => (await rows()).some((row) => row.replace(/\u00a0/g, ' ').trim() === '42'));
    await page.screenshot({ path: join(artifacts, 'tls-session.png') });
    expect(sockets.length).toBeGreaterThan(0);
    expect(sockets.every((url) => url.startsWith('wss://127.0.0.1:'))).toBe(true);
  }, 60_000);

  it('takes a renewed certificate on reload while a session carries on, and keeps the old one when the new pair does not match', async () => {
    const trust = makeTrust({ pins: [pin] });
    const ann = new HoldfastClient({ brokerUrl: t.url, socketFactory: nodeSocketFactoryWith(trust), connectTimeoutMs: 5000 });
    await ann.signIn('ann', 'ann-pw');
    const stream = await launch(ann, 'cat');
    const screen = new Screen(stream);
    stream.sendInput('before\r');
    await screen.waitFor(/before\r?\n.*before/s);

    const renewed = makeDevCertificate({ names: ['localhost', '127.0.0.1'] });
    writeFileSync(certFile, renewed.certPem);
    writeFileSync(keyFile, renewed.keyPem);
    const config = (tls: { certFile: string; keyFile: string }) => NodeConfig.parse({ ...structuredClone(t.node.ctx.config), node: { ...structuredClone(t.node.ctx.config.node), tls } });
    expect(t.node.reload(config({ certFile, keyFile }))).toEqual({ applied: ['node.tls'], needsRestart: [] });
    // New connections meet the new key; the old pin no longer opens them.
    expect((await request(`${t.url}/healthz`, { timeoutMs: 5000 }, makeTrust({ pins: [renewed.pin] }))).ok).toBe(true);
    await expect(request(`${t.url}/healthz`, { timeoutMs: 5000 }, trust)).rejects.toBeInstanceOf(UntrustedCertificateError);
    // The session's connection, made before, carries on.
    stream.sendInput('after\r');
    await screen.waitFor(/after\r?\n.*after/s);

    // A key that is not the certificate's: refused whole, the node keeps serving the renewed pair.
    const stray = makeDevCertificate({ names: ['localhost'] });
    const strayKey = join(dir, 'stray.key');
    writeFileSync(strayKey, stray.keyPem);
    expect(() => t.node.reload(config({ certFile, keyFile: strayKey }))).toThrow(`the key in ${strayKey} does not belong to the certificate in ${certFile} (node.tls)`);
    expect((await request(`${t.url}/healthz`, { timeoutMs: 5000 }, makeTrust({ pins: [renewed.pin] }))).ok).toBe(true);
    expect(readFileSync(certFile, 'utf8')).toBe(renewed.certPem);
    stream.close();
    ann.signOut();
  }, 30_000);
});
