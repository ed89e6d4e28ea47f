// Uploads into a session's home from a real node and sandbox (issue 23, upload): a file
// sent in pieces — resumed at the offset the node says — lands whole, its sha256sum
// inside the sandbox the sender's; a taken name gets a numbered one, folders are made,
// a repeated begin finds its upload, a wrong offset is told the right one, Cancel and a
// full home leave nothing behind, paths out of the home are refused by where they lead
// in the sandbox, policies turn uploads off or cap their size, another person learns
// nothing, and every upload is in the audit log.
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Screen, client, launch, sh, startNode, type TestNode, auditEvents } from '../support/harness.js';
import { UploadStateSchema, type UploadStateInfo } from '../shared/protocol/index.js';
import type { SessionStream } from '../shared/core/index.js';

const VAULT = { id: 'vault', name: 'Vault', command: '/bin/bash', args: ['--norc', '--noprofile', '-i'], env: { PS1: '$ ' } };
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

let node: TestNode;
let token = '';
let bobToken = '';
let id = '';
let vaultId = '';
const streams: SessionStream[] = [];
let screen: Screen;

async function run(command: string, timeoutMs?: number): Promise<string> {
  const { output, status } = await sh(streams[0]!, screen, command, timeoutMs);
  if (status !== 0) throw new Error(`${command}: exit ${status}\n${output}`);
  return output;
}

beforeAll(async () => {
  node = await startNode({ apps: [VAULT], transferPolicies: [{ apps: ['vault'], upload: false }, { apps: ['shell'], maxFileMiB: 200 }] });
  const ann = client(node.url);
  await ann.signIn('ann', 'ann-pw');
  token = ann.apiToken!;
  const bob = client(node.url);
  await bob.signIn('bob', 'bob-pw');
  bobToken = bob.apiToken!;
  streams.push(await launch(ann, 'shell'));
  screen = new Screen(streams[0]!);
  id = streams[0]!.sessionId!;
  await screen.waitFor('$ ');
  const ann2 = client(node.url);
  await ann2.signIn('ann', 'ann-pw');
  streams.push(await launch(ann2, 'vault'));
  vaultId = streams[1]!.sessionId!;
  await run('mkdir docs && echo old > docs/report.txt && ln -s /tmp outside && ln -s docs inside');
}, 90_000);

afterAll(async () => {
  for (const stream of streams) stream.close();
  await node?.stop();
});

const url = (session: string, upload?: number) => `${node.url}/api/sessions/${encodeURIComponent(session)}/uploads${upload === undefined ? '' : `/${upload}`}`;

interface Reply {
  status: number;
  json: Record<string, unknown>;
}

async function call(method: string, target: string, body?: unknown, headers: Record<string, string> = {}, bearer = token): Promise<Reply> {
  const init: RequestInit & { duplex?: 'half' } = { method, headers: { authorization: `Bearer ${bearer}`, ...headers } };
  if (body instanceof Uint8Array) init.body = body as Uint8Array<ArrayBuffer>;
  else if (body !== undefined) {
    init.body = JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] = 'application/json';
  }
  const reply = await fetch(target, init);
  return { status: reply.status, json: (await reply.json()) as Record<string, unknown> };
}

const begin = async (path: string, size: number | null, extra: Record<string, unknown> = {}, session = id) => call('POST', url(session), { path, size, ...extra });
const patch = (upload: number, offset: number, bytes: Uint8Array, done = false) =>
  call('PATCH', url(id, upload), bytes, { 'content-type': 'application/offset+octet-stream', 'upload-offset': String(offset), ...(done ? { 'upload-done': '1' } : {}) });

const audited = () => auditEvents(node.stateDir, 'session.upload');

describe('uploads into a session’s home', () => {
  it('takes a file in pieces, resumed where the node says, and it lands whole with the sender’s SHA-256', async () => {
    const bytes = randomBytes(5_000_000);
    const begun = await begin('file.bin', bytes.length);
    expect(begun.status).toBe(201);
    const state: UploadStateInfo = UploadStateSchema.parse(begun.json);
    expect(state).toMatchObject({ path: 'file.bin', offset: 0, status: 'receiving', size: bytes.length });
    const first = await patch(state.upload, 0, bytes.subarray(0, 2_000_000));
    expect(first.json).toMatchObject({ offset: 2_000_000, status: 'receiving' });
    // A client that lost its answer resends from the wrong place: it is told the right one.
    const wrong = await patch(state.upload, 1_000_000, bytes.subarray(1_000_000, 2_000_000));
    expect(wrong.status).toBe(409);
    expect(wrong.json).toMatchObject({ error: 'offset_mismatch', offset: 2_000_000 });
    expect((await call('GET', url(id, state.upload))).json).toMatchObject({ offset: 2_000_000 });
    const last = await patch(state.upload, 2_000_000, bytes.subarray(2_000_000));
    expect(last.json).toMatchObject({ offset: bytes.length, status: 'done', sha256: sha256(bytes) });
    expect(await run('sha256sum file.bin')).toContain(sha256(bytes));
    // Nothing is left in the spool.
    expect(await run('ls -A ~/.cache/holdfast/uploads | wc -l')).toMatch(/^\s*0\s*$/m);
    expect(audited()).toContainEqual(expect.objectContaining({ user: 'ann', session: id, result: 'completed', path: 'file.bin', bytes: bytes.length, sha256: sha256(bytes) }));
  }, 60_000);

  it('gives a taken name a number, makes folders, follows links inside the home, and finds a repeated begin by its key', async () => {
    const taken = await begin('docs/report.txt', 3);
    expect(taken.json).toMatchObject({ path: 'docs/report (1).txt' });
    await patch(taken.json.upload as number, 0, Buffer.from('new'));
    expect(await run('cat docs/report.txt; echo; cat "docs/report (1).txt"')).toMatch(/old\s+new/);
    const nested = await begin('photos/2026/a.txt', null, { key: 'key-12345678' });
    const again = await begin('photos/2026/a.txt', null, { key: 'key-12345678' });
    expect(again.json.upload).toBe(nested.json.upload);
    const done = await patch(nested.json.upload as number, 0, Buffer.from('nested\n'), true);
    expect(done.json).toMatchObject({ status: 'done', path: 'photos/2026/a.txt' });
    expect(await run('cat photos/2026/a.txt')).toContain('nested');
    // "inside" is a link to docs: the file goes where the link leads, in the sandbox.
    const linked = await begin('inside/linked.txt', 0);
    expect(linked.json).toMatchObject({ path: 'docs/linked.txt', status: 'receiving' });
    // An empty file: one PATCH with no bytes ends it.
    expect((await patch(linked.json.upload as number, 0, new Uint8Array(0), true)).json).toMatchObject({ status: 'done', offset: 0 });
    expect(await run('ls -l docs/linked.txt')).toMatch(/ 0 .*docs\/linked\.txt/);
  }, 60_000);

  it('refuses paths that leave the home — by "..", or by a link that leads out in the sandbox', async () => {
    expect((await begin('../escape.txt', 1)).json).toMatchObject({ error: 'outside_home' });
    expect((await begin('/etc/escape.txt', 1)).json).toMatchObject({ error: 'outside_home' });
    const out = await begin('outside/escape.txt', 1);
    expect(out.status).toBe(400);
    expect(out.json).toMatchObject({ error: 'outside_home' });
    expect((await begin('docs/report.txt/x', 1)).json).toMatchObject({ error: 'not_a_folder' });
    expect(audited()).toContainEqual(expect.objectContaining({ result: 'refused', session: id }));
  }, 30_000);

  it('stops at a full home with the room left in words, and leaves nothing behind; Cancel leaves nothing either', async () => {
    const free = Number(/(\d+)/.exec(await run("echo $(( $(stat -f -c '%a*%S' .) ))"))![1]);
    const tooBig = await begin('big.bin', free + 1024 * 1024);
    expect(tooBig.status).toBe(507);
    expect(String(tooBig.json.message)).toMatch(/not enough space in your home \(\d+ MiB free\)/);
    // Size not announced: the home fills while the bytes come.
    const unknown = await begin('fill.bin', null);
    const upload = unknown.json.upload as number;
    // Twice what is free: the home fills while the client is still sending, and it must still read the answer.
    const full = await patch(upload, 0, randomBytes(free * 2), true);
    expect(full.status).toBe(507);
    expect(String(full.json.message)).toMatch(/not enough space in your home \(\d+ MiB free\)/);
    expect((await call('GET', url(id, upload))).json).toMatchObject({ status: 'aborted' });
    expect(await run('ls -A ~/.cache/holdfast/uploads | wc -l; ls fill.bin 2>&1 || true')).toMatch(/^\s*0\s*$[\s\S]*No such file/m);
    const cancelled = await begin('cancel.bin', 1_000_000);
    const cancelId = cancelled.json.upload as number;
    await patch(cancelId, 0, randomBytes(300_000));
    expect((await call('DELETE', url(id, cancelId))).json).toMatchObject({ status: 'aborted' });
    expect(await run('ls -A ~/.cache/holdfast/uploads | wc -l; ls cancel.bin 2>&1 || true')).toMatch(/^\s*0\s*$[\s\S]*No such file/m);
    expect(audited()).toContainEqual(expect.objectContaining({ result: 'cancelled', upload: cancelId }));
  }, 90_000);

  it('keeps to the policies and to the owner', async () => {
    const off = await begin('x.txt', 1, {}, vaultId);
    expect(off.status).toBe(403);
    expect(off.json).toMatchObject({ error: 'upload_off', message: 'Uploading files to Vault is turned off by your administrator.' });
    const large = await begin('large.bin', 201 * 1024 * 1024);
    expect(large.status).toBe(413);
    expect(String(large.json.message)).toContain('larger than 200 MiB');
    const bob = await call('POST', url(id), { path: 'x.txt', size: 1 }, {}, bobToken);
    expect(bob.status).toBe(404);
    expect((await call('POST', url(id), { path: 'x.txt', size: 1 }, {}, 'nonsense')).status).toBe(401);
    expect((await call('POST', url(id), { path: 'x.txt', size: -1 })).json).toMatchObject({ error: 'bad_request' });
    expect(audited()).toContainEqual(expect.objectContaining({ result: 'refused', session: vaultId, detail: 'transferPolicies: upload is off' }));
  }, 30_000);
});
