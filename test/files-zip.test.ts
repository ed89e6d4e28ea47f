// A selection of a session's home as one zip, from a real node (issue 23, download of a
// selection): GET /api/sessions/ID/files/zip?path=…&path=… walks folders as the sandbox
// sees them and streams a zip whose every file has the SHA-256 sha256sum printed inside
// the session (read back with python3's zipfile and unzip), names with a newline and
// non-ASCII characters kept in UTF-8, links left out (never followed out of the home),
// its exact length announced; the transfer policy, the size limit and the entry cap
// refuse in words before any byte; another person learns nothing; a file changed while
// it is zipped cuts the zip off; one audit event per zip.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, ftruncateSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Screen, client, launch, sh, startNode, type TestNode, auditEvents } from '../support/harness.js';
import type { SessionStream } from '../shared/core/index.js';

const VAULT = { id: 'vault', name: 'Vault', command: '/bin/bash', args: ['--norc', '--noprofile', '-i'], env: { PS1: '$ ' } };
/** A shell whose policy lets a file past 4 GiB out (the ZIP64 case). */
const BULK = { ...VAULT, id: 'bulk', name: 'Bulk' };
const GiB = 1024 ** 3;
const ZEROS = Buffer.alloc(1 << 20);
const ODD = 'naïve\nnote — ü.txt';
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

let node: TestNode;
let token = '';
let bobToken = '';
let id = '';
let stream: SessionStream | undefined;
let screen: Screen;
let scratch = '';

async function run(command: string, timeoutMs?: number): Promise<string> {
  const { output, status } = await sh(stream!, screen, command, timeoutMs);
  if (status !== 0) throw new Error(`${command}: exit ${status}\n${output}`);
  return output;
}

beforeAll(async () => {
  node = await startNode({
    apps: [VAULT, BULK],
    transferPolicies: [
      { apps: ['vault'], download: false },
      { apps: ['bulk'], maxFileMiB: 8192 },
      { apps: ['shell'], maxFileMiB: 5 },
    ],
  });
  scratch = mkdtempSync(join(tmpdir(), 'holdfast-zip-test-'));
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
  await run('mkdir -p pack/sub/deeper pack/empty && head -c 3000000 /dev/urandom > pack/random.bin && echo top > top.txt');
  await run("printf 'hello zip\\n' > pack/hello.txt && echo deep > pack/sub/deeper/deep.txt && echo other > other.txt");
  // In bytes: the terminal's line editor may take UTF-8 typed in for meta keys.
  await run("printf 'odd name\\n' > pack/sub/$'na\\xc3\\xafve\\nnote \\xe2\\x80\\x94 \\xc3\\xbc.txt'");
  // Links: out of the home (the sandbox's /etc/passwd, the node's own state), inside it, and a pipe.
  await run(`ln -s /etc/passwd pack/passwd-link && ln -s ${node.stateDir} pack/state-link && ln -s ../other.txt pack/inner-link && mkfifo pack/pipe`);
  await run('ln -s other.txt inner-link && ln -s /etc/passwd passwd-link');
  // What sha256sum says inside, NUL-separated (a name may hold a newline), read back through /files/content.
  await run(`find pack top.txt -type f -print0 | while IFS= read -r -d '' f; do h=$(sha256sum < "$f"); printf '%s\\0%s\\0' "\${h%% *}" "$f"; done > .manifest`);
  await run('mkdir sized && head -c 100 /dev/zero > sized/small && truncate -s 6000000 sized/big.bin');
  await run('mkdir many && (cd many && seq 10050 | xargs touch)', 30_000);
}, 90_000);

afterAll(async () => {
  stream?.close();
  await node?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

const zipUrl = (session: string, paths: string[]) => `${node.url}/api/sessions/${encodeURIComponent(session)}/files/zip?${paths.map((p) => `path=${encodeURIComponent(p)}`).join('&')}`;

async function get(url: string, bearer: string | null = token) {
  const reply = await fetch(url, { headers: bearer === null ? {} : { authorization: `Bearer ${bearer}` } });
  const bytes = Buffer.from(await reply.arrayBuffer());
  const json = (reply.headers.get('content-type') ?? '').startsWith('application/json') ? (JSON.parse(bytes.toString('utf8')) as unknown) : null;
  return { status: reply.status, headers: reply.headers, bytes, json };
}

/** What python3's zipfile reads in a zip: each entry's name, whether it is a folder, its size, UTF-8 flag and SHA-256. */
function unzipped(zip: Buffer): Array<{ name: string; dir: boolean; size: number; utf8: boolean; sha256: string }> {
  const file = join(scratch, `z-${Math.random().toString(36).slice(2)}.zip`);
  writeFileSync(file, zip);
  const script = [
    'import hashlib, json, sys, zipfile',
    'z = zipfile.ZipFile(sys.argv[1])',
    'assert z.testzip() is None',
    'print(json.dumps([{"name": i.filename, "dir": i.is_dir(), "size": i.file_size, "utf8": bool(i.flag_bits & 0x800), "sha256": hashlib.sha256(z.read(i)).hexdigest()} for i in z.infolist()]))',
  ].join('\n');
  return JSON.parse(execFileSync('python3', ['-c', script, file], { encoding: 'utf8' })) as ReturnType<typeof unzipped>;
}

const audited = () => auditEvents(node.stateDir, 'session.download');

describe('a selection as a zip', () => {
  it('zips folders whole and files, with the bytes sha256sum saw inside, odd names in UTF-8, links left out', async () => {
    const manifest = (await get(`${node.url}/api/sessions/${id}/files/content?path=.manifest`)).bytes.toString('utf8').split('\0');
    const inside = new Map<string, string>();
    for (let i = 0; i + 1 < manifest.length; i += 2) inside.set(manifest[i + 1]!, manifest[i]!);
    expect(inside.size).toBe(5);

    const reply = await get(zipUrl(id, ['pack', 'top.txt']));
    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-type')).toBe('application/zip');
    expect(reply.headers.get('content-length')).toBe(String(reply.bytes.length));
    expect(reply.headers.get('content-disposition')).toBe(`attachment; filename="Shell files.zip"; filename*=UTF-8''Shell%20files.zip`);
    // passwd-link, state-link, inner-link and the pipe: left out, not followed.
    expect(reply.headers.get('holdfast-zip-skipped')).toBe('4');
    const entries = unzipped(reply.bytes);
    expect(entries.map((e) => e.name).sort()).toEqual(
      ['pack/', 'pack/empty/', 'pack/hello.txt', 'pack/random.bin', 'pack/sub/', 'pack/sub/deeper/', 'pack/sub/deeper/deep.txt', `pack/sub/${ODD}`, 'top.txt'].sort(),
    );
    for (const entry of entries.filter((e) => !e.dir)) expect(entry.sha256, entry.name).toBe(inside.get(entry.name));
    expect(entries.find((e) => e.name === `pack/sub/${ODD}`)).toMatchObject({ utf8: true, size: 9 });
    expect(entries.find((e) => e.name === 'pack/random.bin')).toMatchObject({ size: 3_000_000 });
    // unzip (Info-ZIP) reads it too, and nothing of the host is in it.
    const file = join(scratch, 'pack.zip');
    writeFileSync(file, reply.bytes);
    expect(execFileSync('unzip', ['-p', file, 'pack/sub/deeper/deep.txt'], { encoding: 'utf8' })).toBe('deep\n');
    expect(execFileSync('unzip', ['-l', file], { encoding: 'utf8' })).not.toMatch(/passwd|state-link|audit/);
    expect(reply.bytes.includes(readFileSync(join(node.stateDir, 'audit.log')).subarray(0, 40))).toBe(false);

    // One file chosen: the zip is named after it.
    const one = await get(zipUrl(id, ['pack/hello.txt']));
    expect(one.headers.get('content-disposition')).toContain('filename="hello.txt.zip"');
    expect(unzipped(one.bytes).map((e) => e.name)).toEqual(['hello.txt']);
  }, 30_000);

  it('follows a chosen link inside the home, and refuses one out of it and ".." in words', async () => {
    const inner = unzipped((await get(zipUrl(id, ['inner-link']))).bytes);
    expect(inner.map((e) => [e.name, e.size])).toEqual([['inner-link', 6]]);
    for (const paths of [['passwd-link'], ['top.txt', '../../etc/passwd'], ['/etc/passwd']]) {
      expect(await get(zipUrl(id, paths)), paths.join()).toMatchObject({ status: 400, json: { error: 'outside_home', message: 'That path leaves your home folder; give a path inside it (relative to it, without "..").' } });
    }
    expect(await get(`${node.url}/api/sessions/${id}/files/zip`)).toMatchObject({ status: 400, json: { error: 'bad_path' } });
    expect(await get(zipUrl(id, ['nothing-here']))).toMatchObject({ status: 404, json: { error: 'no_such_file', message: 'There is no "nothing-here" in your home folder.' } });
  });

  it('refuses a file over the policy’s maxFileMiB, and too many entries, in words, before any byte', async () => {
    const big = await get(zipUrl(id, ['top.txt', 'sized']));
    expect(big).toMatchObject({ status: 413, json: { error: 'too_large', message: 'sized/big.bin is 5.7 MiB; files larger than 5 MiB cannot be downloaded from Shell (your administrator’s limit). Leave it out of the selection.' } });
    const many = await get(zipUrl(id, ['many']));
    expect(many).toMatchObject({
      status: 413,
      json: { error: 'too_many_files', message: 'The selection holds more than 10,000 files and folders, too many for one zip; select fewer, or make an archive inside the session and download that.' },
    });
    expect(many.headers.get('content-type')).toContain('application/json');
  }, 30_000);

  it('answers bob about ann’s session as about no session, and nobody without a token', async () => {
    const notHis = await get(zipUrl(id, ['top.txt']), bobToken);
    expect(notHis).toMatchObject({ status: 404, json: { error: 'no_such_session', message: 'You have no running session with that id.' } });
    expect(await get(zipUrl(id, ['top.txt']), null)).toMatchObject({ status: 401, json: { error: 'unauthenticated' } });
  });

  it('refuses where the administrator turned downloads off', async () => {
    const ann = client(node.url);
    await ann.signIn('ann', 'ann-pw');
    const vault = await launch(ann, 'vault');
    const vaultScreen = new Screen(vault);
    await vaultScreen.waitFor('$ ');
    expect((await sh(vault, vaultScreen, 'mkdir box && echo secret > box/secret.txt')).status).toBe(0);
    const off = await get(zipUrl(vault.sessionId!, ['box']), ann.apiToken!);
    expect(off).toMatchObject({ status: 403, json: { error: 'download_off', message: 'Downloading files from Vault is turned off by your administrator.' } });
    expect(off.bytes.toString()).not.toContain('secret');
    vault.close();
    ann.signOut();
  }, 30_000);

  it('cuts the zip off when a file in it is replaced while it is read', async () => {
    // Five files of 4 MB (under the policy's 5 MiB); the last is replaced while the first is read.
    await run('mkdir moving && for f in a b c d e; do head -c 4000000 /dev/zero > moving/$f.bin; done');
    const reply = await fetch(zipUrl(id, ['moving']), { headers: { authorization: `Bearer ${token}` } });
    expect(reply.status).toBe(200);
    const length = Number(reply.headers.get('content-length'));
    const reader = reply.body!.getReader();
    let received = (await reader.read()).value?.length ?? 0;
    // The reader holds back; meanwhile the file is replaced by another (a new inode).
    await run('head -c 4000000 /dev/zero > moving/e.new && mv moving/e.new moving/e.bin');
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
    expect([ended, received < length]).toEqual(['cut', true]);
    await expect.poll(() => audited().find((e) => (e.paths as string[] | undefined)?.[0] === 'moving')).toMatchObject({ result: 'cut', detail: 'zip; "moving/e.bin" changed while it was read; download it again.' });
  }, 30_000);

  it('records one audit event per zip: who, the paths, the files, the bytes and the zip’s SHA-256', async () => {
    const before = audited().length;
    const reply = await get(zipUrl(id, ['pack', 'top.txt']));
    await expect.poll(() => audited().length).toBe(before + 1);
    const event = audited().at(-1)!;
    expect(event.sha256).toBe(sha256(reply.bytes));
    expect(event).toMatchObject({ user: 'ann', address: '127.0.0.1', session: id, app: 'shell', result: 'completed', paths: ['pack', 'top.txt'], files: 5, bytes: reply.bytes.length, detail: 'zip; 4 links or special files left out' });
    expect(audited().filter((e) => e.detail === 'sized/big.bin: 6000000 bytes; the limit is 5 MiB')).toHaveLength(1);
    expect(audited().find((e) => (e.paths as string[] | undefined)?.[0] === 'many')).toMatchObject({ result: 'refused' });
    expect(audited().some((e) => e.user === 'bob')).toBe(false);
  });

  it('writes ZIP64 past 4 GiB, built as it is sent: the node’s memory stays flat', async () => {
    const ann = client(node.url);
    await ann.signIn('ann', 'ann-pw');
    const bulk = await launch(ann, 'bulk');
    const bulkScreen = new Screen(bulk);
    await bulkScreen.waitFor('$ ');
    // Sparse: 4.3 GiB of zeros that take no room in the 64 MiB home; then a small file whose header lies past 4 GiB.
    const made = await sh(bulk, bulkScreen, 'mkdir huge && truncate -s 4600000000 huge/a-zeros.bin && head -c 1000 /dev/urandom > huge/b-tail.bin && sha256sum huge/b-tail.bin');
    expect(made.status).toBe(0);
    const tailHash = /([0-9a-f]{64}) {2}huge\/b-tail\.bin/.exec(made.output)![1]!;
    const reply = await fetch(zipUrl(bulk.sessionId!, ['huge']), { headers: { authorization: `Bearer ${ann.apiToken!}` } });
    expect(reply.status).toBe(200);
    const length = Number(reply.headers.get('content-length'));
    expect(length).toBeGreaterThan(4_600_000_000);
    // Written as a sparse file (runs of zeros skipped), so the test needs no 4 GiB of disk either.
    const file = join(scratch, 'huge.zip');
    const fd = openSync(file, 'w');
    let at = 0;
    const rss = process.memoryUsage().rss;
    let peak = rss;
    for await (const chunk of reply.body as unknown as AsyncIterable<Uint8Array>) {
      if (!Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length).equals(ZEROS.subarray(0, chunk.length))) writeSync(fd, chunk, 0, chunk.length, at);
      at += chunk.length;
      if ((at & 0x3ffffff) < chunk.length) peak = Math.max(peak, process.memoryUsage().rss);
    }
    ftruncateSync(fd, at);
    closeSync(fd);
    expect(at).toBe(length);
    // Node and test client share this process: neither gathered the zip.
    expect(peak - rss).toBeLessThan(128 * 1024 ** 2);
    const script = [
      'import hashlib, json, sys, zipfile',
      'z = zipfile.ZipFile(sys.argv[1])',
      'print(json.dumps([[i.filename, i.file_size, i.header_offset, i.CRC, i.extract_version] for i in z.infolist()] + [hashlib.sha256(z.read("huge/b-tail.bin")).hexdigest()]))',
    ].join('\n');
    const [folder, zeros, tail, hash] = JSON.parse(execFileSync('python3', ['-c', script, file], { encoding: 'utf8' })) as [unknown[], unknown[], unknown[], string];
    expect(folder).toEqual(['huge/', 0, 0, 0, 20]);
    // The CRC-32 of 4 600 000 000 zero bytes; ZIP64 (version 4.5) for the big file and the one past it.
    expect(zeros).toEqual(['huge/a-zeros.bin', 4_600_000_000, expect.any(Number), crcOfZeros(4_600_000_000), 45]);
    expect(tail).toEqual(['huge/b-tail.bin', 1000, expect.any(Number), expect.any(Number), 45]);
    expect(tail[2]).toBeGreaterThan(4 * GiB);
    expect(hash).toBe(tailHash);
    expect(execFileSync('unzip', ['-l', file], { encoding: 'utf8' })).toMatch(/4600000000 .* huge\/a-zeros\.bin/);
    bulk.close();
    ann.signOut();
  }, 240_000);
});

/** CRC-32 of `length` zero bytes (zlib's, a block at a time). */
function crcOfZeros(length: number): number {
  const block = Buffer.alloc(1 << 24);
  let crc = 0;
  for (let left = length; left > 0; left -= block.length) crc = zlib.crc32(left >= block.length ? block : block.subarray(0, left), crc);
  return crc;
}
