// The log spool on a real disk: bytes come back as they went in, the file is never seen
// in its folder, and a spool that cannot write says so (the log keeps the bytes then).
import { mkdtempSync, readdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LogSpool } from './log-spool.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-spool-'));
  dirs.push(dir);
  return dir;
}

describe('the log spool', () => {
  it('gives back each chunk as it was kept, from a file nobody else can find', () => {
    const dir = join(scratch(), 'spool');
    const spool = new LogSpool({ dir, reserveBytes: 0 });
    const chunks = [0, 1, 2].map((n) => Buffer.alloc(65_536 + n, 97 + n));
    const refs = chunks.map((c) => spool.put(c)!);
    expect(refs.map((r) => r.offset)).toEqual([0, 65_536, 131_073]);
    expect(readdirSync(dir)).toEqual([]);
    expect(Buffer.from(spool.get(refs[1]!)).equals(chunks[1]!)).toBe(true);
    expect(Buffer.from(spool.get(refs[2]!)).equals(chunks[2]!)).toBe(true);
    expect(spool.bytes).toBe(196_611);
    spool.close();
    expect(spool.put(chunks[0]!)).toBeNull();
  });

  it('says it cannot keep bytes where its folder cannot be made', () => {
    const file = join(scratch(), 'a-file');
    writeFileSync(file, '');
    const spool = new LogSpool({ dir: join(file, 'spool'), reserveBytes: 0 });
    expect(spool.put(Buffer.from('x'))).toBeNull();
  });

  it('never takes the node\'s reserve: with less free than that, it keeps nothing', () => {
    const dir = join(scratch(), 'spool');
    const fs = statfsSync(scratch());
    const free = fs.bavail * fs.bsize;
    expect(new LogSpool({ dir, reserveBytes: free + 1024 ** 3 }).put(Buffer.from('x'))).toBeNull();
    const roomy = new LogSpool({ dir, reserveBytes: 0 });
    expect(roomy.put(Buffer.from('x'))).toEqual({ offset: 0, length: 1 });
  });
});
