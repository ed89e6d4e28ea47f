// What a person sees on the web client's page, read the way they read it: by
// accessible names and the terminal's visible rows (Playwright, Debian's Chromium).
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
