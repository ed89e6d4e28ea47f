// What makes two screens "the same" to the replica checks: their pixels' colours.
import { describe, expect, it } from 'vitest';
import { framebufferHash } from './rfb-viewer.js';

describe('framebufferHash', () => {
  it('ignores the padding byte of 32-bit pixels, and sees any change of colour or size', () => {
    const a = new Uint8Array(4 * 6).map((_, i) => (i * 37) % 256);
    const padded = a.slice();
    for (let i = 3; i < padded.length; i += 4) padded[i] = 255 - padded[i]!;
    // Xvnc leaves what its drawing wrote in the padding byte (xeyes on two replicas): not what a person sees.
    expect(framebufferHash(3, 2, padded)).toBe(framebufferHash(3, 2, a));
    const recoloured = a.slice();
    recoloured[5] = (recoloured[5]! + 1) % 256;
    expect(framebufferHash(3, 2, recoloured)).not.toBe(framebufferHash(3, 2, a));
    expect(framebufferHash(2, 3, a)).not.toBe(framebufferHash(3, 2, a));
    // The framebuffer itself is left as it was.
    expect([...padded.slice(0, 4)]).not.toEqual([...a.slice(0, 4)]);
  });
});
