// Reading a session's home (home-files.ts), the parts that are pure: which paths are
// refused before anything runs, what counts as inside the home, find's records, and
// finding the sandbox's init under its launcher in /proc. Reading through a real
// sandbox is test/files.test.ts's.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SessionFileError } from '../../shared/protocol/index.js';
import { homePath, insideHome, parseRecords } from './home-files.js';
import { findInit, isInitOf } from './sandbox-init.js';

const refusal = (path: string): { code: string; message: string } | null => {
  try {
    homePath(path);
    return null;
  } catch (error) {
    if (!(error instanceof SessionFileError)) throw error;
    return { code: error.code, message: error.message };
  }
};

describe('paths in a home', () => {
  it('normalises relative paths, "" and "." being the home', () => {
    expect(homePath('')).toEqual({ arg: '.', relative: '' });
    expect(homePath('.')).toEqual({ arg: '.', relative: '' });
    expect(homePath('a//b/./c/')).toEqual({ arg: './a/b/c', relative: 'a/b/c' });
    // A leading "-" is a name, never an option, and odd characters stay what they are.
    expect(homePath('-rf')).toEqual({ arg: './-rf', relative: '-rf' });
    expect(homePath('line\nbreak\tand ~ $HOME').relative).toBe('line\nbreak\tand ~ $HOME');
    expect(homePath('a..b/..c').relative).toBe('a..b/..c');
  });

  it('refuses "..", absolute paths, NULs and names no file system holds, in words', () => {
    for (const path of ['..', '../x', 'a/../../etc/passwd', 'a/..', '/etc/passwd', '/home/user/x', '//x']) {
      expect(refusal(path), path).toEqual({ code: 'outside_home', message: expect.stringContaining('That path leaves your home folder') });
    }
    expect(refusal('a\0b')).toMatchObject({ code: 'bad_path', message: 'A path cannot hold a NUL character.' });
    expect(refusal('x'.repeat(256))).toMatchObject({ code: 'bad_path', message: expect.stringContaining('too long (at most 255 bytes)') });
    expect(refusal('é'.repeat(128))).toMatchObject({ code: 'bad_path' }); // 256 bytes of UTF-8
    expect(refusal(`${'a/'.repeat(2100)}b`)).toMatchObject({ code: 'bad_path', message: expect.stringContaining('at most 4096 bytes') });
    expect(refusal('x'.repeat(255))).toBeNull();
  });

  it('counts the home and what is under it as inside, nothing else', () => {
    expect(insideHome('/home/user')).toBe(true);
    expect(insideHome('/home/user/a/b')).toBe(true);
    for (const path of ['/home/username', '/home', '/etc/passwd', '/', '/tmp/home/user']) expect(insideHome(path), path).toBe(false);
  });
});

describe('find’s records', () => {
  it('reads depth, kind, size, time and inode, with names holding tabs, newlines and UTF-8', () => {
    const output = Buffer.concat([
      Buffer.from('0\td\t4096\t1733512345.1234567890\t2\tuser\0'),
      Buffer.from('1\tf\t5\t1733512346.5000000000\t12\tna\tme\nwith é\0'),
      Buffer.from('1\tl\t11\t1733512347.0000000000\t13\tlink\0'),
      Buffer.from('1\tp\t0\t1733512348.0000000000\t14\tfifo\0'),
      Buffer.from('garbage without tabs\0'),
    ]);
    const records = parseRecords(output);
    expect(records.map(({ depth, kind, size, name }) => ({ depth, kind, size, name }))).toEqual([
      { depth: 0, kind: 'folder', size: 4096, name: 'user' },
      { depth: 1, kind: 'file', size: 5, name: 'na\tme\nwith é' },
      { depth: 1, kind: 'link', size: 11, name: 'link' },
      { depth: 1, kind: 'other', size: 0, name: 'fifo' },
    ]);
    expect(records[1]!.modifiedAt).toBe(1733512346500);
    // The version changes with the size, the time (to the nanosecond) and the inode.
    expect(records[1]!.version).toBe('5-17335123465000000000-12');
    expect(new Set(records.map((r) => r.version)).size).toBe(4);
  });
});

describe('the sandbox’s init under its launcher', () => {
  let proc = '';
  afterEach(() => rmSync(proc, { recursive: true, force: true }));

  /** A made-up /proc: pid → [parent, command line, children]. */
  function fakeProc(processes: Record<number, [number, string, number[]]>): string {
    proc = mkdtempSync(join(tmpdir(), 'holdfast-proc-'));
    for (const [pid, [parent, cmdline, children]] of Object.entries(processes)) {
      mkdirSync(join(proc, pid, 'task', pid), { recursive: true });
      writeFileSync(join(proc, pid, 'cmdline'), cmdline);
      writeFileSync(join(proc, pid, 'stat'), `${pid} (odd) name) S ${parent} ${pid} ${pid} 0`);
      writeFileSync(join(proc, pid, 'task', pid, 'children'), children.map((c) => `${c} `).join(''));
    }
    return proc;
  }
  const INIT = '/bin/bash\0/run/holdfast-init\0/bin/bash\0-i\0';

  it('finds the shallowest init below the launcher, not an app’s copy of it deeper down', () => {
    fakeProc({
      100: [1, 'bwrap\0--args\x004\0', [101]],
      101: [100, INIT, [102]],
      102: [101, '/bin/bash\0-i\0', [103]],
      103: [102, INIT, []],
    });
    expect(findInit(proc, 100)).toBe(101);
    expect(isInitOf(proc, 101, 100)).toBe(true);
    // Not under this launcher, or not an init at all: looked for again.
    expect(isInitOf(proc, 101, 999)).toBe(false);
    expect(isInitOf(proc, 102, 100)).toBe(false);
  });

  it('says null while the sandbox is still starting, or gone', () => {
    fakeProc({ 100: [1, 'bwrap\0--args\x004\0', [101]], 101: [100, 'bwrap\0--args\x004\0', []] });
    expect(findInit(proc, 100)).toBeNull();
    expect(findInit(proc, 555)).toBeNull();
  });
});
