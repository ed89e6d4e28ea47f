// The file a graphical session's recording is (docs/protocol.md#recordings): one JSON
// header line, then binary records, each `kind u8 · t u32 · length u32 · bytes`
// (big-endian, as RFB is; t in ms since the session started, never going back):
//
//   kind 1  bytes the display sent the recorder's connection: an RFB server stream from
//           its first byte (the version string), as Xvnc encoded it, for noVNC
//   kind 2  one input message the session's log applied (KeyEvent, PointerEvent,
//           ClientCutText, SetDesktopSize…), as the display got it
//   kind 3  a marker, UTF-8 text: "input: NAME" when someone typing through a share link
//           starts (or the owner again), "end" when the session ended (a still screen
//           sends nothing: this gives the recording its length)
//
// Why the RFB stream and not pictures: Xvnc has encoded the screen already (ZRLE, C
// code, only what changed); writing those bytes costs the node a copy, and a player
// that feeds them to noVNC shows exactly what a viewer saw, pixel for pixel. Frames
// would be decoded here and encoded again (a video encoder per replica) for a worse copy.
//
// Pure: the node writes with it, the web client's player and the key search read with it.
import { z } from 'zod';

export const RFB_RECORDING_FORMAT = 'holdfast-rfb';
export const RecordKind = { server: 1, input: 2, marker: 3 } as const;
export type RecordKindName = keyof typeof RecordKind;
/** kind u8, t u32, length u32. */
export const RECORD_HEADER_BYTES = 9;
/** A record longer than this is not believed (the writer never makes one). */
export const MAX_RECORD_BYTES = 64 * 1024 * 1024;

export const RfbRecordingHeaderSchema = z.object({
  format: z.literal(RFB_RECORDING_FORMAT),
  version: z.literal(1),
  session: z.string(),
  owner: z.string(),
  app: z.string(),
  appName: z.string(),
  node: z.string(),
  /** ms since the epoch: t 0 of every record. */
  startedAt: z.number(),
}).passthrough();
export type RfbRecordingHeader = z.infer<typeof RfbRecordingHeaderSchema>;

export interface RfbRecord {
  kind: RecordKindName;
  /** ms since the session started. */
  t: number;
  bytes: Uint8Array;
}

export interface RfbRecordingFile {
  header: RfbRecordingHeader;
  records: RfbRecord[];
  /** The file ends inside a record (its node died while writing it): the records before it are here. */
  truncated: boolean;
  /** The last record's time (ms). */
  durationMs: number;
}

const KIND_NAMES: Record<number, RecordKindName> = { 1: 'server', 2: 'input', 3: 'marker' };

/** The header line, newline included. */
export function encodeHeaderLine(header: RfbRecordingHeader): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(header) + '\n');
}

/** One record. */
export function encodeRecord(kind: RecordKindName, tMs: number, bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(RECORD_HEADER_BYTES + bytes.length);
  const view = new DataView(out.buffer);
  view.setUint8(0, RecordKind[kind]);
  view.setUint32(1, Math.max(0, Math.min(0xffffffff, Math.round(tMs))));
  view.setUint32(5, bytes.length);
  out.set(bytes, RECORD_HEADER_BYTES);
  return out;
}

/** Reads a whole file; throws with words if it is not one. A cut-off last record is left out (`truncated`). */
export function parseRfbRecording(file: Uint8Array): RfbRecordingFile {
  const newline = file.indexOf(0x0a);
  if (newline < 0 || newline > 64 * 1024) throw new Error('This is not a graphical session recording: it has no header line.');
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(file.subarray(0, newline)));
  } catch {
    throw new Error('This is not a graphical session recording: its header is not JSON.');
  }
  const header = RfbRecordingHeaderSchema.safeParse(json);
  if (!header.success) throw new Error('This is not a graphical session recording of a version this client reads.');
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const records: RfbRecord[] = [];
  let at = newline + 1;
  let last = 0;
  while (at + RECORD_HEADER_BYTES <= file.length) {
    const kind = KIND_NAMES[view.getUint8(at)];
    const t = view.getUint32(at + 1);
    const length = view.getUint32(at + 5);
    if (!kind) throw new Error(`The recording is damaged: an unknown record (kind ${view.getUint8(at)}) at byte ${at}.`);
    if (length > MAX_RECORD_BYTES) throw new Error(`The recording is damaged: a record of ${length} bytes at byte ${at}.`);
    if (at + RECORD_HEADER_BYTES + length > file.length) break;
    if (t < last) throw new Error(`The recording is damaged: its times go back at byte ${at}.`);
    last = t;
    records.push({ kind, t, bytes: file.subarray(at + RECORD_HEADER_BYTES, at + RECORD_HEADER_BYTES + length) });
    at += RECORD_HEADER_BYTES + length;
  }
  return { header: header.data, records, truncated: at !== file.length, durationMs: last };
}

const KEYSYM_RETURN = 0xff0d;
const KEYSYM_KP_ENTER = 0xff8d;
const KEYSYM_TAB = 0xff09;
const KEYSYM_UNICODE = 0x01000000;

/** The text a key press types, as far as its keysym alone says (keysymFor's inverse); null for keys that type nothing (Shift, arrows…). */
export function keysymText(keysym: number): string | null {
  if (keysym === KEYSYM_RETURN || keysym === KEYSYM_KP_ENTER) return '\n';
  if (keysym === KEYSYM_TAB) return '\t';
  if ((keysym >= 0x20 && keysym <= 0x7e) || (keysym >= 0xa0 && keysym <= 0xff)) return String.fromCharCode(keysym);
  if (keysym > KEYSYM_UNICODE && keysym <= KEYSYM_UNICODE + 0x10ffff) return String.fromCodePoint(keysym - KEYSYM_UNICODE);
  return null;
}

/** What was typed (key presses that type text, in order) and the time (ms) of each UTF-16 unit of it: for key search. */
export function typedText(records: readonly RfbRecord[]): { text: string; times: number[] } {
  let text = '';
  const times: number[] = [];
  for (const record of records) {
    const keysym = record.kind === 'input' ? pressedKeysym(record.bytes) : null;
    if (keysym === null) continue;
    const typed = keysymText(keysym);
    if (typed === null) continue;
    text += typed;
    for (let i = 0; i < typed.length; i++) times.push(record.t);
  }
  return { text, times };
}

/**
 * The keysym a key press gives, or null (a release, or not a key): a KeyEvent (type 4,
 * down-flag, 2 padding, keysym u32) or QEMU's extended key event, which noVNC sends
 * when the display offers it (255, subtype 0, down-flag u16, keysym u32, keycode u32).
 */
function pressedKeysym(b: Uint8Array): number | null {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b.length === 8 && b[0] === 4) return b[1] === 0 ? null : view.getUint32(4);
  if (b.length === 12 && b[0] === 255 && b[1] === 0) return view.getUint16(2) === 0 ? null : view.getUint32(4);
  return null;
}
