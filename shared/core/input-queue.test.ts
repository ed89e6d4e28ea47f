import { describe, expect, it } from 'vitest';
import { decodeFrame } from '../protocol/index.js';
import { InputQueue, MAX_INPUT_FRAME } from './input-queue.js';

const text = (s: string) => new TextEncoder().encode(s);

/** The seq and text of each frame, as the host would read them. */
function read(frames: Uint8Array[]): Array<[number, string]> {
  return frames.map((frame) => {
    const decoded = decodeFrame(frame);
    if (typeof decoded === 'string' || decoded.type !== 'input') throw new Error(`not an input frame: ${String(decoded)}`);
    return [decoded.seq, new TextDecoder().decode(decoded.data)];
  });
}

function queue(options: { numbered?: boolean; maxBytes?: number } = {}) {
  const sent: Uint8Array[] = [];
  const inputs = new InputQueue({ numbered: options.numbered ?? true, send: (frame) => sent.push(frame), maxBytes: options.maxBytes });
  const resent = () => {
    const frames: Uint8Array[] = [];
    inputs.resendAll((frame) => frames.push(frame));
    return read(frames);
  };
  return { inputs, sent, resent };
}

describe('InputQueue', () => {
  it('numbers inputs from 1 in the order typed and sends each at once', () => {
    const { inputs, sent } = queue();
    inputs.addTyped(text('l'));
    inputs.addTyped(text('s'));
    inputs.addMessage(text('\r'));
    expect(read(sent)).toEqual([[1, 'l'], [2, 's'], [3, '\r']]);
    expect(inputs.lastSeq).toBe(3);
    expect(inputs.size).toBe(3);
  });

  it('cuts long typed text into frames, but keeps a message whole', () => {
    const { inputs, sent } = queue();
    inputs.addTyped(new Uint8Array(MAX_INPUT_FRAME * 2 + 1));
    expect(sent.map((frame) => read([frame])[0]![0])).toEqual([1, 2, 3]);
    inputs.addMessage(new Uint8Array(MAX_INPUT_FRAME * 2));
    expect(sent).toHaveLength(4);
    expect(inputs.lastSeq).toBe(4);
  });

  it('drops what the host acknowledged, and only that', () => {
    const { inputs, resent } = queue();
    for (const key of 'abcd') inputs.addTyped(text(key));
    expect(inputs.applied(2)).toBe(2);
    expect(inputs.applied(2)).toBe(0);
    expect(inputs.size).toBe(2);
    expect(resent()).toEqual([[3, 'c'], [4, 'd']]);
    expect(inputs.applied(10)).toBe(2);
    expect(inputs.size).toBe(0);
    expect(inputs.lastSeq).toBe(4); // numbering carries on after the host caught up
  });

  it('resends everything unacknowledged, oldest first', () => {
    const { inputs, resent } = queue();
    for (const key of 'xyz') inputs.addTyped(text(key));
    expect(resent()).toEqual([[1, 'x'], [2, 'y'], [3, 'z']]);
    expect(resent()).toEqual([[1, 'x'], [2, 'y'], [3, 'z']]); // resending keeps them
  });

  it('refuses input past the byte cap whole, and takes it again once acknowledged', () => {
    // Each 1-byte input is a 6-byte frame (type and seq header): two fit in 12 bytes.
    const { inputs, sent } = queue({ maxBytes: 12 });
    expect(inputs.addTyped(text('a'))).toBe(true);
    expect(inputs.addTyped(text('b'))).toBe(true);
    expect(inputs.addTyped(text('c'))).toBe(false);
    expect(inputs.addMessage(text('d'))).toBe(false);
    expect(inputs.addTyped(new Uint8Array(13))).toBe(false);
    expect(sent).toHaveLength(2);
    expect(inputs.lastSeq).toBe(2); // nothing refused was numbered
    inputs.applied(1);
    expect(inputs.addTyped(text('c'))).toBe(true);
    expect(read(sent.slice(2))).toEqual([[3, 'c']]);
  });

  it('on first joining an attached session, renumbers what was typed after the host count', () => {
    const { inputs, resent } = queue({ numbered: false });
    inputs.addTyped(text('p'));
    inputs.addTyped(text('q'));
    inputs.joined(40);
    expect(resent()).toEqual([[41, 'p'], [42, 'q']]);
    expect(inputs.lastSeq).toBe(42);
    inputs.joined(7); // numbered now: a later resume changes nothing
    expect(resent()).toEqual([[41, 'p'], [42, 'q']]);
  });

  it('keeps its own numbering when it launched the session', () => {
    const { inputs, resent } = queue({ numbered: true });
    inputs.addTyped(text('p'));
    inputs.joined(40);
    expect(resent()).toEqual([[1, 'p']]);
  });
});
