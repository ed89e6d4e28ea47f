// Renders build/icon.svg to the PNG sizes electron-builder wants (build/icons/NxN.png;
// it derives .ico and .icns from the 256 and 512 px ones). Uses Debian's Chromium,
// which the tests need anyway:  node build/make-icons.mjs
import { mkdirSync, readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

const svg = readFileSync(new URL('./icon.svg', import.meta.url), 'utf8');
const out = new URL('./icons/', import.meta.url);
mkdirSync(out, { recursive: true });
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium' });
try {
  for (const size of [16, 32, 48, 64, 128, 256, 512]) {
    const page = await browser.newPage({ viewport: { width: size, height: size } });
    await page.setContent(`<html><body style="margin:0;background:transparent">${svg.replace('<svg ', `<svg width="${size}" height="${size}" `)}</body></html>`);
    await page.screenshot({ path: new URL(`${size}x${size}.png`, out).pathname, omitBackground: true });
    await page.close();
  }
} finally {
  await browser.close();
}
console.log('wrote build/icons/*.png');
