// Running sessions' thumbnails (issue 22, point 5) from a real node: GET
// /api/sessions/ID/thumbnail answers the session's owner (and an administrator) with
// the terminal's visible rows, or a graphical screen as a small PNG; anyone else, an
// unknown id and an ended session all get the same 404, and no token gets 401.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Screen, client, launch, startNode, type TestNode } from '../support/harness.js';
import { ThumbnailSchema } from '../shared/protocol/index.js';
import { waitFor } from '../support/wait.js';
import { launchGui } from './gui.js';

const artifacts = join(import.meta.dirname, '..', 'test-artifacts');
const XTERM = { id: 'gui-xterm', name: 'GUI XTerm', display: 'rfb', geometry: '800x600', command: '/usr/bin/xterm', args: ['-fa', 'DejaVu Sans Mono', '-fs', '11'] };

let node: TestNode;

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  node = await startNode({ apps: [XTERM], admin: true });
});

afterAll(async () => {
  await node?.stop();
});

async function thumbnail(id: string, token: string | null): Promise<{ status: number; body: unknown; type: string | null }> {
  const reply = await fetch(`${node.url}/api/sessions/${encodeURIComponent(id)}/thumbnail`, { headers: token === null ? {} : { authorization: `Bearer ${token}` } });
  return { status: reply.status, type: reply.headers.get('content-type'), body: await reply.json() };
}

async function signedIn(user: string) {
  const c = client(node.url);
  await c.signIn(user, `${user}-pw`);
  return { c, token: c.apiToken! };
}

describe('a running session’s thumbnail', () => {
  it('shows its owner a terminal’s visible rows, and nobody else anything', async () => {
    const ann = await signedIn('ann');
    const stream = await launch(ann.c, 'python');
    const screen = new Screen(stream);
    const id = stream.sessionId!;
    stream.sendInput("print('thumb' + 'nail-marker')\r");
    await screen.waitFor('thumbnail-marker\r\n');

    const mine = await thumbnail(id, ann.token);
    expect(mine.status).toBe(200);
    expect(mine.type).toMatch(/^application\/json/);
    const parsed = ThumbnailSchema.parse(mine.body);
    expect(parsed).toMatchObject({ kind: 'text', cols: 80, rows: 24 });
    const rows = parsed.kind === 'text' ? parsed.text.split('\n') : [];
    expect(rows).toHaveLength(24);
    expect(rows).toContain('thumbnail-marker');
    expect(rows).toContain(">>> print('thumb' + 'nail-marker')");

    // An administrator may look too.
    const admin = await signedIn('admin');
    expect((await thumbnail(id, admin.token)).status).toBe(200);

    // bob learns nothing: his answer about ann's session is the one about no session at all.
    const bob = await signedIn('bob');
    const notHis = await thumbnail(id, bob.token);
    const unknown = await thumbnail('AAAAAAAAAAAAAAAAAAAAAA', bob.token);
    expect(notHis.status).toBe(404);
    expect(notHis.body).toEqual(unknown.body);
    expect(notHis.body).toEqual({ error: 'no_such_session', message: expect.any(String) });
    expect(await thumbnail('AAAAAAAAAAAAAAAAAAAAAA', ann.token)).toEqual(unknown);

    // No token, or a forged one: 401.
    for (const token of [null, 'not-a-token']) {
      const anonymous = await thumbnail(id, token);
      expect(anonymous.status).toBe(401);
      expect(anonymous.body).toMatchObject({ error: 'unauthenticated' });
    }

    // Once it has ended, it is gone for its owner too.
    stream.sendInput('exit()\r');
    await stream.finished();
    await waitFor('the ended session to be gone', async () => JSON.stringify(await thumbnail(id, ann.token)) === JSON.stringify(unknown), 5000);
    for (const c of [ann.c, admin.c, bob.c]) c.signOut();
  }, 60_000);

  it('shows a graphical screen as a PNG of at most 320 pixels across', async () => {
    const ann = await signedIn('ann');
    const gui = await launchGui(ann.c, XTERM.id);
    await gui.steady();
    // Until the host's own view of the display has settled the answer is 503 "not ready"
    // (the launcher keeps the app's icon and asks again at its next refresh).
    const reply = await waitFor('the picture', async () => {
      const answer = await thumbnail(gui.stream.sessionId!, ann.token);
      return answer.status === 200 ? answer : null;
    }, 20_000);
    const parsed = ThumbnailSchema.parse(reply.body);
    if (parsed.kind !== 'image') throw new Error(`a ${parsed.kind} thumbnail for a graphical session`);
    const png = Buffer.from(parsed.png, 'base64');
    writeFileSync(join(artifacts, 'thumbnail-gui-xterm.png'), png);
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(png.toString('latin1', 12, 16)).toBe('IHDR');
    const [width, height] = [png.readUInt32BE(16), png.readUInt32BE(20)];
    expect(width).toBeGreaterThan(0);
    expect(width).toBeLessThanOrEqual(320);
    // 800×600, scaled to 320 across: the same shape.
    expect([width, height, parsed.width, parsed.height]).toEqual([320, 240, 320, 240]);
    expect(png.toString('latin1', 37, 41)).toBe('IDAT');
    expect(inflateSync(png.subarray(41, 41 + png.readUInt32BE(33))).length).toBe((width * 3 + 1) * height);
    gui.stream.close();
    ann.c.signOut();
  }, 60_000);
});
