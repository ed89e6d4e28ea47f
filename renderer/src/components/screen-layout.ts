// One GUI session across several monitors (issue 26, point 5): the display's desktop laid
// out as the person's screens are. Each window showing the session (the tab's pane on one
// screen, a window of its own on each other) is a screen of the display — a RandR monitor
// Xvnc makes from SetDesktopSize's screen list, so apps maximize and place menus per
// monitor — sized in that window's own pixels (rfb-fit.ts: device pixels when Sharp), and
// placed as the operating system places the monitors: side by side stay side by side.

import { MAX_DESKTOP } from '../../../shared/protocol/index.js';
import type { DesktopLayout } from './rfb-fit.js';

/** Where a window lies on the person's screens, in the OS's coordinates (CSS pixels of the screen layout). */
export interface Placement {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** One window of the session: where it is, and how many display pixels it has. */
export interface ScreenPart {
  placement: Placement;
  /** Its display pixels (whole). */
  width: number;
  height: number;
}

/**
 * The desktop for `parts` (its screens in their order, ids from 1), or why there is none. A part's x is the furthest right edge of
 * the parts wholly to its left on the OS's layout (0 if none), its y the lowest bottom of
 * the parts wholly above it: neighbours stay neighbours and nothing overlaps, whatever
 * each monitor's pixel ratio (the OS lays monitors out in its own units, the display in
 * pixels, so positions cannot simply be scaled).
 */
export function spanLayout(parts: readonly ScreenPart[]): DesktopLayout | string {
  if (parts.length === 0) return 'There is no screen to show the session on.';
  const xs: number[] = [];
  const ys: number[] = [];
  // Parts sorted by their left (top) edge: those wholly before a part come before it.
  const byLeft = parts.map((_, i) => i).sort((a, b) => parts[a]!.placement.left - parts[b]!.placement.left);
  for (const i of byLeft) {
    const me = parts[i]!.placement;
    xs[i] = Math.max(0, ...byLeft.filter((j) => xs[j] !== undefined && parts[j]!.placement.left + parts[j]!.placement.width <= me.left).map((j) => xs[j]! + parts[j]!.width));
  }
  const byTop = parts.map((_, i) => i).sort((a, b) => parts[a]!.placement.top - parts[b]!.placement.top);
  for (const i of byTop) {
    const me = parts[i]!.placement;
    ys[i] = Math.max(0, ...byTop.filter((j) => ys[j] !== undefined && parts[j]!.placement.top + parts[j]!.placement.height <= me.top).map((j) => ys[j]! + parts[j]!.height));
  }
  const screens = parts.map((part, i) => ({ id: i + 1, x: xs[i]!, y: ys[i]!, width: Math.floor(part.width), height: Math.floor(part.height) }));
  if (screens.some((s) => s.width < 1 || s.height < 1)) return 'One of the session’s windows has no room to show anything; make it larger.';
  const width = Math.max(...screens.map((s) => s.x + s.width));
  const height = Math.max(...screens.map((s) => s.y + s.height));
  if (width > MAX_DESKTOP || height > MAX_DESKTOP) return `Your screens together are ${width}×${height} pixels, more than a display can have (${MAX_DESKTOP} each way); choose "Save bandwidth" or fewer screens.`;
  return { width, height, screens };
}
