import { describe, expect, it } from 'vitest';
import {
  CastError,
  clockText,
  countUntil,
  parseCast,
  playedTime,
  recordedTime,
  sizeAt,
  sizeText,
  steps,
  stepsUntil,
  timeline,
  typedAround,
  typistAt,
} from './recording-timeline.js';

const header = { version: 2, width: 80, height: 24, timestamp: 1795561500, title: 'Shell', holdfast: { session: 'S1', owner: 'ann', app: 'shell', node: 'node-1', startedAt: 1795561500120 } };
const cast = (...events: unknown[]) => [header, ...events].map((line) => JSON.stringify(line)).join('\n') + '\n';

// A session as the broker records one: a prompt, `echo hi` typed, a long lunch, a resize, bob typing through a share link.
const SESSION = cast(
  [0.1, 'o', '$ '],
  [1.0, 'i', 'e'],
  [1.01, 'o', 'e'],
  [1.2, 'i', 'cho hi\r'],
  [1.21, 'o', 'cho hi\r\n'],
  [1.22, 'o', 'hi\r\n$ '],
  [601.22, 'r', '100x30'],
  [601.3, 'm', 'input: bob'],
  [601.3, 'i', 'ls\r'],
  [601.31, 'o', 'ls\r\nfile\r\n$ '],
  [602, 'm', 'input: ann'],
);

describe('parseCast', () => {
  it('reads the header and the events, in order', () => {
    const parsed = parseCast(SESSION);
    expect(parsed.header).toMatchObject({ width: 80, height: 24, title: 'Shell', holdfast: { owner: 'ann', app: 'shell' } });
    expect(parsed.events).toHaveLength(11);
    expect(parsed.events[0]).toEqual({ t: 0.1, code: 'o', data: '$ ' });
  });

  it('skips event codes it does not know, and blank lines', () => {
    const parsed = parseCast(cast([0.1, 'o', 'a'], [0.2, 'x', 'future'], [0.3, 'o', 'b']).replace('\n', '\n\n'));
    expect(parsed.events.map((e) => e.data)).toEqual(['a', 'b']);
  });

  it('names the first line it cannot read, without throwing anything but a CastError', () => {
    const bad = (text: string) => {
      try {
        parseCast(text);
      } catch (error) {
        expect(error).toBeInstanceOf(CastError);
        return { message: (error as CastError).message, line: (error as CastError).line };
      }
      throw new Error('parsed');
    };
    expect(bad('')).toEqual({ message: expect.stringMatching(/^Line 1 of the recording is not JSON/), line: 1 });
    expect(bad(JSON.stringify({ version: 1, width: 80, height: 24 }) + '\n').message).toMatch(/asciicast v2 header/);
    expect(bad(cast([0.1, 'o', 'a'], { t: 1 }))).toEqual({ message: expect.stringMatching(/^Line 3 of the recording is not an event \[time, code, data\]/), line: 3 });
    expect(bad(cast([0.1, 'o', 'a'], [-1, 'o', 'b'])).line).toBe(3);
    expect(bad(cast([0.1, 'o', 'a'], [0.2, 'o', 5])).line).toBe(3);
    expect(bad(cast([0.1, 'r', 'wide'])).message).toMatch(/Line 2 .* resize to “wide”, not COLSxROWS/);
    expect(bad(`${cast([0.1, 'o', 'a'])}{not json}\n[0.3, "o", "b"]\n`)).toMatchObject({ line: 3 });
  });

  it('plays what a file cut off mid-line (its node died) holds before the cut', () => {
    const text = cast([0.1, 'o', 'a'], [0.2, 'o', 'b']) + '[0.3, "o", "unfin';
    expect(parseCast(text).events.map((e) => e.data)).toEqual(['a', 'b']);
  });

  it('never lets time go back (a hand-edited file plays in file order)', () => {
    expect(parseCast(cast([2, 'o', 'a'], [1, 'o', 'b'])).events.map((e) => e.t)).toEqual([2, 2]);
  });
});

describe('the timeline', () => {
  const parsed = parseCast(SESSION);

  it('plays pauses as recorded by default', () => {
    const line = timeline(parsed);
    expect(line.duration).toBe(602);
    expect(line.events.map((e) => e.at)).toEqual(parsed.events.map((e) => e.t));
    expect([line.cols, line.rows]).toEqual([80, 24]);
  });

  it('caps idle gaps: the ten-minute lunch plays in 2 s, and the time of each event moves with it', () => {
    const line = timeline(parsed, 2);
    expect(line.duration).toBeCloseTo(1.22 + 2 + 0.08 + 0.01 + 0.69, 6);
    expect(line.events[6]!.at).toBeCloseTo(3.22, 6);
    // Recorded times (key search's) map onto the played clock, and back.
    expect(playedTime(line, 1.2)).toBeCloseTo(1.2, 6);
    expect(playedTime(line, 601.3)).toBeCloseTo(3.3, 6);
    expect(playedTime(line, 300)).toBeCloseTo(3.22, 6); // inside the gap: its end, capped
    expect(playedTime(line, 10_000)).toBeCloseTo(line.duration, 6);
    expect(recordedTime(line, 3.3)).toBeCloseTo(601.3, 6);
    expect(recordedTime(line, 0.05)).toBeCloseTo(0.05, 6);
  });

  it('counts the events played by a time (those at it included)', () => {
    const line = timeline(parsed);
    expect(countUntil(line, 0)).toBe(0);
    expect(countUntil(line, 0.1)).toBe(1);
    expect(countUntil(line, 1.2)).toBe(4);
    expect(countUntil(line, 1e9)).toBe(11);
  });

  it('gives the output up to a time in one piece per terminal size', () => {
    const line = timeline(parsed);
    expect(stepsUntil(line, 0.05)).toEqual([]);
    expect(stepsUntil(line, 1.21)).toEqual([{ text: '$ echo hi\r\n' }]);
    expect(stepsUntil(line, 1000)).toEqual([{ text: '$ echo hi\r\nhi\r\n$ ' }, { resize: { cols: 100, rows: 30 }, text: 'ls\r\nfile\r\n$ ' }]);
    // Playing on from where it was: only what comes next.
    expect(steps(line, countUntil(line, 1.21), countUntil(line, 601.25))).toEqual([{ text: 'hi\r\n$ ' }, { resize: { cols: 100, rows: 30 }, text: '' }]);
  });

  it('follows resizes', () => {
    const line = timeline(parsed);
    expect(sizeAt(line, 10)).toEqual({ cols: 80, rows: 24 });
    expect(sizeAt(line, 601.22)).toEqual({ cols: 100, rows: 30 });
  });

  it('says who is typing, by the markers of a shared session', () => {
    const line = timeline(parsed);
    expect(typistAt(line, 1.5)).toBeNull();
    expect(typistAt(line, 601.3)).toBe('bob');
    expect(typistAt(line, 603)).toBe('ann');
  });

  it('shows a key-search match on the line it was typed on', () => {
    expect(typedAround(parsed, 1.2, 1.2)).toBe('echo hi');
    expect(typedAround(parsed, 601.3, 601.3)).toBe('ls');
  });
});

describe('words', () => {
  it('times as m:ss, sizes as KB or MB', () => {
    expect(clockText(0)).toBe('0:00');
    expect(clockText(61.9)).toBe('1:01');
    expect(clockText(3725)).toBe('1:02:05');
    expect(sizeText(48211)).toBe('47.1 KB');
    expect(sizeText(3 * 1024 * 1024)).toBe('3.0 MB');
  });
});
