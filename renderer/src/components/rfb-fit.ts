// A GUI session's display follows its pane. Once the pane's size has held still for a
// moment, the client asks the app's Xvnc for exactly that size (RFB SetDesktopSize, an
// input message: logged, so every replica's display takes it too); the window manager
// resizes the app to fill it, and the frame is drawn 1:1. A new viewer — at launch,
// after a resume, on another device or another node — asks again for its own pane.
//
// Why not noVNC's own resizeSession: noVNC sends one request and then waits for Xvnc's
// answer to *that client* (ExtendedDesktopSize, reason 1) before it sends another. Here
// input reaches Xvnc through the host's own viewer, so Xvnc tells noVNC's relay "another
// client resized" (reason 2), noVNC's request stays pending for ever, and every later
// resize of the pane was dropped: the display kept its launch size and was scaled.
//
// Sizes are device pixels by default (issue 26, point 4: "sharp on any screen"): on a 2×
// screen the display is twice the pane's CSS size each way and drawn at half its size,
// one pixel of the app on one pixel of the screen — crisp, where a display of CSS pixels
// drew each of its pixels as a 2×2 block. The person may choose CSS pixels instead
// ("Save bandwidth"): a quarter of the pixels to encode and send on a 2× screen, each
// drawn as an exact block at a whole ratio (no blur, but not sharp). At a ratio of 1 the
// two are the same. The pane's device pixels are the browser's own count
// (ResizeObserver's device-pixel-content-box, which is what it paints the box with),
// so a frame of that size is drawn without resampling at 1.5× too.
import { MAX_DESKTOP, type DesktopScreen } from '../../../shared/protocol/index.js';

export interface Size {
  width: number;
  height: number;
}

/** The pane is taken to have settled once its size held this long (a window being dragged asks nothing until it stops). */
export const SETTLE_MS = 300;
/** The smallest display asked for: a pane squeezed below it is shown scaled down rather than relaying the app out to a sliver. */
export const MIN_DESKTOP = 64;

/** Device pixels ("Sharp", the default) or CSS pixels ("Save bandwidth"). */
export type DisplayPixels = 'device' | 'css';

/** Display pixels per CSS pixel: the device pixel ratio for device pixels, else 1. */
export function displayScale(pixels: DisplayPixels, devicePixelRatio: number): number {
  return pixels === 'device' && devicePixelRatio > 0 ? devicePixelRatio : 1;
}

/**
 * The scale told to a GUI app at its launch (the node passes it on: host/sandbox.ts
 * scaleSettings): the display's pixels per CSS pixel, in quarters from 1 to 4 — a
 * screen zoomed out below 1 launches its apps as at 1.
 */
export function launchScale(pixels: DisplayPixels, devicePixelRatio: number): number {
  return Math.min(4, Math.max(1, Math.round(displayScale(pixels, devicePixelRatio) * 4) / 4));
}

/**
 * The pixels a pane has for its display: its CSS size at a scale of 1, else its device
 * pixels as the browser counts them (`devicePixels`, where it says), but never more than
 * its CSS size times the scale. A count more than a pixel away from that product is not taken: it is
 * not the scale's (Chromium under device emulation counts CSS pixels there).
 */
export function panePixels(pane: Size, scale: number, devicePixels: Size | null): Size {
  if (scale === 1) return pane;
  // Whole device pixels, never more than the pane's CSS size holds: the drawing surface
  // is held to the pane's CSS box, and a frame a third of a CSS pixel taller than it
  // (599 CSS pixels at 1.5 are 898.5 device pixels, 899 rounded) is scaled down to fit
  // by a fraction — every pixel blurred (seen under load, when the ratio's change came
  // after the browser's count).
  const product = { width: Math.floor(pane.width * scale + 1e-6), height: Math.floor(pane.height * scale + 1e-6) };
  const close = devicePixels !== null && Math.abs(devicePixels.width - product.width) <= 1 && Math.abs(devicePixels.height - product.height) <= 1;
  return close ? { width: Math.min(devicePixels.width, product.width), height: Math.min(devicePixels.height, product.height) } : product;
}

/** The display size for a pane's pixels (panePixels): whole pixels within the protocol's bounds, or null for a pane not shown (a hidden tab measures 0). */
export function desktopSizeFor(pane: Size): Size | null {
  const width = Math.floor(pane.width);
  const height = Math.floor(pane.height);
  if (width < 1 || height < 1) return null;
  const bound = (n: number) => Math.min(MAX_DESKTOP, Math.max(MIN_DESKTOP, n));
  return { width: bound(width), height: bound(height) };
}

/**
 * The CSS size a frame is drawn at in a pane: its own size over the scale (one display
 * pixel on one device pixel, or on one CSS pixel) when that fits the pane; else scaled
 * down to fit, keeping its shape, until the display has the pane's size (the pane just
 * shrank, or the display refused the size). A smaller frame (someone else's display,
 * watched) is never scaled up, which would blur it. Half a CSS pixel over is taken as
 * fitting: the rounding of a pane's device pixels.
 */
export function drawnSize(framebuffer: Size, pane: Size, scale: number): Size {
  const natural = { width: framebuffer.width / scale, height: framebuffer.height / scale };
  if (natural.width <= pane.width + 0.5 && natural.height <= pane.height + 0.5) return natural;
  const ratio = Math.min(pane.width / framebuffer.width, pane.height / framebuffer.height);
  return { width: framebuffer.width * ratio, height: framebuffer.height * ratio };
}

/** A desktop and its screens (one per monitor a session spans; screen-layout.ts). */
export interface DesktopLayout extends Size {
  screens: DesktopScreen[];
}

/** The one-screen desktop of a pane's pixels (desktopSizeFor), or null for a pane not shown. */
export function singleLayout(pane: Size): DesktopLayout | null {
  const size = desktopSizeFor(pane);
  return size && { ...size, screens: [{ id: 0, x: 0, y: 0, ...size }] };
}

const sameScreens = (a: readonly DesktopScreen[], b: readonly DesktopScreen[]) =>
  a.length === b.length && a.every((s, i) => s.x === b[i]!.x && s.y === b[i]!.y && s.width === b[i]!.width && s.height === b[i]!.height);
const same = (a: DesktopLayout | null, b: DesktopLayout | null) => a !== null && b !== null && a.width === b.width && a.height === b.height && sameScreens(a.screens, b.screens);

export interface DesktopFitOptions {
  /** The pane's pixels now (panePixels), or the layout of every window a session spans (screen-layout.ts). */
  measure(): Size | DesktopLayout;
  /** Asks the display for this layout; false if it could not be sent (the input queue is full). */
  request(layout: DesktopLayout): boolean;
  settleMs?: number;
}

/** When to ask the display for the pane's size, and which size. */
export class DesktopFit {
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** The display's layout as last known or asked for; null while no viewer is connected. */
  private current: DesktopLayout | null = null;

  constructor(private readonly options: DesktopFitOptions) {}

  /** The pane changed size: ask once it has held still. */
  paneChanged(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.ask();
    }, this.options.settleMs ?? SETTLE_MS);
  }

  /** A viewer connected to a display of this size (launch, resume, attach): ask for the pane's size now if it differs. */
  viewerConnected(framebuffer: Size): void {
    this.current = singleLayout(framebuffer);
    this.ask();
  }

  /** The viewer is gone; nothing is asked until the next one has connected and said how large the display is. */
  viewerLost(): void {
    this.current = null;
  }

  dispose(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.current = null;
  }

  private ask(): void {
    if (this.current === null) return;
    const measured = this.options.measure();
    const wanted = 'screens' in measured ? measured : singleLayout(measured);
    if (wanted === null || same(wanted, this.current)) return;
    if (this.options.request(wanted)) this.current = wanted;
  }
}
