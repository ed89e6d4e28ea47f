// What a person sees on the web client's page, read the way they read it: by
// accessible names and the terminal's visible rows (Playwright, Debian's Chromium).
import axe from 'axe-core';
import type { Page } from 'playwright-core';

/** The app tiles a person sees, by their accessible names ("Launch Shell", …). */
export function launchButtons(page: Page): Promise<string[]> {
  return page.getByRole('button', { name: /^Launch / }).evaluateAll((buttons) => buttons.map((b) => b.getAttribute('aria-label') ?? ''));
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
