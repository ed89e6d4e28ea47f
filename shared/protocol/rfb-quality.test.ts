// The quality settings the node puts in a viewer's SetEncodings: noVNC's own replaced,
// everything else kept in order; lossless leaves JPEG out altogether.
import { describe, expect, it } from 'vitest';
import { setEncodings } from './rfb.js';
import { encodingsOf, setEncodingsWithQuality, withQuality } from './rfb-quality.js';

// noVNC 1.4's list: CopyRect, Tight, TightPNG, ZRLE, JPEG, Hextile, RRE, Zlib, Raw, quality 6, compression 2, then pseudo-encodings.
const NOVNC = [1, 7, -260, 16, 21, 5, 2, 6, 0, -26, -254, -223, -224, -258, -261, -308, -309, -312, -313, -307];

describe('withQuality', () => {
  it('replaces the viewer’s quality and compression with the chosen ones, keeping the rest in order', () => {
    const rest = NOVNC.filter((e) => e !== -26 && e !== -254);
    expect(withQuality(NOVNC, { jpeg: 45, subsampling: '420', compress: 7 })).toEqual([...rest, -249, -28, -467, -767]);
    expect(withQuality(withQuality(NOVNC, { jpeg: 90, subsampling: 'none', compress: 1 }), { jpeg: 45, subsampling: '420', compress: 7 })).toEqual([...rest, -249, -28, -467, -767]);
  });

  it('asks for no JPEG at all when lossless', () => {
    expect(withQuality(NOVNC, { jpeg: null, subsampling: 'none', compress: 1 })).toEqual([...NOVNC.filter((e) => e !== -26 && e !== -254), -255]);
  });

  it('round-trips through a SetEncodings message', () => {
    const message = setEncodingsWithQuality(setEncodings(NOVNC), { jpeg: 100, subsampling: '422', compress: 0 });
    expect(encodingsOf(message).slice(-4)).toEqual([-256, -23, -412, -766]);
  });
});
