import { describe, expect, it } from 'vitest';
import { spanLayout, type ScreenPart } from './screen-layout.js';

const part = (left: number, top: number, width: number, height: number, pixels = { width, height }): ScreenPart => ({ placement: { left, top, width, height }, ...pixels });

describe('spanLayout', () => {
  it('puts two monitors side by side as the OS has them, each its own screen of the desktop', () => {
    expect(spanLayout([part(0, 0, 1000, 700), part(1000, 0, 800, 600)])).toEqual({
      width: 1800,
      height: 700,
      screens: [
        { id: 1, x: 0, y: 0, width: 1000, height: 700 },
        { id: 2, x: 1000, y: 0, width: 800, height: 600 },
      ],
    });
  });

  it('keeps the order of the OS’s layout whatever order the windows come in: the tab on the right-hand monitor is the right-hand screen', () => {
    const layout = spanLayout([part(1920, 0, 1000, 700), part(0, 0, 1920, 1080)]);
    expect(layout).toEqual(expect.objectContaining({ width: 2920, height: 1080 }));
    expect(typeof layout !== 'string' && layout.screens.map((s) => s.x)).toEqual([1920, 0]);
  });

  it('places monitors of another pixel ratio by pixels, not by the OS’s units: a 2× monitor right of a 1× one starts where the first ends', () => {
    // The OS says 1000 units wide for each; the 2× one has 2000 pixels (Sharp).
    const layout = spanLayout([part(0, 0, 1000, 700), part(1000, 0, 1000, 700, { width: 2000, height: 1400 })]);
    expect(layout).toEqual({ width: 3000, height: 1400, screens: [{ id: 1, x: 0, y: 0, width: 1000, height: 700 }, { id: 2, x: 1000, y: 0, width: 2000, height: 1400 }] });
  });

  it('stacks monitors one above the other, and a grid of four without overlaps', () => {
    expect(spanLayout([part(0, 0, 800, 600), part(0, 600, 800, 600)])).toEqual(expect.objectContaining({ width: 800, height: 1200 }));
    const grid = spanLayout([part(0, 0, 800, 600), part(800, 0, 800, 600), part(0, 600, 800, 600), part(800, 600, 800, 600)]);
    expect(typeof grid !== 'string' && grid.screens.map((s) => [s.x, s.y])).toEqual([[0, 0], [800, 0], [0, 600], [800, 600]]);
  });

  it('says why when there is no desktop to make', () => {
    expect(spanLayout([])).toMatch(/no screen/);
    expect(spanLayout([part(0, 0, 800, 600), part(800, 0, 0, 600)])).toMatch(/no room/);
    expect(spanLayout([part(0, 0, 5000, 600), part(5000, 0, 5000, 600)])).toMatch(/10000×600 pixels, more than a display can have \(8192 each way\)/);
  });
});
