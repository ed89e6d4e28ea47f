// The display's keymap keeps room for every character typed (broker/host/keymap-keeper.ts),
// against a real node, its Xvnc and xev: characters the US keymap lacks, typed as keysyms
// the way the web client types them, all reach the app — the first key of the session,
// and hundreds of different ones after it, where TigerVNC alone drops all but 19.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, startNode, type TestNode } from '../support/harness.js';
import { readRunningHomeFile } from '../support/homes.js';
import { waitFor } from '../support/wait.js';
import { launchGui } from './gui.js';

const KEY_LOG = { id: 'key-log', name: 'Key log', display: 'rfb', geometry: '640x480', command: '/bin/bash', args: ['-c', 'exec /usr/bin/xev -event keyboard > "$HOME/xev.log"'] };

let t: TestNode;
beforeAll(async () => {
  t = await startNode({ apps: [KEY_LOG] });
});
afterAll(async () => {
  await t?.stop();
});

/** The characters xev's key presses typed, in order. */
function typed(): string[] {
  for (const id of readdirSync(join(t.stateDir, 'sandboxes'))) {
    const log = readRunningHomeFile(t.stateDir, id, 'xev.log');
    if (!log) continue;
    return log
      .toString('utf8')
      .split('\n\n')
      .filter((block) => block.trim().startsWith('KeyPress'))
      .map((block) => /XLookupString gives \d+ bytes: (?:\([0-9a-f ]+\) )?"(.*)"/.exec(block)?.[1] ?? '');
  }
  return [];
}

describe('the keymap keeper', () => {
  it('types the session’s first key even when Xvnc must add it, and 400 different CJK characters after it', async () => {
    const ann = client(t.url);
    await ann.signIn('ann', 'ann-pw');
    const gui = await launchGui(ann, KEY_LOG.id);
    await gui.steady();
    gui.viewer.pointer(0, 320, 240);
    gui.viewer.type('ü');
    await waitFor('the first key', () => typed().length >= 1, 20_000);
    // Phrases of 10 at 40 characters a second: faster than anyone types or an input method commits.
    const many = Array.from({ length: 400 }, (_, i) => String.fromCodePoint(0x4e00 + i * 3));
    for (let i = 0; i < many.length; i += 10) {
      gui.viewer.type(many.slice(i, i + 10).join(''));
      await new Promise((r) => setTimeout(r, 250));
    }
    gui.viewer.type('.');
    const got = await waitFor('the last key', () => {
      const now = typed();
      return now.at(-1) === '.' ? now : null;
    }, 30_000);
    expect(got[0]).toBe('ü');
    const lost = many.filter((c) => !got.includes(c));
    expect(lost.length, `lost: ${lost.slice(0, 30).join('')}`).toBe(0);
    expect(got.join('')).toBe(`ü${many.join('')}.`);
    gui.stream.close();
    ann.signOut();
  }, 120_000);
});
