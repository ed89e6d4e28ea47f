// What the bench's RFB viewers announce and send beyond shared/protocol/rfb.ts: the
// encodings noVNC asks for (with fences and continuous updates in continuous mode),
// EnableContinuousUpdates and ClientFence.
export const ENC = {
  raw: 0,
  copyRect: 1,
  hextile: 5,
  tight: 7,
  zrle: 16,
  desktopSize: -223,
  lastRect: -224,
  fence: -312,
  continuousUpdates: -313,
} as const;
/** noVNC's preference order (CopyRect, Tight, …, Raw), ZRLE in where noVNC 1.7 has it; quality 6, compression 2 (noVNC's defaults). */
export const QUALITY = 6;
export const COMPRESSION = 2;
export const ENCODINGS = [ENC.copyRect, ENC.tight, ENC.zrle, ENC.hextile, ENC.raw, -32 + QUALITY, -256 + COMPRESSION, ENC.desktopSize, ENC.lastRect];
/**
 * What noVNC really announces to TigerVNC besides: fences and continuous updates. On the
 * first EndOfContinuousUpdates noVNC turns them on and stops asking for updates; Xvnc
 * then pushes them at its own pace, held back by its congestion control (which times
 * the round trip of its fences). The continuous-mode viewers announce these too.
 */
export const ENCODINGS_CONTINUOUS = [...ENCODINGS, ENC.fence, ENC.continuousUpdates];
/** Fence flags (RFB community spec): the three a client may echo back, and "this is a request". */
export const FENCE_ECHOED_FLAGS = 0b111;
export const FENCE_REQUEST = 0x8000_0000;
export const MAX_FENCE_PAYLOAD = 64;
export const ENCODING_NAMES: Record<number, string> = { 0: 'Raw', 1: 'CopyRect', 5: 'Hextile', 7: 'Tight', 16: 'ZRLE', [-223]: 'DesktopSize', [-224]: 'LastRect' };

/** EnableContinuousUpdates (client message 150): on/off and the region. */
export function enableContinuousUpdates(enable: boolean, x: number, y: number, width: number, height: number): Uint8Array {
  const b = Buffer.alloc(10);
  b[0] = 150;
  b[1] = enable ? 1 : 0;
  b.writeUInt16BE(x, 2);
  b.writeUInt16BE(y, 4);
  b.writeUInt16BE(width, 6);
  b.writeUInt16BE(height, 8);
  return b;
}

/** ClientFence (client message 248): flags and a payload of up to 64 bytes. */
export function clientFence(flags: number, payload: Uint8Array): Uint8Array {
  const b = Buffer.alloc(9 + payload.length);
  b[0] = 248;
  b.writeUInt32BE(flags >>> 0, 4);
  b[8] = payload.length;
  b.set(payload, 9);
  return b;
}
