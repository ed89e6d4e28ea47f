// Binary frames: terminal bytes and their acknowledgements. Kept out of JSON so the
// keystroke path is one small frame each way. All integers are big-endian.
//
//   client → host  INPUT       0x01 | seq u32 | bytes       (seq: 1, 2, 3… per session)
//   client → host  OUTPUT_ACK  0x02 | offset u64             (output bytes consumed)
//   client → host  RFB         0x03 | bytes                   (a GUI viewer's own RFB stream)
//   client → host  MICROPHONE  0x04 | one Opus packet         (20 ms, 48 kHz mono; only once the node said session.microphone on)
//   host → client  OUTPUT      0x81 | inputAck u32 | offset u64 | bytes
//   host → client  AUDIO       0x82 | at u32 | one Opus packet (20 ms, 48 kHz stereo; at: ms on the sound's clock)
//
// OUTPUT piggybacks the highest input seq applied, so echo needs no extra frame.
// `offset` is the position of the first byte in the session's output stream.
// In a GUI (rfb) session, OUTPUT carries the display's RFB stream to this viewer, and
// each INPUT carries one RFB input message (rfb.ts says which messages are input).

export const FrameType = { input: 0x01, outputAck: 0x02, rfb: 0x03, microphone: 0x04, output: 0x81, audio: 0x82 } as const;
/** The largest Opus packet there is (RFC 6716, 3.4): a MICROPHONE frame carrying more is malformed. */
export const OPUS_MAX_PACKET = 1275;
export const INPUT_HEADER = 5;
export const OUTPUT_HEADER = 13;
const U32 = 0x1_0000_0000;

export type Frame =
  | { type: 'input'; seq: number; data: Uint8Array }
  | { type: 'outputAck'; offset: number }
  | { type: 'rfb'; data: Uint8Array }
  | { type: 'microphone'; data: Uint8Array }
  | { type: 'output'; inputAck: number; offset: number; data: Uint8Array }
  | { type: 'audio'; at: number; data: Uint8Array };

export function encodeInput(seq: number, data: Uint8Array): Uint8Array {
  const frame = new Uint8Array(INPUT_HEADER + data.length);
  const view = new DataView(frame.buffer);
  frame[0] = FrameType.input;
  view.setUint32(1, seq);
  frame.set(data, INPUT_HEADER);
  return frame;
}

/** An AUDIO frame: one Opus packet, sent only to a client that asked for sound (session.sound). */
export function encodeAudio(at: number, data: Uint8Array): Uint8Array {
  const frame = new Uint8Array(5 + data.length);
  frame[0] = FrameType.audio;
  new DataView(frame.buffer).setUint32(1, at >>> 0);
  frame.set(data, 5);
  return frame;
}

/** A MICROPHONE frame: one Opus packet of the person's microphone. */
export function encodeMicrophone(data: Uint8Array): Uint8Array {
  const frame = new Uint8Array(1 + data.length);
  frame[0] = FrameType.microphone;
  frame.set(data, 1);
  return frame;
}

export function encodeOutputAck(offset: number): Uint8Array {
  const frame = new Uint8Array(9);
  frame[0] = FrameType.outputAck;
  writeU64(new DataView(frame.buffer), 1, offset);
  return frame;
}

export function encodeRfb(data: Uint8Array): Uint8Array {
  const frame = new Uint8Array(1 + data.length);
  frame[0] = FrameType.rfb;
  frame.set(data, 1);
  return frame;
}

/** Writes the OUTPUT header into the first OUTPUT_HEADER bytes of `frame`. */
export function writeOutputHeader(frame: Uint8Array, inputAck: number, offset: number): void {
  const view = new DataView(frame.buffer, frame.byteOffset, OUTPUT_HEADER);
  frame[0] = FrameType.output;
  view.setUint32(1, inputAck);
  writeU64(view, 5, offset);
}

export function encodeOutput(inputAck: number, offset: number, data: Uint8Array): Uint8Array {
  const frame = new Uint8Array(OUTPUT_HEADER + data.length);
  writeOutputHeader(frame, inputAck, offset);
  frame.set(data, OUTPUT_HEADER);
  return frame;
}

/** Decodes a binary frame; returns a reason string for anything malformed. */
export function decodeFrame(frame: Uint8Array): Frame | string {
  if (frame.length === 0) return 'empty binary frame';
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  switch (frame[0]) {
    case FrameType.input:
      if (frame.length < INPUT_HEADER) return 'input frame shorter than its header';
      return { type: 'input', seq: view.getUint32(1), data: frame.subarray(INPUT_HEADER) };
    case FrameType.outputAck:
      if (frame.length !== 9) return 'output-ack frame must be 9 bytes';
      return { type: 'outputAck', offset: readU64(view, 1) };
    case FrameType.rfb:
      return { type: 'rfb', data: frame.subarray(1) };
    case FrameType.microphone:
      if (frame.length < 2 || frame.length > 1 + OPUS_MAX_PACKET) return `a microphone frame carries one Opus packet of 1 to ${OPUS_MAX_PACKET} bytes, not ${frame.length - 1}`;
      return { type: 'microphone', data: frame.subarray(1) };
    case FrameType.output:
      if (frame.length < OUTPUT_HEADER) return 'output frame shorter than its header';
      return {
        type: 'output',
        inputAck: view.getUint32(1),
        offset: readU64(view, 5),
        data: frame.subarray(OUTPUT_HEADER),
      };
    case FrameType.audio:
      if (frame.length < 5) return 'audio frame shorter than its header';
      return { type: 'audio', at: view.getUint32(1), data: frame.subarray(5) };
    default:
      return `unknown binary frame type 0x${(frame[0] ?? 0).toString(16)}`;
  }
}

// Offsets stay below 2^53 (8 PiB of output), so a JS number holds them exactly.
function writeU64(view: DataView, at: number, value: number): void {
  view.setUint32(at, Math.floor(value / U32));
  view.setUint32(at + 4, value % U32);
}

function readU64(view: DataView, at: number): number {
  return view.getUint32(at) * U32 + view.getUint32(at + 4);
}
