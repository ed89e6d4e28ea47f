// A session's files from a real node (issue 23, download): GET /api/sessions/ID/files
// lists the home as the sandbox sees it, and /files/content sends a file's bytes —
// whole, or from a Range on condition of its ETag — to the session's owner only. What
// the shell app made inside the sandbox is what comes out (its sha256sum), links that
// lead out of the home and `..` are refused in words, a FIFO is refused without
// hanging, a file replaced while it is read is cut off, policies turn downloads off or
// cap their size, and every download is in the audit log.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Screen, client, launch, sh, startNode, type TestNode, auditEvents } from '../support/harness.js';
import { FileListingSchema } from '../shared/protocol/index.js';
import type { SessionStream } from '../shared/core/index.js';
import { waitFor } from '../support/wait.js';

const VAULT = { id: 'vault', name: 'Vault', command: '/bin/bash', args: ['--norc', '--noprofile', '-i'], env: { PS1: '$ ' } };
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

let node: TestNode;
let token = '';
let bobToken = '';
let id = '';
let stream: SessionStream | undefined;
let screen: Screen;
/** What sha256sum printed inside the sandbox for file.bin. */
let inside = '';

beforeAll(async () => {
  node = await startNode({
    apps: [VAULT],
    transferPolicies: [
      { apps: ['vault'], download: false },
      { apps: ['shell'], maxFileMiB: 30 },
    ],
  });
  const ann = client(node.url);
  await ann.signIn('ann', 'ann-pw');
  token = ann.apiToken!;
  const bob = client(node.url);
  await bob.signIn('bob', 'bob-pw');
  bobToken = bob.apiToken!;
  stream = await launch(ann, 'shell');
  screen = new Screen(stream);
  id = stream.sessionId!;
  await screen.waitFor('$ ');
  const run = async (command: string, timeoutMs?: number) => {
    const { output, status } = await sh(stream!, screen, command, timeoutMs);
    if (status !== 0) throw new Error(`${command}: exit ${status}\n${output}`);
    return output;
  };
  await run("printf 'hello files\\n' > file.txt");
  inside = /([0-9a-f]{64}) {2}file\.bin/.exec(await run('head -c 5000000 /dev/urandom > file.bin && sha256sum file.bin'))![1]!;
  // Sparse: its size counts against the policy's limit, not against the home's quota.
  await run('truncate -s 40000000 big.bin && truncate -s 25000000 sparse.bin');
  await run('mkdir -p folder/sub && echo inner > folder/inner.txt');
  await run('ln -s /etc/passwd passwd-link && ln -s folder/inner.txt inner-link');
  await run(`ln -s ${node.stateDir} state-link && ln -s ${join(node.stateDir, 'audit.log')} audit-link`);
  await run('mkfifo pipe');
  await run("echo two lines > $'new\\nline.txt'");
  await run('mkdir many && (cd many && seq 10050 | xargs touch)', 30_000);
}, 90_000);

afterAll(async () => {
  stream?.close();
  await node?.stop();
});

const api = (session: string, path: string | null, content = false) =>
  `${node.url}/api/sessions/${encodeURIComponent(session)}/files${content ? '/content' : ''}${path === null ? '' : `?path=${encodeURIComponent(path)}`}`;

async function get(url: string, headers: Record<string, string> = {}, bearer: string | null = token) {
  const reply = await fetch(url, { headers: { ...(bearer === null ? {} : { authorization: `Bearer ${bearer}` }), ...headers } });
  const bytes = Buffer.from(await reply.arrayBuffer());
  const json = (reply.headers.get('content-type') ?? '').startsWith('application/json') ? (JSON.parse(bytes.toString('utf8')) as unknown) : null;
  return { status: reply.status, headers: reply.headers, bytes, json };
}

const audited = () => auditEvents(node.stateDir, 'session.download');

describe('a session’s files', () => {
  it('lists the home as the sandbox sees it: kinds, sizes, odd names, sorted', async () => {
    const reply = await get(api(id, null));
    expect(reply.status).toBe(200);
    const listing = FileListingSchema.parse(reply.json);
    expect(listing.path).toBe('');
    expect(listing.truncated).toBe(false);
    const byName = new Map(listing.entries.map((e) => [e.name, e]));
    expect(byName.get('file.txt')).toMatchObject({ kind: 'file', size: 12 });
    expect(byName.get('file.bin')).toMatchObject({ kind: 'file', size: 5_000_000 });
    expect(byName.get('folder')).toMatchObject({ kind: 'folder' });
    expect(byName.get('passwd-link')).toMatchObject({ kind: 'link', size: '/etc/passwd'.length });
    expect(byName.get('state-link')).toMatchObject({ kind: 'link' });
    expect(byName.get('pipe')).toMatchObject({ kind: 'other', size: 0 });
    expect(byName.get('new\nline.txt')).toMatchObject({ kind: 'file', size: 10 });
    expect(Math.abs(byName.get('file.txt')!.modifiedAt - Date.now())).toBeLessThan(120_000);
    const names = listing.entries.map((e) => e.name);
    expect(names).toEqual([...names].sort());

    const folder = FileListingSchema.parse((await get(api(id, 'folder/'))).json);
    expect(folder).toMatchObject({ path: 'folder', truncated: false });
    expect(folder.entries.map((e) => [e.name, e.kind])).toEqual([
      ['inner.txt', 'file'],
      ['sub', 'folder'],
    ]);
  });

  it('lists at most 10 000 entries of a huge folder, and says so', async () => {
    const listing = FileListingSchema.parse((await get(api(id, 'many'))).json);
    expect(listing.entries).toHaveLength(10_000);
    expect(listing.truncated).toBe(true);
  }, 30_000);

  it('sends a file whole, with the SHA-256 sha256sum printed inside the sandbox', async () => {
    const reply = await get(api(id, 'file.bin', true));
    expect(reply.status).toBe(200);
    expect(reply.bytes.length).toBe(5_000_000);
    expect(sha256(reply.bytes)).toBe(inside);
    expect(reply.headers.get('content-type')).toBe('application/octet-stream');
    expect(reply.headers.get('content-length')).toBe('5000000');
    expect(reply.headers.get('content-disposition')).toBe(`attachment; filename="file.bin"; filename*=UTF-8''file.bin`);
    expect(reply.headers.get('accept-ranges')).toBe('bytes');
    expect(reply.headers.get('etag')).toMatch(/^"[0-9a-z]+-\d+-\d+"$/);
    expect(Date.parse(reply.headers.get('last-modified')!)).toBeGreaterThan(Date.now() - 120_000);
    // Through a link inside the home, and under a name with a newline.
    expect((await get(api(id, 'inner-link', true))).bytes.toString()).toBe('inner\n');
    const odd = await get(api(id, 'new\nline.txt', true));
    expect(odd.bytes.toString()).toBe('two lines\n');
    expect(odd.headers.get('content-disposition')).toContain(`filename*=UTF-8''new%0Aline.txt`);
    // HEAD: the same head, no body.
    const head = await fetch(api(id, 'file.bin', true), { method: 'HEAD', headers: { authorization: `Bearer ${token}` } });
    expect([head.status, head.headers.get('content-length'), head.headers.get('etag')]).toEqual([200, '5000000', reply.headers.get('etag')]);
  });

  it('lets go of the file when a download is cut off midway', async () => {
    // The node reads the file itself once dd has it open (open-file-of.ts): its descriptor is the node's, here.
    const holding = () =>
      readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`).endsWith('/sparse.bin');
        } catch {
          return false;
        }
      }).length;
    const cut = new AbortController();
    const reply = await fetch(api(id, 'sparse.bin', true), { headers: { authorization: `Bearer ${token}` }, signal: cut.signal });
    const reader = reply.body!.getReader();
    await reader.read();
    // The client reads no more: the node's reader waits for it, the file open (a sparse file reads at once: a second is plenty).
    await waitFor('the node to hold the file', () => holding() > 0 || null, 10_000);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(holding(), 'the node’s reader waiting for the client').toBe(1);
    cut.abort();
    await waitFor('the file let go', () => holding() === 0 || null, 10_000);
  });

  it('resumes from a byte with Range and If-Range, and never splices two versions', async () => {
    const whole = await get(api(id, 'file.bin', true));
    const etag = whole.headers.get('etag')!;
    const first = await get(api(id, 'file.bin', true), { range: 'bytes=0-2499999' });
    expect(first.status).toBe(206);
    expect(first.headers.get('content-range')).toBe('bytes 0-2499999/5000000');
    const rest = await get(api(id, 'file.bin', true), { range: 'bytes=2500000-', 'if-range': etag });
    expect(rest.status).toBe(206);
    expect(rest.headers.get('content-range')).toBe('bytes 2500000-4999999/5000000');
    expect(rest.bytes.length).toBe(2_500_000);
    expect(sha256(Buffer.concat([first.bytes, rest.bytes]))).toBe(inside);
    // An ETag of another version: the whole of this one (200), not its tail.
    const stale = await get(api(id, 'file.bin', true), { range: 'bytes=2500000-', 'if-range': '"0-0-0"' });
    expect([stale.status, stale.bytes.length, stale.headers.get('content-range')]).toEqual([200, 5_000_000, null]);
    // If-Match of another version: 412; a start past the end: 416 with the size.
    const mismatch = await get(api(id, 'file.bin', true), { 'if-match': '"0-0-0"' });
    expect(mismatch).toMatchObject({ status: 412, json: { error: 'changed', message: expect.stringContaining('has changed since you started') } });
    const past = await get(api(id, 'file.bin', true), { range: 'bytes=5000000-' });
    expect([past.status, past.headers.get('content-range'), (past.json as { error: string }).error]).toEqual([416, 'bytes */5000000', 'range_not_satisfiable']);
  });

  it('refuses links out of the home and paths with ".." in words, and sends nothing of the host', async () => {
    for (const path of ['passwd-link', 'state-link', 'audit-link', '../../etc/passwd', 'folder/../../x', '/etc/passwd']) {
      for (const content of [true, false]) {
        const reply = await get(api(id, path, content));
        expect(reply.status, path).toBe(400);
        expect(reply.json, path).toEqual({ error: 'outside_home', message: 'That path leaves your home folder; give a path inside it (relative to it, without "..").' });
      }
    }
    const host = readFileSync(join(node.stateDir, 'audit.log'));
    for (const path of ['state-link/audit.log', 'audit-link']) expect((await get(api(id, path, true))).bytes.includes(host.subarray(0, 40))).toBe(false);
  });

  it('refuses a FIFO, a folder and what is not there without hanging, and keeps serving', async () => {
    const started = Date.now();
    const fifo = await get(api(id, 'pipe', true));
    expect(fifo).toMatchObject({ status: 400, json: { error: 'not_a_file', message: '"pipe" is not a regular file (a pipe, a socket or a device); only files can be downloaded.' } });
    expect(Date.now() - started).toBeLessThan(5000);
    expect((await get(api(id, 'folder', true))).json).toEqual({ error: 'not_a_file', message: '"folder" is a folder; download the files in it one by one.' });
    expect(await get(api(id, 'nothing-here', true))).toMatchObject({ status: 404, json: { error: 'no_such_file', message: 'There is no "nothing-here" in your home folder.' } });
    expect(await get(api(id, 'file.txt'))).toMatchObject({ status: 400, json: { error: 'not_a_folder' } });
    expect(await get(api(id, 'a\0b', true))).toMatchObject({ status: 400, json: { error: 'bad_path' } });
    expect((await get(api(id, 'file.txt', true))).bytes.toString()).toBe('hello files\n');
  });

  it('cuts a file off that is replaced while it is read', async () => {
    const { status } = await sh(stream!, screen, 'head -c 20000000 /dev/zero > moving.bin');
    expect(status).toBe(0);
    const reply = await fetch(api(id, 'moving.bin', true), { headers: { authorization: `Bearer ${token}` } });
    expect(reply.status).toBe(200);
    const reader = reply.body!.getReader();
    let received = (await reader.read()).value?.length ?? 0;
    // The reader holds back; meanwhile the file is replaced by another (a new inode).
    expect((await sh(stream!, screen, 'head -c 20000000 /dev/zero > moving.new && mv moving.new moving.bin')).status).toBe(0);
    const ended = await (async () => {
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return 'complete';
          received += value.length;
        }
      } catch {
        return 'cut';
      }
    })();
    expect([ended, received < 20_000_000]).toEqual(['cut', true]);
    await expect.poll(() => audited().find((e) => e.path === 'moving.bin')).toMatchObject({ result: 'cut', detail: '"moving.bin" changed while it was read; download it again.' });
  }, 30_000);

  it('answers bob about ann’s session as about no session, and nobody without a token', async () => {
    const unknown = await get(api('AAAAAAAAAAAAAAAAAAAAAA', 'file.txt', true), {}, bobToken);
    expect(unknown).toMatchObject({ status: 404, json: { error: 'no_such_session', message: 'You have no running session with that id.' } });
    for (const content of [true, false]) {
      const notHis = await get(api(id, 'file.txt', content), {}, bobToken);
      expect([notHis.status, notHis.json]).toEqual([404, unknown.json]);
    }
    for (const bearer of [null, 'not-a-token']) expect(await get(api(id, 'file.txt', true), {}, bearer)).toMatchObject({ status: 401, json: { error: 'unauthenticated' } });
    const post = await fetch(api(id, 'file.txt', true), { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    expect(post.status).toBe(405);
  });

  it('follows the transfer policy: downloads off for an app, and a size limit', async () => {
    const ann = client(node.url);
    await ann.signIn('ann', 'ann-pw');
    const vault = await launch(ann, 'vault');
    const vaultScreen = new Screen(vault);
    await vaultScreen.waitFor('$ ');
    expect((await sh(vault, vaultScreen, 'echo secret > secret.txt')).status).toBe(0);
    const off = await get(api(vault.sessionId!, 'secret.txt', true), {}, ann.apiToken!);
    expect(off).toMatchObject({ status: 403, json: { error: 'download_off', message: 'Downloading files from Vault is turned off by your administrator.' } });
    expect(off.bytes.toString()).not.toContain('secret\n');
    // The listing is not a download: it stays (the upload that comes later needs it), and
    // carries the administrator's words, so a client offers no Download where it is off.
    expect(await get(api(vault.sessionId!, null), {}, ann.apiToken!)).toMatchObject({ status: 200, json: { downloadOff: 'Downloading files from Vault is turned off by your administrator.' } });
    expect(await get(api(id, null))).toMatchObject({ status: 200, json: { downloadOff: null } });
    vault.close();
    ann.signOut();
    const big = await get(api(id, 'big.bin', true));
    expect(big).toMatchObject({ status: 413, json: { error: 'too_large', message: 'big.bin is 38 MiB; files larger than 30 MiB cannot be downloaded from Shell (your administrator’s limit).' } });
  }, 30_000);

  it('records every download in the audit log: who, what, from where, how much, its SHA-256', async () => {
    const events = audited();
    const whole = events.find((e) => e.path === 'file.bin' && e.offset === 0 && e.bytes === 5_000_000);
    expect(whole).toMatchObject({ user: 'ann', address: '127.0.0.1', session: id, app: 'shell', result: 'completed', sha256: inside });
    const tail = events.find((e) => e.path === 'file.bin' && e.offset === 2_500_000);
    expect(tail).toMatchObject({ result: 'completed', bytes: 2_500_000, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(events.filter((e) => e.path === 'passwd-link')).toEqual([expect.objectContaining({ result: 'refused', detail: expect.stringContaining('leaves your home folder') })]);
    expect(events.filter((e) => e.app === 'vault')).toEqual([expect.objectContaining({ path: 'secret.txt', result: 'refused', detail: 'transferPolicies: download is off' })]);
    expect(events.find((e) => e.path === 'big.bin')).toMatchObject({ result: 'refused', detail: '40000000 bytes; the limit is 30 MiB' });
    // bob's tries reached no file: nothing of his is recorded.
    expect(events.some((e) => e.user === 'bob')).toBe(false);
  });
});
