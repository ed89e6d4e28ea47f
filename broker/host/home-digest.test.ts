// Replicas compare their homes by digest: equal files give equal digests whatever
// their timestamps; any change of content, name or mode shows; a home too large to
// read is not compared rather than read at length.
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, utimesSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HomeDigest } from './home-digest.js';

const root = mkdtempSync(join(tmpdir(), 'holdfast-home-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function home(name: string): string {
  const dir = join(root, name);
  mkdirSync(join(dir, 'notes'), { recursive: true });
  writeFileSync(join(dir, 'notes', 'todo.txt'), 'milk\nbread\n');
  writeFileSync(join(dir, '.history'), 'ls\n');
  symlinkSync('notes/todo.txt', join(dir, 'todo'));
  return dir;
}

describe('HomeDigest', () => {
  it('is the same for the same files written at other times, and changes with content, names and modes', async () => {
    const a = home('a');
    const b = home('b');
    utimesSync(join(b, 'notes', 'todo.txt'), new Date(2001, 1, 1), new Date(2001, 1, 1));
    const digestA = new HomeDigest(a);
    const digestB = new HomeDigest(b);
    expect(await digestA.digest()).toBe(await digestB.digest());
    writeFileSync(join(b, 'notes', 'todo.txt'), 'milk\nbreaD\n'); // same size, other content
    expect(await digestB.digest()).not.toBe(await digestA.digest());
    writeFileSync(join(b, 'notes', 'todo.txt'), 'milk\nbread\n');
    expect(await digestB.digest()).toBe(await digestA.digest());
    chmodSync(join(b, '.history'), 0o600);
    expect(await digestB.digest()).not.toBe(await digestA.digest());
    chmodSync(join(b, '.history'), 0o644);
    writeFileSync(join(b, 'tmp.x1y2'), '');
    expect(await digestB.digest()).not.toBe(await digestA.digest());
  });

  it('leaves out what editors, git and Python derive and stamp with host details: swap files, locks, git’s index, bytecode caches, ~/.cache, ~/.fontconfig', async () => {
    const a = home('d');
    const b = home('e');
    writeFileSync(join(a, 'notes', '.todo.txt.swp'), 'inode 1234, mtime 1');
    writeFileSync(join(b, 'notes', '.todo.txt.swp'), 'inode 9876, mtime 2');
    mkdirSync(join(b, '__pycache__'));
    writeFileSync(join(b, '__pycache__', 'tool.cpython-311.pyc'), 'mtime 2');
    writeFileSync(join(b, '.#todo.txt'), 'user@holdfast.42');
    for (const [home, stat] of [[a, 'ino 1234'], [b, 'ino 9876']]) {
      mkdirSync(join(home!, 'repo', '.git'), { recursive: true });
      writeFileSync(join(home!, 'repo', '.git', 'index'), `DIRC ${stat}`);
      writeFileSync(join(home!, 'repo', '.git', 'HEAD'), 'ref: refs/heads/main\n');
    }
    mkdirSync(join(b, '.cache', 'fontconfig'), { recursive: true });
    writeFileSync(join(b, '.cache', 'fontconfig', 'CACHEDIR.TAG'), 'host 2');
    // fontconfig's older cache directory: a replacement standby's xclock wrote one the primary's had not.
    mkdirSync(join(b, '.fontconfig'));
    writeFileSync(join(b, '.fontconfig', '4c599c202bc5c08e2d34565a40eac3b2-le64.cache-8'), 'cache of /usr/local/share/fonts');
    expect(await new HomeDigest(b).digest()).toBe(await new HomeDigest(a).digest());
    // What git keeps of a person's work still counts.
    writeFileSync(join(b, 'repo', '.git', 'HEAD'), 'ref: refs/heads/other\n');
    expect(await new HomeDigest(b).digest()).not.toBe(await new HomeDigest(a).digest());
  });

  it('does not compare a home with more entries or bytes than it may read', async () => {
    const a = home('c');
    expect(await new HomeDigest(a, { entries: 4, bytes: 1024 }).digest()).not.toBeNull();
    expect(await new HomeDigest(a, { entries: 3, bytes: 1024 }).digest()).toBeNull();
    expect(await new HomeDigest(a, { entries: 4, bytes: 10 }).digest()).toBeNull();
  });
});
