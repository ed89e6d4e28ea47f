// Thumbnails of a graphical screen: the framebuffer (BGRX) scaled down by a box filter
// — each thumbnail pixel the mean of the screen pixels it covers — to fit in
// THUMBNAIL_MAX_PX, and encoded as PNG.
import { THUMBNAIL_MAX_PX, type Thumbnail } from '../../shared/protocol/index.js';
import { encodePng } from './png.js';

/** The size a width × height screen is shown at: the same shape, at most `max` each way, never larger than it is. */
export function thumbnailSize(width: number, height: number, max = THUMBNAIL_MAX_PX): { width: number; height: number } {
  const scale = Math.min(1, max / width, max / height);
  return { width: Math.max(1, Math.min(max, Math.round(width * scale))), height: Math.max(1, Math.min(max, Math.round(height * scale))) };
}

/** `bgrx` (width × height × 4 bytes, row-major) as RGB pixels of `to`'s size, each the mean of the pixels it covers. */
export function downscaleBgrx(bgrx: Uint8Array, width: number, height: number, to: { width: number; height: number }): Uint8Array {
  if (bgrx.length < width * height * 4) throw new Error(`${width}×${height} BGRX pixels are ${width * height * 4} bytes, not ${bgrx.length}`);
  const w = to.width;
  const h = to.height;
  // Source column x falls in thumbnail column column[x]; the columns and rows partition the screen.
  const column = new Uint32Array(width);
  const across = new Uint32Array(w);
  for (let x = 0; x < width; x++) {
    column[x] = Math.floor((x * w) / width);
    across[column[x]!]! += 1;
  }
  const rgb = new Uint8Array(w * h * 3);
  const sums = new Float64Array(w * 3);
  let y = 0;
  for (let ty = 0; ty < h; ty++) {
    sums.fill(0);
    let down = 0;
    for (; y < height && Math.floor((y * h) / height) === ty; y++, down++) {
      let from = y * width * 4;
      for (let x = 0; x < width; x++, from += 4) {
        const to3 = column[x]! * 3;
        sums[to3] = sums[to3]! + bgrx[from + 2]!;
        sums[to3 + 1] = sums[to3 + 1]! + bgrx[from + 1]!;
        sums[to3 + 2] = sums[to3 + 2]! + bgrx[from]!;
      }
    }
    for (let tx = 0; tx < w; tx++) {
      const n = across[tx]! * down || 1;
      for (let c = 0; c < 3; c++) rgb[(ty * w + tx) * 3 + c] = Math.round(sums[tx * 3 + c]! / n);
    }
  }
  return rgb;
}

/** A graphical screen's thumbnail. */
export function imageThumbnail(bgrx: Uint8Array, width: number, height: number): Thumbnail {
  const size = thumbnailSize(width, height);
  const png = encodePng(size.width, size.height, downscaleBgrx(bgrx, width, height, size));
  return { kind: 'image', width: size.width, height: size.height, png: png.toString('base64') };
}

/**
 * `make`, shared: a call within `ms` of the last one made gets its result (or joins it
 * while it is being made). A page polling, or two devices of one person, then cost the
 * display one screen read.
 */
export function reusedFor<T>(ms: number, make: () => Promise<T>): () => Promise<T> {
  let last: { at: number; result: Promise<T> } | null = null;
  return () => {
    const now = performance.now();
    if (last && now - last.at < ms) return last.result;
    const result = make();
    last = { at: now, result };
    // A failure is not kept: the next call tries again.
    result.catch(() => {
      if (last?.result === result) last = null;
    });
    return result;
  };
}
