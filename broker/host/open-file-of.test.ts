// Taking over a file another process has open (open-file-of.ts), with real processes
// and /proc: the node gets the same bytes when the inode and size are the ones the
// sandbox's stat saw, and nothing otherwise — a file swapped meanwhile, a FIFO, a
// process gone.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openFileOf } from './open-file-of.js';

const dir = mkdtempSync(join(tmpdir(), 'holdfast-open-file-of-'));
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

/** A process whose fd 0 is /dev/null (started and waiting). */
async function holdingNothing(): Promise<number> {
  const child = spawn('/bin/sh', ['-c', 'echo open; exec sleep 30'], { stdio: [0, 'pipe', 'ignore'] });
  children.push(child);
  await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
  return child.pid!;
}

/** A process holding `path` open as its fd 0 (started and waiting). */
async function holdingFile(path: string): Promise<number> {
  const child = spawn('/bin/sh', ['-c', `exec 0<"$1"; echo open; exec sleep 30`, 'sh', path], { stdio: ['ignore', 'pipe', 'ignore'] });
  children.push(child);
  await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
  return child.pid!;
}

/** home-paths.ts's version of a file: size (base 36), time, inode. */
const versionOf = (path: string, over: { size?: number; ino?: number } = {}) => {
  const s = statSync(path);
  return `${(over.size ?? s.size).toString(36)}-${Math.round(s.mtimeMs)}-${over.ino ?? s.ino}`;
};

describe('openFileOf', () => {
  it('opens the very file the process has open, when it is the one stat saw', async () => {
    const path = join(dir, 'report.txt');
    writeFileSync(path, 'the bytes of the report');
    const pid = await holdingFile(path);
    const fd = openFileOf(pid, 0, versionOf(path));
    expect(fd).not.toBeNull();
    const bytes = Buffer.alloc(64);
    const n = readSync(fd!, bytes, 0, 64, 4);
    closeSync(fd!);
    expect(bytes.subarray(0, n).toString()).toBe('bytes of the report');
  });

  it('takes nothing that is not that file', async () => {
    const path = join(dir, 'a.txt');
    writeFileSync(path, 'aaaa');
    const pid = await holdingFile(path);
    expect(openFileOf(pid, 0, versionOf(path, { ino: statSync(path).ino + 1 })), 'another inode').toBeNull();
    expect(openFileOf(pid, 0, versionOf(path, { size: 5 })), 'another size').toBeNull();
    expect(openFileOf(pid, 0, 'not-a-version'), 'no version').toBeNull();
    expect(openFileOf(pid, 7, versionOf(path)), 'an fd it does not have').toBeNull();
    // Its standard input is /dev/null here: not a regular file.
    expect(openFileOf(await holdingNothing(), 0, versionOf('/dev/null'))).toBeNull();
    const gone = spawn('/bin/true');
    await new Promise((resolve) => gone.once('exit', resolve));
    expect(openFileOf(gone.pid!, 0, versionOf(path)), 'a process gone').toBeNull();
  });
});
