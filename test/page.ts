// What a person sees on the web client's page, read the way they read it: by
// accessible names and the terminal's visible rows (Playwright, Debian's Chromium).
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import axe from 'axe-core';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's Chromium as the tests run it: headless, and quiet (nothing leaves this machine). */
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/**
 * The web client, bundled from this tree into `dir` (a test's own directory, so the
 * shared dist/ is left alone), with its index.html: a node's webRoot.
 */
export async function bundleWebClient(dir: string): Promise<void> {
  const root = fileURLToPath(new URL('..', import.meta.url));
  await build({
    entryPoints: { app: join(root, 'renderer/src/main.tsx') },
    outdir: dir,
    bundle: true,
    platform: 'browser',
    target: ['chrome120'],
    format: 'esm',
    jsx: 'automatic',
    loader: { '.woff2': 'file', '.svg': 'dataurl' },
    logLevel: 'error',
  });
  cpSync(join(root, 'renderer/index.html'), join(dir, 'index.html'));
}

export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: [...CHROMIUM_ARGS, ...extraArgs] });
}

/** The app tiles a person sees, by their accessible names ("Launch Shell", …): their text, less what is hidden from assistive technology. */
export function launchButtons(page: Page): Promise<string[]> {
  return page.getByRole('button', { name: /^Launch / }).evaluateAll((buttons) =>
    buttons.map((b) =>
      [...b.childNodes]
        .filter((n) => !(n instanceof Element && n.getAttribute('aria-hidden') === 'true'))
        .map((n) => n.textContent ?? '')
        .join('')
        .trim(),
    ),
  );
}

/** The text of the visible session's terminal, one entry per screen row, as xterm's DOM renderer shows it. */
export function terminalRows(page: Page, app: string): Promise<string[]> {
  return page
    .getByRole('region', { name: `${app} session` })
    .locator('.xterm-rows > div')
    .evaluateAll((rows) => rows.map((row) => (row.textContent ?? '').replace(/\u00a0/g, ' ').trimEnd()));
}

/** What axe-core (WCAG 2.1 A and AA rules) finds wrong on the page as it is now: rule id, impact and the first element, per violation. */
export async function axeViolations(page: Page): Promise<string[]> {
  // Evaluated, not added as a script tag: the page's CSP rightly refuses inline scripts.
  await page.evaluate(axe.source);
  const result = (await page.evaluate(() => (window as unknown as { axe: { run(context: unknown, options: unknown): Promise<unknown> } }).axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }))) as {
    violations: Array<{ id: string; impact: string; nodes: Array<{ target: string[] }> }>;
  };
  return result.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes[0]?.target.join(' ') ?? ''}`);
}

/** Signs in with the password form, as a person types it. */
export async function signIn(page: Page, user: string, password: string): Promise<void> {
  await page.getByLabel('User name', { exact: true }).fill(user);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

/** Clicks into a terminal session's screen and types a line (Enter included). */
export async function typeLine(page: Page, app: string, line: string): Promise<void> {
  await page.getByRole('region', { name: `${app} session` }).locator('.xterm-screen').click();
  await page.keyboard.type(line);
  await page.keyboard.press('Enter');
}
