import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DesktopFit, MIN_DESKTOP, SETTLE_MS, desktopSizeFor, displayScale, drawnSize, launchScale, panePixels, type DesktopLayout, type Size } from './rfb-fit.js';

describe('desktopSizeFor', () => {
  it('asks for the pane’s whole pixels, within the protocol’s bounds', () => {
    expect(desktopSizeFor({ width: 1279.5, height: 731.8 })).toEqual({ width: 1279, height: 731 });
    expect(desktopSizeFor({ width: 20_000, height: 10 })).toEqual({ width: 8192, height: MIN_DESKTOP });
  });

  it('asks nothing for a pane that is not shown', () => {
    expect(desktopSizeFor({ width: 0, height: 0 })).toBeNull();
    expect(desktopSizeFor({ width: 800, height: 0.5 })).toBeNull();
  });
});

describe('the display’s pixels', () => {
  it('are device pixels (“Sharp”), or CSS pixels (“Save bandwidth”) and at a ratio of 1', () => {
    expect(displayScale('device', 2)).toBe(2);
    expect(displayScale('device', 1.5)).toBe(1.5);
    expect(displayScale('css', 2)).toBe(1);
    expect(displayScale('device', 0)).toBe(1);
  });

  it('are told to an app at its launch in quarters from 1 to 4', () => {
    expect(launchScale('device', 2)).toBe(2);
    expect(launchScale('device', 1.3333)).toBe(1.25);
    expect(launchScale('device', 0.9)).toBe(1);
    expect(launchScale('device', 5)).toBe(4);
    expect(launchScale('css', 2)).toBe(1);
  });

  it('are the browser’s count of the pane’s device pixels where it gives one, else its CSS size times the scale', () => {
    const pane = { width: 1023.5, height: 700.25 };
    expect(panePixels(pane, 1, { width: 2047, height: 1401 })).toEqual(pane);
    expect(panePixels(pane, 2, { width: 2046, height: 1400 })).toEqual({ width: 2046, height: 1400 });
    expect(panePixels(pane, 1.5, null)).toEqual({ width: 1535, height: 1050 });
    expect(desktopSizeFor(panePixels(pane, 2, null))).toEqual({ width: 2047, height: 1400 });
    // A count that is not the scale's (device emulation counts CSS pixels) is not taken.
    expect(panePixels(pane, 2, { width: 1024, height: 700 })).toEqual({ width: 2047, height: 1400 });
  });

  it('never exceed what the pane’s CSS box holds: a frame even a fraction of a pixel larger would be scaled down, blurred', () => {
    // 599 CSS pixels at 1.5 are 898.5 device pixels: 898 of them, whoever rounds up.
    expect(panePixels({ width: 1000, height: 599 }, 1.5, null)).toEqual({ width: 1500, height: 898 });
    expect(panePixels({ width: 1000, height: 599 }, 1.5, { width: 1500, height: 899 })).toEqual({ width: 1500, height: 898 });
    const natural = drawnSize({ width: 1500, height: 898 }, { width: 1000, height: 599 }, 1.5);
    expect(natural.height).toBeLessThanOrEqual(599);
  });
});

describe('drawnSize', () => {
  it('draws a frame of the pane’s device pixels at the pane’s CSS size: one pixel on one device pixel', () => {
    expect(drawnSize({ width: 2048, height: 1400 }, { width: 1024, height: 700 }, 2)).toEqual({ width: 1024, height: 700 });
    expect(drawnSize({ width: 1535, height: 1050 }, { width: 1023.5, height: 700 }, 1.5)).toEqual({ width: 1535 / 1.5, height: 700 });
  });

  it('draws a frame unscaled when it fits, and scales only one that is too large, keeping its shape', () => {
    expect(drawnSize({ width: 1279, height: 731 }, { width: 1279.5, height: 731.8 }, 1)).toEqual({ width: 1279, height: 731 });
    expect(drawnSize({ width: 1024, height: 700 }, { width: 1600, height: 900 }, 1)).toEqual({ width: 1024, height: 700 });
    expect(drawnSize({ width: 1024, height: 700 }, { width: 1600, height: 900 }, 2)).toEqual({ width: 512, height: 350 });
    expect(drawnSize({ width: 1600, height: 1000 }, { width: 800, height: 600 }, 1)).toEqual({ width: 800, height: 500 });
    expect(drawnSize({ width: 3200, height: 2000 }, { width: 800, height: 600 }, 2)).toEqual({ width: 800, height: 500 });
  });
});

describe('DesktopFit', () => {
  let pane: Size;
  let asked: Size[];
  let fit: DesktopFit;
  beforeEach(() => {
    vi.useFakeTimers();
    pane = { width: 1024, height: 768 };
    asked = [];
    fit = new DesktopFit({
      measure: () => pane,
      request: (layout) => {
        asked.push({ width: layout.width, height: layout.height });
        return true;
      },
    });
  });
  afterEach(() => {
    fit.dispose();
    vi.useRealTimers();
  });

  it('asks for the pane’s size as soon as a viewer connects to a display of another size', () => {
    fit.viewerConnected({ width: 1024, height: 700 });
    expect(asked).toEqual([{ width: 1024, height: 768 }]);
  });

  it('asks nothing when the display already has the pane’s size (a resume on the same window)', () => {
    fit.viewerConnected({ width: 1024, height: 768 });
    expect(asked).toEqual([]);
  });

  it('asks once the pane has held still, for its last size only', () => {
    fit.viewerConnected({ width: 1024, height: 768 });
    for (const width of [1000, 950, 900, 850, 800]) {
      pane = { width, height: 600 };
      fit.paneChanged();
      vi.advanceTimersByTime(SETTLE_MS / 3);
    }
    expect(asked).toEqual([]);
    vi.advanceTimersByTime(SETTLE_MS);
    expect(asked).toEqual([{ width: 800, height: 600 }]);
    // The same size again (a tab shown again) asks nothing more.
    fit.paneChanged();
    vi.advanceTimersByTime(SETTLE_MS);
    expect(asked).toHaveLength(1);
  });

  it('asks nothing between a lost viewer and the next one, which asks for the pane as it is then', () => {
    fit.viewerConnected({ width: 1024, height: 768 });
    fit.viewerLost();
    pane = { width: 1600, height: 900 };
    fit.paneChanged();
    vi.advanceTimersByTime(SETTLE_MS);
    expect(asked).toEqual([]);
    fit.viewerConnected({ width: 1024, height: 768 });
    expect(asked).toEqual([{ width: 1600, height: 900 }]);
  });

  it('asks again later when a request could not be sent', () => {
    let accept = false;
    fit.dispose();
    fit = new DesktopFit({
      measure: () => pane,
      request: (layout) => {
        if (accept) asked.push({ width: layout.width, height: layout.height });
        return accept;
      },
    });
    fit.viewerConnected({ width: 800, height: 600 });
    accept = true;
    fit.paneChanged();
    vi.advanceTimersByTime(SETTLE_MS);
    expect(asked).toEqual([{ width: 1024, height: 768 }]);
  });

  it('asks for a session’s layout across monitors, and again when only its screens change', () => {
    const layouts: DesktopLayout[] = [];
    let measured: DesktopLayout = { width: 1800, height: 700, screens: [{ id: 1, x: 0, y: 0, width: 1000, height: 700 }, { id: 2, x: 1000, y: 0, width: 800, height: 600 }] };
    fit.dispose();
    fit = new DesktopFit({
      measure: () => measured,
      request: (layout) => layouts.push(layout) > 0,
    });
    fit.viewerConnected({ width: 1800, height: 700 });
    expect(layouts).toEqual([measured]); // the same size, one screen: asked for the two
    measured = { ...measured, screens: [measured.screens[0]!, { id: 2, x: 1000, y: 0, width: 800, height: 700 }] };
    fit.paneChanged();
    vi.advanceTimersByTime(SETTLE_MS);
    expect(layouts).toHaveLength(2);
    fit.paneChanged();
    vi.advanceTimersByTime(SETTLE_MS);
    expect(layouts).toHaveLength(2);
  });
});
