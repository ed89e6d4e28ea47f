// Walking a selection for a zip (home-tree.ts) over find output made up here: chosen
// paths' names, what is left out, the order, the cap. Walking a real sandbox is
// test/files-zip.test.ts's.
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { SessionFileError } from '../../shared/protocol/index.js';
import type { Ran } from './sandbox-commands.js';
import { walkSelection, type TreeAccess } from './home-tree.js';

/** find's records: depth, type, size, mtime, inode, path below the start. */
const records = (...rows: Array<[number, string, number, string]>) => Buffer.from(rows.map(([depth, type, size, path]) => `${depth}\t${type}\t${size}\t1700000000.5\t7\t${path}\0`).join(''));

/** A sandbox whose find prints `trees[real]`; every chosen path resolves to /home/user/<path>. */
function access(trees: Record<string, Buffer>): TreeAccess & { opened: string[] } {
  const opened: string[] = [];
  return {
    opened,
    resolve: async (arg) => `/home/user/${arg.slice(2)}`,
    run: async (command, limit): Promise<Ran> => {
      const real = command[1]!;
      if (command.includes('-readable')) return { code: 0, stdout: Buffer.alloc(0), stderr: '', cut: false };
      const all = trees[real] ?? Buffer.alloc(0);
      const ends = [...all.entries()].filter(([, byte]) => byte === 0).map(([at]) => at);
      const cut = limit !== undefined && ends.length > limit;
      return { code: 0, stdout: cut ? all.subarray(0, ends[limit - 1]! + 1) : all, stderr: '', cut };
    },
    open: (real, relative, stat) => {
      opened.push(real);
      return { name: relative, size: stat.size, modifiedAt: stat.modifiedAt, version: stat.version, read: () => Readable.from([]) };
    },
  };
}

describe('walking a selection', () => {
  it('names entries by the chosen path, folders before what is in them, links and pipes left out', async () => {
    const home = access({
      '/home/user/docs/q3': records([0, 'd', 4096, ''], [1, 'f', 5, 'z.txt'], [1, 'd', 4096, 'sub'], [2, 'f', 3, 'sub/a b'], [1, 'l', 11, 'out'], [1, 'p', 0, 'pipe']),
      '/home/user/top.txt': records([0, 'f', 4, '']),
    });
    const walked = await walkSelection(home, ['docs/q3/', 'top.txt', 'docs//q3'], 100);
    expect(walked.paths).toEqual(['docs/q3', 'top.txt']);
    expect(walked.entries.map((e) => [e.path, e.kind, e.size])).toEqual([
      ['q3', 'folder', 0],
      ['q3/sub', 'folder', 0],
      ['q3/sub/a b', 'file', 3],
      ['q3/z.txt', 'file', 5],
      ['top.txt', 'file', 4],
    ]);
    expect(walked.skipped).toEqual(['q3/out', 'q3/pipe']);
    expect(home.opened).toEqual(['/home/user/docs/q3/sub/a b', '/home/user/docs/q3/z.txt', '/home/user/top.txt']);
  });

  it('gives two chosen paths of the same name names of their own', async () => {
    const home = access({ '/home/user/a/x': records([0, 'f', 1, '']), '/home/user/b/x': records([0, 'f', 2, '']) });
    expect((await walkSelection(home, ['a/x', 'b/x'], 10)).entries.map((e) => e.path)).toEqual(['x', 'x (2)']);
  });

  it('refuses more entries than the cap, across the chosen paths, in words', async () => {
    const home = access({ '/home/user/a': records([0, 'd', 0, ''], [1, 'f', 1, '1'], [1, 'f', 1, '2']), '/home/user/b': records([0, 'd', 0, ''], [1, 'f', 1, '3']) });
    expect((await walkSelection(home, ['a', 'b'], 5)).entries).toHaveLength(5);
    const refusal = await walkSelection(home, ['a', 'b'], 4).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(SessionFileError);
    expect(refusal).toMatchObject({ code: 'too_many_files', message: expect.stringContaining('more than 4 files and folders') });
  });
});
