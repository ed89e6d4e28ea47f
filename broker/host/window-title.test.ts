import { execFileSync } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_TITLE, TITLE_FILE, WindowTitle, cleanTitle, readUntrusted } from './window-title.js';
import { waitFor } from '../../support/wait.js';

const dirs: string[] = [];
const dir = () => {
  const made = mkdtempSync(join(tmpdir(), 'holdfast-title-'));
  dirs.push(made);
  return made;
};
afterEach(() => {
  for (const made of dirs.splice(0)) rmSync(made, { recursive: true, force: true });
});

describe('a GUI app’s window title, as the host takes it from the sandbox', () => {
  it('tells each new title once, as the watcher replaces the file', async () => {
    const display = dir();
    const seen: string[] = [];
    const title = new WindowTitle(display, (t) => seen.push(t));
    const write = (text: string) => {
      writeFileSync(join(display, `${TITLE_FILE}.new`), text);
      renameSync(join(display, `${TITLE_FILE}.new`), join(display, TITLE_FILE));
    };
    write('Untitled 1 - Mousepad');
    await waitFor('the first title', () => seen.length === 1);
    write('*Untitled 1 - Mousepad');
    await waitFor('the changed title', () => seen.length === 2);
    expect(seen).toEqual(['Untitled 1 - Mousepad', '*Untitled 1 - Mousepad']);
    expect(title.title).toBe('*Untitled 1 - Mousepad');
    title.close();
  });

  it('reads no link to a host file, nor a FIFO that would never answer; control characters and length are cut', () => {
    const display = dir();
    const secret = join(display, 'host-secret');
    writeFileSync(secret, 'root:$6$hash');
    symlinkSync(secret, join(display, TITLE_FILE));
    expect(readUntrusted(join(display, TITLE_FILE), 100)).toBeNull();
    const fifo = join(display, 'fifo');
    execFileSync('mkfifo', [fifo]);
    expect(readUntrusted(fifo, 100)).toBeNull();
    writeFileSync(join(display, 'long'), 'x'.repeat(5000));
    expect(readUntrusted(join(display, 'long'), 800)).toHaveLength(800);
    expect(cleanTitle(`\x1b]0;evil\x07 Calc\n`)).toBe(']0;evil  Calc');
    expect(cleanTitle('y'.repeat(500))).toHaveLength(MAX_TITLE);
  });
});
