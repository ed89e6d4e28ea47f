import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RecordingWriter, ReplicaRecording, type RecordingHeader } from './recording.js';

const header: RecordingHeader = { sessionId: 's1', owner: 'ann', appId: 'shell', appName: 'Shell', node: 'node-1', startedAt: 1_700_000_000_000, cols: 80, rows: 24 };
const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

function writer(overrides: { castPath?: string; now?: () => number; maxPendingBytes?: number } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'recording-test-'));
  dirs.push(dir);
  const warnings: string[] = [];
  const castPath = overrides.castPath ?? join(dir, 's1.cast');
  const w = new RecordingWriter({ header, castPath, metaPath: join(dir, 's1.json'), now: overrides.now ?? (() => header.startedAt), warn: (message) => warnings.push(message), flushMs: 5, ...(overrides.maxPendingBytes ? { maxPendingBytes: overrides.maxPendingBytes } : {}) });
  const lines = () => readFileSync(castPath, 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line) as unknown);
  return { w, warnings, lines, meta: () => JSON.parse(readFileSync(join(dir, 's1.json'), 'utf8')) as Record<string, unknown> };
}

describe('RecordingWriter', () => {
  it('writes an asciicast v2 header and output, input and resize events timed from the session start', async () => {
    const { w, lines, meta } = writer();
    const at = (s: number) => header.startedAt + s * 1000;
    w.output(Buffer.from('$ '), at(0.25));
    w.input(Buffer.from('ls\r'), at(1.5));
    w.resize(100, 30, at(2));
    w.output(Buffer.from('a b\r\n'), at(2.125));
    const done = await w.end(true);
    const [head, ...events] = lines();
    expect(head).toMatchObject({ version: 2, width: 80, height: 24, timestamp: 1_700_000_000, title: 'Shell', holdfast: { session: 's1', owner: 'ann', app: 'shell', node: 'node-1' } });
    expect(events).toEqual([
      [0.25, 'o', '$ '],
      [1.5, 'i', 'ls\r'],
      [2, 'r', '100x30'],
      [2.125, 'o', 'a b\r\n'],
    ]);
    expect(done).toMatchObject({ complete: true, problem: null, seconds: 2.125 });
    expect(done.bytes).toBe(readFileSync(join(dirs[0]!, 's1.cast')).length);
    expect(meta()).toEqual(done);
  });

  it('never breaks a character split across two reads, and never goes back in time', async () => {
    const { w, lines } = writer();
    const text = Buffer.from('é€😀');
    // 2 + 3 + 4 bytes, read 3 at a time: each read ends inside a character; the later two say an earlier time.
    w.output(text.subarray(0, 3), header.startedAt + 3000);
    w.output(text.subarray(3, 6), header.startedAt + 1000);
    w.output(text.subarray(6));
    await w.end(true);
    const events = lines().slice(1) as Array<[number, string, string]>;
    expect(events.map((e) => e[2]).join('')).toBe('é€😀');
    expect(events.every((e) => !e[2].includes('\ufffd'))).toBe(true);
    expect(events.map((e) => e[0])).toEqual([3, 3, 3]);
  });

  it('marks who typed whenever it changes between the owner and someone typing through a share link', async () => {
    const { w, lines } = writer();
    w.input(Buffer.from('a'), header.startedAt);
    w.input(Buffer.from('b'), header.startedAt, 'bob');
    w.input(Buffer.from('c'), header.startedAt, 'bob');
    w.input(Buffer.from('d'), header.startedAt);
    await w.end(true);
    expect(lines().slice(1)).toEqual([
      [0, 'i', 'a'],
      [0, 'm', 'input: bob'],
      [0, 'i', 'b'],
      [0, 'i', 'c'],
      [0, 'm', 'input: ann'],
      [0, 'i', 'd'],
    ]);
  });

  it('a failed write (a full disk) marks it incomplete, warns once and throws nothing', async () => {
    const { w, warnings, meta } = writer({ castPath: '/dev/full' });
    w.output(Buffer.from('hello'));
    await new Promise((r) => setTimeout(r, 30));
    expect(w.intact).toBe(false);
    w.output(Buffer.from('more'));
    w.input(Buffer.from('x'));
    const done = await w.end(true);
    expect(done.complete).toBe(false);
    expect(done.problem).toMatch(/ENOSPC|no space/i);
    expect(warnings).toHaveLength(1);
    expect(meta()).toMatchObject({ complete: false });
  });

  it('drops events past its memory bound, and says so', async () => {
    const { w, warnings } = writer({ maxPendingBytes: 1000 });
    for (let i = 0; i < 50; i++) w.output(Buffer.from('x'.repeat(100)));
    const done = await w.end(true);
    expect(done).toMatchObject({ complete: false, problem: expect.stringMatching(/did not keep up/) });
    expect(warnings).toHaveLength(1);
  });

  it('a copy that ended with its replica, not the session, is not complete', async () => {
    const { w } = writer();
    w.output(Buffer.from('x'));
    expect(await w.end(false)).toMatchObject({ complete: false, problem: expect.stringMatching(/replica/) });
  });
});

describe('ReplicaRecording', () => {
  it('times stamped entries by their stamp, and a replay’s output by the entry it follows', async () => {
    let clock = header.startedAt + 60_000;
    const { w, lines } = writer({ now: () => clock });
    const recording = new ReplicaRecording({ writer: w, startedAt: header.startedAt, replaying: true, now: () => clock });
    recording.output(Buffer.from('$ '));
    recording.applied({ seq: 1, data: Buffer.from('a'), cols: 0, rows: 0, time: (header.startedAt + 2000) * 1000 });
    recording.output(Buffer.from('a'));
    recording.applied({ seq: 0, data: null, cols: 90, rows: 20, time: (header.startedAt + 3000) * 1000 });
    recording.applied({ seq: 0, data: Buffer.from('upload'), cols: 0, rows: 0, time: (header.startedAt + 3500) * 1000, file: { op: 'chunk' } });
    recording.caughtUp();
    clock = header.startedAt + 61_000;
    recording.output(Buffer.from('live'));
    recording.applied({ seq: 2, data: Buffer.from('b'), cols: 0, rows: 0 });
    await recording.end(true);
    expect(lines().slice(1)).toEqual([
      [0, 'o', '$ '],
      [2, 'i', 'a'],
      [2, 'o', 'a'],
      [3, 'r', '90x20'],
      [61, 'o', 'live'],
      [61, 'i', 'b'],
    ]);
  });
});
