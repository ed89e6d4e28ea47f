import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Recordings } from './recordings.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
const DAY = 24 * 3600 * 1000;

function store(now: () => number = Date.now) {
  const dir = mkdtempSync(join(tmpdir(), 'recordings-test-'));
  dirs.push(dir);
  return { dir, recordings: new Recordings({ dir, node: 'node-1', retentionDays: 30, warn: () => {}, now }) };
}
const header = (sessionId: string, startedAt: number) => ({ sessionId, owner: 'ann', appId: 'shell', appName: 'Shell', startedAt, cols: 80, rows: 24 });

describe('Recordings', () => {
  it('lists the copies here with how they ended, and finds a copy’s file', async () => {
    const { recordings } = store();
    const a = recordings.start(header('a', Date.now() - 5000), false);
    a.output(Buffer.from('hello'));
    await a.end(true);
    const b = recordings.start(header('b', Date.now()), true);
    await new Promise((r) => setTimeout(r, 50));
    const [live, ended] = recordings.list();
    expect(ended).toMatchObject({ sessionId: 'a', node: 'node-1', complete: true });
    expect(live).toMatchObject({ sessionId: 'b', endedAt: null, complete: false });
    const file = recordings.file('a')!;
    expect(readFileSync(file.path, 'utf8')).toContain('"hello"');
    expect(file.size).toBe(file.copy.bytes);
    expect(recordings.file('../a')).toBeNull();
    expect(recordings.file('nothing')).toBeNull();
    await b.end(true);
  });

  it('a replica started again waits for the last copy of the session to close, then starts the file afresh', async () => {
    const { recordings } = store();
    const first = recordings.start(header('s', Date.now()), false);
    first.output(Buffer.from('first copy'));
    void first.end(false);
    const second = recordings.start(header('s', Date.now()), true);
    second.output(Buffer.from('second copy'));
    await second.end(true);
    const text = readFileSync(recordings.file('s')!.path, 'utf8');
    expect(text).toContain('second copy');
    expect(text).not.toContain('first copy');
    expect(recordings.list()).toEqual([expect.objectContaining({ sessionId: 's', complete: true })]);
  });

  it('sweeps ended copies past the retention time, and copies a dead node left once their file is as old; never one being written', async () => {
    let now = Date.now();
    const { dir, recordings } = store(() => now);
    const old = recordings.start(header('old', now), false);
    await old.end(true);
    const writing = recordings.start(header('writing', now), false);
    // Left by an earlier run of the node, killed while it wrote: no end time.
    const earlierRun = new Recordings({ dir, node: 'node-1', retentionDays: 30, warn: () => {}, now: () => now });
    earlierRun.start(header('orphan', now), false).output(Buffer.from('x'));
    const recent = earlierRun.start(header('recent', now), false);
    await new Promise((r) => setTimeout(r, 150));
    now += 31 * DAY;
    utimesSync(join(dir, 'orphan.cast'), new Date(now - 31 * DAY), new Date(now - 31 * DAY));
    utimesSync(join(dir, 'recent.cast'), new Date(now - 29 * DAY), new Date(now - 29 * DAY));
    expect(recordings.sweep()).toBe(2);
    expect(existsSync(join(dir, 'old.cast'))).toBe(false);
    expect(existsSync(join(dir, 'orphan.cast'))).toBe(false);
    expect(existsSync(join(dir, 'orphan.json'))).toBe(false);
    expect(recordings.list().map((c) => c.sessionId).sort()).toEqual(['recent', 'writing']);
    await writing.end(true);
    await recent.end(true);
  });
});
