// A walked selection as a zip (zip-selection.ts), from files made up in memory: the
// size reckoned before the first byte is the size sent — with a central directory past
// 64 KiB too — python3's zipfile reads back every name and byte, names that would read
// as folders or drives are stored safely, and a file that fails midway fails the zip.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { SessionFileError } from '../../shared/protocol/index.js';
import type { SessionFile, SessionSelection } from './context.js';
import { zipName, zipSelection } from './zip-selection.js';

const scratch = mkdtempSync(join(tmpdir(), 'holdfast-zip-unit-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A file of `bytes`; with `failAt`, its stream errors after that many bytes (as a changed file's does). */
function file(name: string, bytes: Buffer, failAt?: number): SessionFile {
  return {
    name,
    size: bytes.length,
    modifiedAt: Date.UTC(2026, 0, 2, 3, 4, 6),
    version: 'v',
    read: (offset, length) => {
      if (failAt === undefined) return Readable.from([bytes.subarray(offset, offset + length)]);
      return new Readable({
        read() {
          this.push(bytes.subarray(0, failAt));
          this.destroy(new SessionFileError('changed', `"${name}" changed while it was read; download it again.`));
        },
      });
    },
  };
}

function selection(files: Array<[string, Buffer]>, folders: string[] = []): SessionSelection {
  return {
    paths: ['x'],
    skipped: [],
    entries: [
      ...folders.map((path) => ({ path, kind: 'folder' as const, size: 0, modifiedAt: 0, file: null })),
      ...files.map(([path, bytes]) => ({ path, kind: 'file' as const, size: bytes.length, modifiedAt: 0, file: file(path, bytes) })),
    ],
  };
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function read(zip: Buffer): Array<[string, string]> {
  const path = join(scratch, `${Math.random().toString(36).slice(2)}.zip`);
  writeFileSync(path, zip);
  const script = ['import json, sys, zipfile', 'z = zipfile.ZipFile(sys.argv[1])', 'assert z.testzip() is None', 'print(json.dumps([[i.filename, z.read(i).decode()] for i in z.infolist()]))'].join('\n');
  return JSON.parse(execFileSync('python3', ['-c', script, path], { encoding: 'utf8' })) as Array<[string, string]>;
}

describe('a selection as a zip', () => {
  it('sends exactly the size it reckoned, and every name and byte reads back', async () => {
    const zip = zipSelection(selection([['box/a.txt', Buffer.from('alpha\n')], ['box/ü\nb.txt', Buffer.from('beta\n')]], ['box']));
    const bytes = await collect(zip.stream);
    expect(bytes.length).toBe(zip.size);
    expect(read(bytes)).toEqual([
      ['box/', ''],
      ['box/a.txt', 'alpha\n'],
      ['box/ü\nb.txt', 'beta\n'],
    ]);
  });

  it('reckons its size right with a central directory past 64 KiB (1500 entries)', async () => {
    const many = Array.from({ length: 1500 }, (_, i): [string, Buffer] => [`folder/file-${String(i).padStart(5, '0')}.txt`, Buffer.from(`${i}\n`)]);
    const zip = zipSelection(selection(many, ['folder']));
    const bytes = await collect(zip.stream);
    expect(bytes.length).toBe(zip.size);
    const entries = read(bytes);
    expect(entries).toHaveLength(1501);
    expect(entries[1500]).toEqual(['folder/file-01499.txt', '1499\n']);
  });

  it('stores a "\\" and a drive-like first name safely', () => {
    expect(zipName('a\\b')).toBe('a_b');
    expect(zipName('C:notes/x')).toBe('C_notes/x');
    expect(zipName('notes/C:x')).toBe('notes/C:x');
  });

  it('fails the zip when a file in it fails midway', async () => {
    const broken: SessionSelection = {
      paths: ['x'],
      skipped: [],
      entries: [{ path: 'x.bin', kind: 'file', size: 100_000, modifiedAt: 0, file: file('x.bin', Buffer.alloc(100_000, 1), 5000) }],
    };
    const zip = zipSelection(broken);
    await expect(collect(zip.stream)).rejects.toThrow('"x.bin" changed while it was read; download it again.');
  });
});
