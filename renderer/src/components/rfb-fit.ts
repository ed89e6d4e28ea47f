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
// Sizes are CSS pixels, not device pixels: X apps keep the font size they started with,
// so a display of device pixels on a 2× screen would halve every letter (and send four
// times the pixels). At a device pixel ratio of 1 the frame is pixel for pixel; at a
// whole ratio each of its pixels is drawn as an exact block (no blur).
import { MAX_DESKTOP } from '../../../shared/protocol/index.js';

export interface Size {
  width: number;
  height: number;
}

/** The pane is taken to have settled once its size held this long (a window being dragged asks nothing until it stops). */
export const SETTLE_MS = 300;
/** The smallest display asked for: a pane squeezed below it is shown scaled down rather than relaying the app out to a sliver. */
export const MIN_DESKTOP = 64;

/** The display size for a pane: whole CSS pixels within the protocol's bounds, or null for a pane not shown (a hidden tab measures 0). */
export function desktopSizeFor(pane: Size): Size | null {
  const width = Math.floor(pane.width);
  const height = Math.floor(pane.height);
  if (width < 1 || height < 1) return null;
  const bound = (n: number) => Math.min(MAX_DESKTOP, Math.max(MIN_DESKTOP, n));
  return { width: bound(width), height: bound(height) };
}

/**
 * Whether a frame fits the pane as it is: then it is drawn unscaled. One that does not
 * (the pane just shrank, or the display refused the size) is scaled down to fit until
 * the display has the pane's size; a smaller one is never scaled up, which would blur it.
 */
export function fitsPane(framebuffer: Size, pane: Size): boolean {
  return framebuffer.width <= pane.width && framebuffer.height <= pane.height;
}

const same = (a: Size | null, b: Size | null) => a !== null && b !== null && a.width === b.width && a.height === b.height;

export interface DesktopFitOptions {
  /** The pane's size now, in CSS pixels. */
  measure(): Size;
  /** Asks the display for this size; false if it could not be sent (the input queue is full). */
  request(size: Size): boolean;
  settleMs?: number;
}

/** When to ask the display for the pane's size, and which size. */
export class DesktopFit {
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** The display's size as last known or asked for; null while no viewer is connected. */
  private current: Size | null = null;

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
    this.current = framebuffer;
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
    const wanted = desktopSizeFor(this.options.measure());
    if (wanted === null || same(wanted, this.current)) return;
    if (this.options.request(wanted)) this.current = wanted;
  }
}
