// A GUI session as a person sees it in the web client (Playwright, Debian's Chromium):
// what noVNC's canvas shows, how large the display is and how it is drawn.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { waitFor } from './demo-node.js';

export interface Size {
  width: number;
  height: number;
}

/** The visible session's canvas, as a grid of cell sums (a cheap picture of what is drawn). */
export async function canvasCells(page: Page, app: string): Promise<{ width: number; height: number; cells: number[] } | null> {
  return page.getByRole('region', { name: `${app} session` }).evaluate((session) => {
    const canvas = session.querySelector('.rfb-host canvas') as HTMLCanvasElement | null;
    if (!canvas || canvas.width === 0) return null;
    const context = canvas.getContext('2d')!;
    const { width, height } = canvas;
    const data = context.getImageData(0, 0, width, height).data;
    const cell = 16;
    const cols = Math.ceil(width / cell);
    const cells = new Array<number>(cols * Math.ceil(height / cell)).fill(0);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const at = (y * width + x) * 4;
        cells[Math.floor(y / cell) * cols + Math.floor(x / cell)]! += data[at]! + data[at + 1]! + data[at + 2]!;
      }
    }
    return { width, height, cells };
  });
}

/** Waits until the canvas has drawn something and then held still (the app has settled). */
export async function settledCanvas(page: Page, app: string): Promise<number[]> {
  let previous = '';
  return waitFor(`${app}'s display to draw and hold still`, async () => {
    const now = await canvasCells(page, app);
    if (!now || now.cells.every((c) => c === 0)) return null;
    const key = now.cells.join(',');
    const steady = key === previous;
    previous = key;
    return steady ? now.cells : null;
  }, 20_000);
}

export async function launch(page: Page, app: string): Promise<void> {
  await page.getByRole('tab', { name: 'Apps' }).click();
  await page.getByRole('button', { name: `Launch ${app}`, exact: true }).click();
  await waitFor(`${app} to stream`, () => page.getByRole('region', { name: `${app} session` }).getAttribute('data-status').then((s) => s === 'streaming'), 15_000);
}

export interface DisplayState {
  /** The display's framebuffer (noVNC's canvas is always its size). */
  framebuffer: Size;
  /** How large the canvas is drawn on the page, in CSS pixels. */
  drawn: Size;
  /** The pane the display sits in. */
  pane: Size;
  /** Of the pixels along the frame's right and bottom edges (4 px deep), the share that is the bare display's black. */
  blackEdges: number;
  /** How the browser scales the canvas to device pixels (CSS image-rendering). */
  imageRendering: string;
  /** The page's device pixel ratio. */
  devicePixelRatio: number;
}

/** The visible GUI session's display: its size, how it is drawn, whether the app fills it. */
export function displayState(page: Page, app: string): Promise<DisplayState | null> {
  return page.getByRole('region', { name: `${app} session` }).evaluate((session) => {
    const host = session.querySelector('.rfb-host') as HTMLElement | null;
    const canvas = session.querySelector('.rfb-host canvas') as HTMLCanvasElement | null;
    if (!host || !canvas || canvas.width === 0) return null;
    const { width, height } = canvas;
    const data = canvas.getContext('2d')!.getImageData(0, 0, width, height).data;
    let black = 0;
    let edge = 0;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        if (x < width - 4 && y < height - 4) continue;
        const at = (y * width + x) * 4;
        edge += 1;
        if (data[at]! + data[at + 1]! + data[at + 2]! < 48) black += 1;
      }
    }
    const drawn = canvas.getBoundingClientRect();
    const pane = host.getBoundingClientRect();
    return {
      framebuffer: { width, height },
      drawn: { width: drawn.width, height: drawn.height },
      pane: { width: pane.width, height: pane.height },
      blackEdges: black / edge,
      imageRendering: getComputedStyle(canvas).imageRendering,
      devicePixelRatio: window.devicePixelRatio,
    };
  });
}

/** Only the sizes of displayState (cheap enough to poll often: no pixels read). */
export function displaySizes(page: Page, app: string): Promise<Pick<DisplayState, 'framebuffer' | 'drawn' | 'pane' | 'devicePixelRatio'> | null> {
  return page.getByRole('region', { name: `${app} session` }).evaluate((session) => {
    const host = session.querySelector('.rfb-host') as HTMLElement | null;
    const canvas = session.querySelector('.rfb-host canvas') as HTMLCanvasElement | null;
    if (!host || !canvas || canvas.width === 0) return null;
    const drawn = canvas.getBoundingClientRect();
    const pane = host.getBoundingClientRect();
    return {
      framebuffer: { width: canvas.width, height: canvas.height },
      drawn: { width: drawn.width, height: drawn.height },
      pane: { width: pane.width, height: pane.height },
      devicePixelRatio: window.devicePixelRatio,
    };
  });
}

/**
 * The display has the pane's pixels and each is drawn on one of them: with `pixels` 'device'
 * (the default, "Sharp") the pane's device pixels (its CSS size × the ratio, ± 1 for the
 * browser's rounding), drawn at its CSS size; with 'css' ("Save bandwidth") its whole CSS
 * pixels, drawn 1:1.
 */
export function fitted(state: Pick<DisplayState, 'framebuffer' | 'drawn' | 'pane' | 'devicePixelRatio'> | null, pixels: 'device' | 'css' = 'device'): boolean {
  if (state === null) return false;
  const scale = pixels === 'device' ? state.devicePixelRatio : 1;
  const near = (a: number, b: number, within: number) => Math.abs(a - b) <= within;
  const sized = scale === 1 ? state.framebuffer.width === Math.floor(state.pane.width) && state.framebuffer.height === Math.floor(state.pane.height) : near(state.framebuffer.width, state.pane.width * scale, 1) && near(state.framebuffer.height, state.pane.height * scale, 1);
  return sized && near(state.drawn.width, state.framebuffer.width / scale, 0.02) && near(state.drawn.height, state.framebuffer.height / scale, 0.02);
}

/**
 * Times, inside the page, how long after the window's last resize event the display
 * had the pane's pixels and was drawn one on one (as fitted(); checked every frame): what a person sees,
 * without the test's own polling in it. Call before resizing; await the result after.
 */
export async function timeFit(page: Page, app: string, pixels: 'device' | 'css' = 'device'): Promise<() => Promise<number>> {
  await page.getByRole('region', { name: `${app} session` }).evaluate((session, pixels) => {
    const host = session.querySelector('.rfb-host') as HTMLElement;
    const timing = { resizedAt: 0, fittedAt: 0 };
    (window as unknown as { fitTiming: typeof timing }).fitTiming = timing;
    window.addEventListener('resize', () => {
      timing.resizedAt = performance.now();
      timing.fittedAt = 0;
    });
    const check = () => {
      if (timing.resizedAt > 0 && timing.fittedAt === 0) {
        const canvas = host.querySelector('canvas');
        const pane = host.getBoundingClientRect();
        const drawn = canvas?.getBoundingClientRect();
        // As fitted() has it.
        const scale = pixels === 'device' ? window.devicePixelRatio : 1;
        const near = (a: number, b: number, within: number) => Math.abs(a - b) <= within;
        const sized = canvas && (scale === 1 ? canvas.width === Math.floor(pane.width) && canvas.height === Math.floor(pane.height) : near(canvas.width, pane.width * scale, 1) && near(canvas.height, pane.height * scale, 1));
        if (canvas && drawn && sized && near(drawn.width, canvas.width / scale, 0.02) && near(drawn.height, canvas.height / scale, 0.02)) {
          timing.fittedAt = performance.now();
        }
      }
      if (timing.fittedAt === 0) requestAnimationFrame(check);
    };
    requestAnimationFrame(check);
  }, pixels);
  return () =>
    waitFor(`${app}'s display to take the pane's size`, () =>
      page.evaluate(() => {
        const { resizedAt, fittedAt } = (window as unknown as { fitTiming: { resizedAt: number; fittedAt: number } }).fitTiming;
        return fittedAt > 0 ? Math.round(fittedAt - resizedAt) : null;
      }),
    );
}

/**
 * After a failed test: a screenshot of the page, and what the node and the page said
 * (to tell a lost input from a reconnect or a refusal), into test-artifacts/ as PREFIX-TEST.
 */
export async function saveFailure(artifacts: string, prefix: string, testName: string, page: Page | null, nodeOutput: string, consoleLines: string[]): Promise<void> {
  if (!page || page.isClosed()) return;
  const name = `${prefix}-${testName.replace(/\W+/g, '-').slice(0, 50)}`;
  await page.screenshot({ path: join(artifacts, `${name}.png`) }).catch(() => {});
  writeFileSync(join(artifacts, `${name}.log`), `${nodeOutput}\n---- page console ----\n${consoleLines.join('\n')}\n`);
}
