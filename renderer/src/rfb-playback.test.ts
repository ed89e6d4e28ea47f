import { describe, expect, it } from 'vitest';
import { encodeHeaderLine, encodeRecord, keyEvent, RFB_RECORDING_FORMAT } from '../../shared/protocol/index.js';
import { PlaybackClock, Timeline, formatTime } from './rfb-playback.js';

function file(records: Array<['server' | 'input', number, number[] | Uint8Array]>): Uint8Array {
  const parts = [encodeHeaderLine({ format: RFB_RECORDING_FORMAT, version: 1, session: 's', owner: 'ann', app: 'x', appName: 'X', node: 'n', startedAt: 0 }), ...records.map(([kind, t, bytes]) => encodeRecord(kind, t, new Uint8Array(bytes)))];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

const recording = file([['server', 0, [1, 2]], ['input', 100, keyEvent(true, 0x68)], ['server', 150, [3]], ['server', 150, [4]], ['input', 200, keyEvent(true, 0x69)], ['server', 900, [5, 6]]]);

describe('Timeline', () => {
  it('holds the display’s bytes in order, the length, and what was typed', () => {
    const t = new Timeline(recording);
    expect(t.server.map((r) => r.t)).toEqual([0, 150, 150, 900]);
    expect(t.durationMs).toBe(900);
    expect(t.typed).toEqual({ text: 'hi', times: [100, 200] });
    expect(t.truncated).toBe(false);
  });

  it('plans what to feed: forward from what was fed, or again from the start when the target lies before it', () => {
    const t = new Timeline(recording);
    expect(t.plan(0, 0)).toEqual({ restart: false, from: 0, to: 1 });
    expect(t.plan(1, 149)).toEqual({ restart: false, from: 1, to: 1 });
    expect(t.plan(1, 150)).toEqual({ restart: false, from: 1, to: 3 });
    expect(t.plan(3, 5000)).toEqual({ restart: false, from: 3, to: 4 });
    expect(t.plan(4, 100)).toEqual({ restart: true, from: 0, to: 1 });
    expect([...t.bytes(0, 4)]).toEqual([1, 2, 3, 4, 5, 6]);
    expect([...t.bytes(1, 3)]).toEqual([3, 4]);
  });

  it('says in words when there is nothing to play', () => {
    expect(() => new Timeline(file([['input', 0, keyEvent(true, 0x61)]]))).toThrow(/nothing the display sent/);
    expect(() => new Timeline(new TextEncoder().encode('hello'))).toThrow(/not a graphical session recording/);
  });
});

describe('PlaybackClock', () => {
  it('moves while playing, at its speed, stands while paused, and stops at the end', () => {
    const c = new PlaybackClock(10_000);
    expect(c.position(0)).toBe(0);
    c.play(1000);
    expect(c.position(3000)).toBe(2000);
    c.setSpeed(4, 3000);
    expect(c.position(4000)).toBe(6000);
    c.pause(4000);
    expect(c.position(9000)).toBe(6000);
    c.setSpeed(0.5, 9000);
    c.play(9000);
    expect(c.position(11_000)).toBe(7000);
    expect(c.position(100_000)).toBe(10_000);
    expect(c.playing).toBe(false);
  });

  it('seeks within the recording, and plays from the start again once at the end', () => {
    const c = new PlaybackClock(10_000);
    c.seek(25_000, 0);
    expect(c.position(0)).toBe(10_000);
    c.play(0);
    expect(c.position(500)).toBe(500);
    c.seek(-5, 500);
    expect(c.position(500)).toBe(0);
    expect(() => c.setSpeed(16, 0)).toThrow(/outside/);
  });
});

it('formats times as m:ss, and h:mm:ss past an hour', () => {
  expect(formatTime(0)).toBe('0:00');
  expect(formatTime(65_400)).toBe('1:05');
  expect(formatTime(3_725_000)).toBe('1:02:05');
});
