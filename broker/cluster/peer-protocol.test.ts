import { describe, expect, it } from 'vitest';
import { decodePeerFrame, encodeAcked, encodeAppend, encodeClocks, encodeCommit, entryFromJson, entryToJson, PeerMessage, type LogEntry } from './peer-protocol.js';

const entries: LogEntry[] = [
  { index: 7, seq: 41, data: Buffer.from('print(x)\r'), cols: 0, rows: 0 },
  { index: 8, seq: 0, data: null, cols: 132, rows: 43 },
];

describe('peer frames', () => {
  it('round-trips APPEND with inputs and resizes, and ACKED', () => {
    const append = decodePeerFrame(encodeAppend('sess-1', 3, entries));
    expect(append).toEqual({ type: 'append', sessionId: 'sess-1', epoch: 3, entries: [{ ...entries[0], data: expect.any(Buffer) }, entries[1]] });
    expect(Buffer.from((append as { entries: LogEntry[] }).entries[0]!.data!).toString()).toBe('print(x)\r');
    expect(decodePeerFrame(encodeAcked('sess-1', 3, 8))).toEqual({ type: 'acked', sessionId: 'sess-1', epoch: 3, index: 8 });
    const marks = [{ after: 120, modes: 4 }, { after: 2 ** 40 }];
    expect(decodePeerFrame(encodeCommit('sess-1', 3, 7, marks))).toEqual({ type: 'commit', sessionId: 'sess-1', epoch: 3, first: 7, marks });
  });

  it('carries a lockstep entry’s time, for inputs and resizes alike, in APPEND and in JSON', () => {
    const time = Date.UTC(2026, 11, 6) * 1000 + 123;
    const timed = entries.map((e) => ({ ...e, time }));
    const append = decodePeerFrame(encodeAppend('sess-1', 3, timed)) as { entries: LogEntry[] };
    expect(append.entries.map((e) => [e.index, e.time, e.data ? Buffer.from(e.data).toString() : `${e.cols}x${e.rows}`])).toEqual([
      [7, time, 'print(x)\r'],
      [8, time, '132x43'],
    ]);
    expect(entryFromJson(entryToJson(timed[1]!)).time).toBe(time);
    // A timed entry too short to hold its time is refused, not misread.
    const frame = encodeAppend('s', 1, [{ index: 1, seq: 0, data: null, cols: 1, rows: 1, time }]);
    frame.writeUInt32BE(4, 6 + 1 + 2 + 9);
    expect(decodePeerFrame(frame.subarray(0, frame.length - 8))).toBe('APPEND entry too short for its time');
  });

  it('carries who typed an input that came through a share link, timed or not, in APPEND and in JSON', () => {
    const by = { user: 'bob', tab: 'tab-ü-1234', seq: 9 };
    const typed: LogEntry[] = [entries[0]!, { index: 9, seq: 0, data: Buffer.from('ls\r'), cols: 0, rows: 0, by }, { index: 10, seq: 0, data: Buffer.from('x'), cols: 0, rows: 0, by: { ...by, seq: 10 }, time: 1234567 }];
    const append = decodePeerFrame(encodeAppend('sess-1', 3, typed)) as { entries: LogEntry[] };
    expect(append.entries.map((e) => [e.index, e.seq, e.by, e.time, Buffer.from(e.data!).toString()])).toEqual([
      [7, 41, undefined, undefined, 'print(x)\r'],
      [9, 0, by, undefined, 'ls\r'],
      [10, 0, { ...by, seq: 10 }, 1234567, 'x'],
    ]);
    expect(entryFromJson(entryToJson(typed[1]!)).by).toEqual(by);
    // An author entry cut short is refused, not misread.
    const frame = encodeAppend('s', 1, [typed[1]!]);
    const body = 6 + 1 + 2 + 13;
    frame.writeUInt32BE(3, body - 4);
    expect(decodePeerFrame(frame.subarray(0, body + 3))).toBe('APPEND author entry truncated');
  });

  it('carries the microphone’s packets, timed or not and once emptied, in APPEND and in JSON, never taken for input or a resize', () => {
    const packet = Buffer.from([0xfc, 0xff, 0xfe, 1, 2, 3]);
    const mic: LogEntry[] = [
      { index: 11, seq: 0, data: packet, cols: 0, rows: 0, microphone: true },
      { index: 12, seq: 0, data: packet, cols: 0, rows: 0, microphone: true, time: 99 },
      { index: 13, seq: 0, data: Buffer.alloc(0), cols: 0, rows: 0, microphone: true },
      entries[1]!,
    ];
    const append = decodePeerFrame(encodeAppend('sess-1', 3, mic)) as { entries: LogEntry[] };
    expect(append.entries.map((e) => [e.index, e.microphone, e.time, e.data ? [...e.data] : `${e.cols}x${e.rows}`])).toEqual([
      [11, true, undefined, [...packet]],
      [12, true, 99, [...packet]],
      [13, true, undefined, []],
      [8, undefined, undefined, '132x43'],
    ]);
    expect(entryFromJson(entryToJson(mic[1]!))).toEqual({ ...mic[1], data: expect.any(Buffer) });
    expect(entryFromJson(entryToJson(entries[0]!)).microphone).toBeUndefined();
  });

  it('round-trips CLOCKS: the primary’s process clocks at an index, to the microsecond', () => {
    const clocks: Array<[number, number]> = [[1, Date.UTC(2026, 11, 7) * 1000 + 1], [4_194_303, 2 ** 52 + 7]];
    expect(decodePeerFrame(encodeClocks('sess-1', 3, 42, clocks))).toEqual({ type: 'clocks', sessionId: 'sess-1', epoch: 3, index: 42, clocks });
    expect(decodePeerFrame(encodeClocks('sess-1', 3, 42, clocks).subarray(0, 30))).toBe('CLOCKS frame has the wrong length');
  });

  it('names what is wrong with a malformed frame instead of throwing', () => {
    const frame = encodeAppend('sess-1', 3, entries);
    expect(decodePeerFrame(frame.subarray(0, frame.length - 2))).toMatch(/truncated/);
    expect(decodePeerFrame(Buffer.concat([frame, Buffer.from([0])]))).toBe('APPEND frame has trailing bytes');
    expect(decodePeerFrame(Buffer.from([0x42, 0, 0, 0, 1, 0]))).toBe('unknown peer frame type 0x42');
    expect(decodePeerFrame(Buffer.from([0x11]))).toBe('peer frame too short');
  });

  it('carries log entries in JSON for a new standby, with the output each was applied after', () => {
    const json = entryToJson({ ...entries[0]!, after: 120 });
    expect(PeerMessage.safeParse({ type: 'replica.open', sessionId: 's', epoch: 1, owner: 'ann', appId: 'cat', cols: 80, rows: 24, resumeToken: 't', startedAt: 1, entries: [json] }).success).toBe(true);
    expect(entryFromJson(json)).toEqual({ ...entries[0], after: 120, data: Buffer.from('print(x)\r') });
    expect(PeerMessage.safeParse({ type: 'append', sessionId: 's', epoch: 0 }).success).toBe(false);
  });

  it('carries an upload’s operations and bytes among the input, in APPEND and in JSON', () => {
    const time = Date.UTC(2026, 11, 6) * 1000 + 5;
    const bytes = Buffer.from([0, 1, 2, 255, 10, 13]);
    const ops: LogEntry[] = [
      { index: 9, seq: 0, data: null, cols: 0, rows: 0, file: { op: 'begin', upload: 9, path: 'dir/naïve\nname.txt', size: null } },
      { index: 10, seq: 0, data: bytes, cols: 0, rows: 0, time, file: { op: 'chunk', upload: 9, offset: 2 ** 40 + 3 } },
      { index: 11, seq: 42, data: Buffer.from('ls\r'), cols: 0, rows: 0 },
      { index: 12, seq: 0, data: null, cols: 0, rows: 0, file: { op: 'end', upload: 9 } },
      { index: 13, seq: 0, data: null, cols: 0, rows: 0, time, file: { op: 'abort', upload: 9, reason: 'cancelled' } },
    ];
    const append = decodePeerFrame(encodeAppend('s', 2, ops)) as { entries: LogEntry[] };
    expect(append.entries.map((e) => ({ ...e, data: e.data ? [...e.data] : null }))).toEqual(ops.map((e) => ({ ...e, data: e.data ? [...e.data] : null })));
    for (const entry of ops) expect(entryFromJson(entryToJson(entry))).toEqual({ ...entry, data: entry.data ? Buffer.from(entry.data) : null });
    // A file entry whose fields do not parse is refused by name.
    const frame = encodeAppend('s', 2, [ops[0]!]);
    frame[frame.length - 3] = 0x7b; // '{' inside the JSON: no longer JSON
    expect(decodePeerFrame(frame)).toBe('APPEND file entry has malformed fields');
  });
});
