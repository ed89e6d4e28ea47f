// A viewer's SetEncodings with the image quality Holdfast chose for its link (the
// node's link governor, broker/session/link-governor.ts): the JPEG quality and zlib
// compression pseudo-encodings the viewer asked for — noVNC's defaults are quality 6 and
// compression 2 — are replaced by the governor's; its other encodings are kept as sent.
// TigerVNC's own pseudo-encodings are used: quality levels 0–9 and compression levels 0–9
// (the Tight ones), and its fine-grained JPEG quality (0–100) and chroma subsampling,
// which say more than a level does. No quality at all means lossless (Tight without JPEG).
import { setEncodings } from './rfb.js';

const QUALITY_0 = -32;
const COMPRESS_0 = -256;
const FINE_QUALITY_0 = -512;
const SUBSAMPLING_0 = -768;

/** Chroma subsampling of TigerVNC's JPEG: none, 4:2:0 ("4X"), 4:2:2 ("2X"). */
export type Subsampling = 'none' | '420' | '422';
const SUBSAMPLING_CODE: Record<Subsampling, number> = { none: 0, '420': 1, '422': 2 };

export interface ImageQuality {
  /** JPEG quality 0–100 for photo-like regions; null: lossless. */
  jpeg: number | null;
  subsampling: Subsampling;
  /** zlib effort 0–9 for the rest. */
  compress: number;
}

/** Whether an encoding is one of the quality or compression pseudo-encodings the governor sets. */
function isQualitySetting(encoding: number): boolean {
  return (
    (encoding >= QUALITY_0 && encoding <= QUALITY_0 + 9) ||
    (encoding >= COMPRESS_0 && encoding <= COMPRESS_0 + 9) ||
    (encoding >= FINE_QUALITY_0 && encoding <= FINE_QUALITY_0 + 100) ||
    (encoding >= SUBSAMPLING_0 && encoding <= SUBSAMPLING_0 + 5)
  );
}

/** The encodings a SetEncodings message lists. */
export function encodingsOf(message: Uint8Array): number[] {
  const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
  const encodings: number[] = [];
  for (let at = 4; at + 4 <= message.length; at += 4) encodings.push(view.getInt32(at));
  return encodings;
}

/** `encodings` with the viewer's quality settings replaced by `quality`'s. */
export function withQuality(encodings: readonly number[], quality: ImageQuality): number[] {
  const kept = encodings.filter((encoding) => !isQualitySetting(encoding));
  const settings = [COMPRESS_0 + clamp(quality.compress, 0, 9)];
  if (quality.jpeg !== null) {
    const jpeg = clamp(quality.jpeg, 0, 100);
    // The level too, for servers without the fine-grained settings (it is what turns JPEG on in Tight).
    settings.push(QUALITY_0 + Math.min(9, Math.floor(jpeg / 10)), FINE_QUALITY_0 + jpeg, SUBSAMPLING_0 + SUBSAMPLING_CODE[quality.subsampling]);
  }
  return [...kept, ...settings];
}

/** A SetEncodings message: `message`'s encodings with `quality`. */
export function setEncodingsWithQuality(message: Uint8Array, quality: ImageQuality): Uint8Array {
  return setEncodings(withQuality(encodingsOf(message), quality));
}

function clamp(value: number, low: number, high: number): number {
  return Math.max(low, Math.min(high, Math.round(value)));
}
