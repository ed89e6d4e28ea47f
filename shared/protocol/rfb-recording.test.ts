import { describe, expect, it } from 'vitest';
import { keyEvent, keysymsFor, pointerEvent } from './rfb.js';
import { encodeHeaderLine, encodeRecord, keysymText, parseRfbRecording, typedText, RFB_RECORDING_FORMAT, type RfbRecordingHeader } from './rfb-recording.js';

const header: RfbRecordingHeader = { format: RFB_RECORDING_FORMAT, version: 1, session: 's1', owner: 'ann', app: 'xedit', appName: 'Editor', node: 'node-1', startedAt: 1_700_000_000_000 };
const join = (parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};
const bytes = (s: string) => new TextEncoder().encode(s);

describe('the RFB recording format', () => {
  it('reads back what was written: the header, every record, its kind, time and bytes', () => {
    const file = join([encodeHeaderLine(header), encodeRecord('server', 0, bytes('RFB 003.008\n')), encodeRecord('input', 120, keyEvent(true, 0x61)), encodeRecord('marker', 120, bytes('input: bob')), encodeRecord('server', 250, new Uint8Array(70_000).fill(7))]);
    const read = parseRfbRecording(file);
    expect(read.header).toEqual(header);
    expect(read.truncated).toBe(false);
    expect(read.durationMs).toBe(250);
    expect(read.records.map((r) => [r.kind, r.t, r.bytes.length])).toEqual([['server', 0, 12], ['input', 120, 8], ['marker', 120, 10], ['server', 250, 70_000]]);
    expect(new TextDecoder().decode(read.records[0]!.bytes)).toBe('RFB 003.008\n');
    expect([...read.records[1]!.bytes]).toEqual([...keyEvent(true, 0x61)]);
  });

  it('keeps the whole records of a file cut off mid-record (its node died while writing), and says it was cut', () => {
    const whole = join([encodeHeaderLine(header), encodeRecord('server', 5, bytes('abc')), encodeRecord('server', 9, bytes('defgh'))]);
    const read = parseRfbRecording(whole.subarray(0, whole.length - 2));
    expect(read.truncated).toBe(true);
    expect(read.records).toHaveLength(1);
    expect(read.durationMs).toBe(5);
  });

  it('refuses, in words, what is not a recording: no header, another format, an unknown record, times going back', () => {
    expect(() => parseRfbRecording(bytes('no newline here'))).toThrow(/no header line/);
    expect(() => parseRfbRecording(bytes('{"version":2,"width":80}\n'))).toThrow(/version this client reads/);
    const unknown = join([encodeHeaderLine(header), new Uint8Array([9, 0, 0, 0, 0, 0, 0, 0, 0])]);
    expect(() => parseRfbRecording(unknown)).toThrow(/unknown record \(kind 9\)/);
    const back = join([encodeHeaderLine(header), encodeRecord('server', 50, bytes('a')), encodeRecord('server', 10, bytes('b'))]);
    expect(() => parseRfbRecording(back)).toThrow(/times go back/);
  });

  it('turns key presses back into the text they typed, with each character’s time; releases, pointer and keys that type nothing are passed over', () => {
    expect(keysymsFor('Grüße €\n').map(keysymText).join('')).toBe('Grüße €\n');
    expect(keysymText(0xffe1)).toBeNull(); // Shift
    const records = [
      ...keysymsFor('hi').flatMap((k, i) => [{ kind: 'input' as const, t: 100 * i, bytes: keyEvent(true, k) }, { kind: 'input' as const, t: 100 * i + 50, bytes: keyEvent(false, k) }]),
      { kind: 'input' as const, t: 300, bytes: pointerEvent(1, 10, 10) },
      { kind: 'input' as const, t: 400, bytes: keyEvent(true, 0xffe1) },
      { kind: 'input' as const, t: 500, bytes: keyEvent(true, 0x01000000 + 0x20ac) },
      // QEMU's extended key event (noVNC's, where the display offers it): press of "!", then its release.
      { kind: 'input' as const, t: 600, bytes: new Uint8Array([255, 0, 0, 1, 0, 0, 0, 0x21, 0, 0, 0, 10]) },
      { kind: 'input' as const, t: 650, bytes: new Uint8Array([255, 0, 0, 0, 0, 0, 0, 0x21, 0, 0, 0, 10]) },
    ];
    expect(typedText(records)).toEqual({ text: 'hi€!', times: [0, 100, 500, 600] });
  });
});
