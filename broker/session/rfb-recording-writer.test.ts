import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { keyEvent, parseRfbRecording } from '../../shared/protocol/index.js';
import type { RecordingHeader } from './recording.js';
import { RfbRecordingWriter } from './rfb-recording-writer.js';

const header: RecordingHeader = { sessionId: 's1', kind: 'rfb', owner: 'ann', appId: 'editor', appName: 'Editor', node: 'node-1', startedAt: 1_700_000_000_000, cols: 80, rows: 24 };
const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

function writer(overrides: { path?: string; maxPendingBytes?: number } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'rfb-recording-test-'));
  dirs.push(dir);
  let now = header.startedAt;
  const warnings: string[] = [];
  const path = overrides.path ?? join(dir, 's1.rfbrec');
  const w = new RfbRecordingWriter({ header, path, metaPath: join(dir, 's1.json'), now: () => now, warn: (message) => warnings.push(message), flushMs: 5, ...(overrides.maxPendingBytes ? { maxPendingBytes: overrides.maxPendingBytes } : {}) });
  return { w, warnings, at: (ms: number) => (now = header.startedAt + ms), file: () => parseRfbRecording(readFileSync(path)), meta: () => JSON.parse(readFileSync(join(dir, 's1.json'), 'utf8')) as Record<string, unknown> };
}

describe('RfbRecordingWriter', () => {
  it('writes the header, the display’s bytes and the applied input, timed in ms from the session start; its JSON says kind rfb', async () => {
    const { w, at, file, meta } = writer();
    at(10);
    w.output(Buffer.from('RFB 003.008\n'));
    w.input(keyEvent(true, 0x61), header.startedAt + 40);
    w.input(keyEvent(true, 0x62), header.startedAt + 60, 'bob');
    // A standby's display output read before the primary's stamp it follows: never back in time.
    w.output(Buffer.from([0, 0, 0, 0]), header.startedAt + 50);
    at(1500);
    const done = await w.end(true);
    const read = file();
    expect(read.header).toMatchObject({ format: 'holdfast-rfb', version: 1, session: 's1', owner: 'ann', app: 'editor', appName: 'Editor', node: 'node-1', startedAt: header.startedAt });
    // The end is marked: a still screen sends nothing, yet the recording lasts as long as the session.
    expect(read.records.map((r) => [r.kind, r.t])).toEqual([['server', 10], ['input', 40], ['marker', 60], ['input', 60], ['server', 60], ['marker', 1500]]);
    expect(new TextDecoder().decode(read.records[2]!.bytes)).toBe('input: bob');
    expect(new TextDecoder().decode(read.records[5]!.bytes)).toBe('end');
    expect(done).toMatchObject({ kind: 'rfb', complete: true, problem: null, seconds: 1.5 });
    expect(meta()).toMatchObject({ kind: 'rfb', complete: true, bytes: readFileSync(w['options'].path).length });
  });

  it('a failed write (a full disk) marks it incomplete, warns once, and the display’s bytes keep coming without a throw', async () => {
    const { w, warnings } = writer({ path: '/dev/full' });
    w.output(new Uint8Array(1000));
    await new Promise((r) => setTimeout(r, 30));
    expect(w.intact).toBe(false);
    w.output(new Uint8Array(1000));
    w.input(keyEvent(true, 0x61));
    const done = await w.end(true);
    expect(done).toMatchObject({ complete: false, problem: expect.stringMatching(/ENOSPC|no space/i) });
    expect(warnings).toHaveLength(1);
  });

  it('says it is behind once a MiB waits for the disk, and drops past its memory bound', async () => {
    const { w, warnings } = writer({ maxPendingBytes: 3 * 1024 * 1024 });
    expect(w.behind).toBe(false);
    w.output(new Uint8Array(1024 * 1024 + 1));
    expect(w.behind).toBe(true);
    for (let i = 0; i < 3; i++) w.output(new Uint8Array(1024 * 1024));
    const done = await w.end(true);
    expect(done).toMatchObject({ complete: false, problem: expect.stringMatching(/did not keep up/) });
    expect(warnings).toHaveLength(1);
  });

  it('a recorder that lost the display marks the copy incomplete with why', async () => {
    const { w } = writer();
    w.failed('the recording lost its connection to the display: reset');
    expect(await w.end(true)).toMatchObject({ complete: false, problem: 'the recording lost its connection to the display: reset' });
  });
});
