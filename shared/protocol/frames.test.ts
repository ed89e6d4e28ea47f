import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeAudio, encodeInput, encodeOutput, encodeOutputAck } from './frames.js';

const bytes = (s: string) => new TextEncoder().encode(s);

describe('binary frames', () => {
  it('round-trips input, output and acks, including offsets past 2^32', () => {
    expect(decodeFrame(encodeInput(7, bytes('ls\r')))).toEqual({ type: 'input', seq: 7, data: bytes('ls\r') });
    expect(decodeFrame(encodeOutputAck(2 ** 40 + 5))).toEqual({ type: 'outputAck', offset: 2 ** 40 + 5 });
    const out = decodeFrame(encodeOutput(3, 2 ** 33 + 1, bytes('42\r\n')));
    expect(out).toEqual({ type: 'output', inputAck: 3, offset: 2 ** 33 + 1, data: bytes('42\r\n') });
  });

  it('round-trips an AUDIO frame (an Opus packet and its time), and refuses one cut short', () => {
    expect(decodeFrame(encodeAudio(123_456, new Uint8Array([0xfc, 0xff, 0xfe])))).toEqual({ type: 'audio', at: 123_456, data: new Uint8Array([0xfc, 0xff, 0xfe]) });
    expect(decodeFrame(new Uint8Array([0x82, 0, 0]))).toBe('audio frame shorter than its header');
  });

  it('decodes frames that sit inside a larger buffer', () => {
    const frame = encodeInput(1, bytes('x'));
    const padded = new Uint8Array(frame.length + 10);
    padded.set(frame, 10);
    expect(decodeFrame(padded.subarray(10))).toEqual({ type: 'input', seq: 1, data: bytes('x') });
  });

  it('names what is wrong with malformed frames', () => {
    expect(decodeFrame(new Uint8Array())).toBe('empty binary frame');
    expect(decodeFrame(new Uint8Array([0x01, 0, 0]))).toMatch(/shorter than its header/);
    expect(decodeFrame(new Uint8Array([0x02, 1, 2]))).toMatch(/must be 9 bytes/);
    expect(decodeFrame(new Uint8Array([0x7f]))).toBe('unknown binary frame type 0x7f');
  });
});
