// Integration: a real node on port 0, real bubblewrap, real PTYs, real sockets.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CloseCode, encodeInput } from '../shared/protocol/index.js';
import { ProtocolError } from '../shared/core/index.js';
import { Screen, bearer, client, launch, processesMentioning, rawSocket, startNode, type TestNode } from '../support/harness.js';

let t: TestNode;
beforeAll(async () => {
  t = await startNode({
    apps: [
      { id: 'missing', name: 'Missing', command: '/usr/bin/does-not-exist' },
      { id: 'burst', name: 'Burst', command: '/bin/sh', args: ['-c', 'head -c 3000000 /dev/zero | tr "\\0" x; printf "\\nLAST-BYTES\\n"; exit 7'] },
      { id: 'flood', name: 'Flood', command: '/bin/sh', args: ['-c', 'seq 0 999999; echo FLOOD-DONE'] },
    ],
  });
});
afterAll(() => t?.stop());

describe('sign-in and catalog', () => {
  it('lists exactly the apps each person is entitled to', async () => {
    const ann = client(t.url);
    expect((await ann.signIn('ann', 'ann-pw')).displayName).toBe('ann');
    expect((await ann.listApps()).map((a) => a.id)).toEqual(['shell', 'python', 'cat', 'missing', 'burst', 'flood']);
    const bob = client(t.url);
    await bob.signIn('bob', 'bob-pw');
    expect((await bob.listApps()).map((a) => a.id)).toEqual(['python']);
    ann.signOut();
    bob.signOut();
  });

  it('gives the same generic error for a wrong password and an unknown user', async () => {
    const wrong = await client(t.url).signIn('bob', 'nope').catch((e: ProtocolError) => e);
    const unknown = await client(t.url).signIn('mallory', 'nope').catch((e: ProtocolError) => e);
    expect(wrong).toMatchObject({ code: 'sign_in_failed', message: 'Sign-in failed: the user name or password is not right.' });
    expect(unknown).toMatchObject({ code: 'sign_in_failed', message: (wrong as Error).message });
  });

  it('slows repeated failures for a user, without locking out others', async () => {
    const errors: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      const error = (await client(t.url).signIn('cathy', `guess-${i}`).catch((e: ProtocolError) => e)) as ProtocolError;
      errors.push(error.code);
    }
    expect(errors.slice(0, 3)).toEqual(['sign_in_failed', 'sign_in_failed', 'sign_in_failed']);
    expect(errors.at(-1)).toBe('rate_limited');
    const limited = (await client(t.url).signIn('cathy', 'x').catch((e: ProtocolError) => e)) as ProtocolError;
    expect(limited.message).toMatch(/Too many failed sign-ins\. Try again in \d+ s\./);
    expect(limited.retryAfterMs).toBeGreaterThan(0);
    // Another person on the same address is not locked out.
    const bob = client(t.url);
    await expect(bob.signIn('bob', 'bob-pw')).resolves.toMatchObject({ name: 'bob' });
    bob.signOut();
  });
});

describe('sessions', () => {
  it('runs Python in a sandbox and streams what a person types', async () => {
    const ann = client(t.url);
    await ann.signIn('ann', 'ann-pw');
    const stream = await launch(ann, 'python', 80, 24);
    const screen = new Screen(stream);
    await screen.waitFor('>>> ');
    stream.sendInput('6*7\r');
    await screen.waitFor(/\r\n42\r\n/);
    // os.get_terminal_size asks the PTY; shutil's would trust COLUMNS/LINES, which
    // readline only refreshes when a resize lands while it is reading.
    stream.sendInput('import os; print(os.get_terminal_size())\r');
    await screen.waitFor('columns=80, lines=24');
    stream.resize(132, 43);
    stream.sendInput('print(os.get_terminal_size())\r');
    await screen.waitFor('columns=132, lines=43');
    stream.sendInput('exit(3)\r');
    const exit = await stream.finished();
    expect(exit.exitCode).toBe(3);
    ann.signOut();
  });

  it('takes a 300 KB paste whole, even when it fills the PTY', async () => {
    const ann = client(t.url);
    await ann.signIn('ann', 'ann-pw');
    const stream = await launch(ann, 'shell');
    const screen = new Screen(stream);
    await screen.waitFor('$ ');
    stream.sendInput('stty -echo; cat > /tmp/paste; stty echo; wc -c < /tmp/paste; sha256sum < /tmp/paste\r');
    const line = 'the quick brown fox jumps over the lazy dog 0123456789\n';
    const paste = line.repeat(Math.ceil(300_000 / line.length));
    for (let at = 0; at < paste.length; at += 64 * 1024) stream.sendInput(paste.slice(at, at + 64 * 1024));
    stream.sendInput('\x04');
    const { createHash } = await import('node:crypto');
    const digest = createHash('sha256').update(paste).digest('hex');
    await screen.waitFor(new RegExp(`${paste.length}\\r\\n${digest}`), 20_000);
    ann.signOut();
  });

  it('refuses unknown and unentitled apps with a clear error', async () => {
    const bob = client(t.url);
    await bob.signIn('bob', 'bob-pw');
    const unknown = bob.launch('nonesuch', 80, 24);
    await expect(unknown.ready()).rejects.toThrow('There is no app "nonesuch" in the catalog.');
    expect(unknown.view.status).toBe('failed');
    await expect(bob.launch('shell', 80, 24).ready()).rejects.toThrow(/not entitled to launch "Shell"/);
    bob.signOut();
  });

  it('tells the person when an app cannot start, with its exit code', async () => {
    const ann = client(t.url);
    await ann.signIn('ann', 'ann-pw');
    const stream = await launch(ann, 'missing', 80, 24);
    const screen = new Screen(stream);
    const exit = await stream.finished();
    expect(exit.exitCode).not.toBe(0);
    expect(exit.reason).toMatch(/Missing stopped right after it started \(exit code \d+\)/);
    expect(screen.text).toMatch(/does-not-exist: not found|No such file or directory/);
    ann.signOut();
  });

  it('delivers the last bytes an app writes before it exits, then closes normally', async () => {
    const ann = client(t.url);
    await ann.signIn('ann', 'ann-pw');
    const raw = rawSocket(t.url, bearer((ann as unknown as { accessToken: string }).accessToken));
    await raw.opened;
    let bytes = 0;
    let tail = '';
    raw.ws.on('message', (data: Buffer, isBinary) => {
      if (!isBinary) return;
      bytes += data.length - 13;
      tail = (tail + data.subarray(13).toString()).slice(-64);
    });
    raw.ws.send(JSON.stringify({ type: 'session.launch', id: 1, appId: 'burst', cols: 80, rows: 24 }));
    const started = await raw.next('session.started');
    // Acknowledge everything as it comes, as a real client would.
    raw.ws.on('message', (_d, isBinary) => isBinary && raw.ws.send(Buffer.from([0x02, 0, 0, 0, 0, ...u32(bytes)])));
    const exited = await raw.next('session.exited', 30_000);
    const closed = await raw.closed;
    expect(started.window).toBeGreaterThan(0);
    expect(exited).toMatchObject({ exitCode: 7 });
    expect(closed.code).toBe(CloseCode.normal);
    expect(tail).toContain('LAST-BYTES');
    expect(bytes).toBe(3_000_000 + '\r\nLAST-BYTES\r\n'.length);
    ann.signOut();
  });

  it('holds a chatty app back while its client is not reading, and loses nothing', async () => {
    const ann = client(t.url);
    await ann.signIn('ann', 'ann-pw');
    const stream = await launch(ann, 'flood', 80, 24);
    let received = 0;
    let text = '';
    const held: Array<() => void> = [];
    let reading = false;
    stream.setSink({
      write: (data, done) => {
        received += data.length;
        text += new TextDecoder().decode(data);
        if (reading) done();
        else held.push(done);
      },
      reset: () => {
        throw new Error('no resume expected');
      },
    });
    // Wait until output stops arriving: the window is full and the app is held.
    let last = -1;
    for (let waited = 0; received !== last && waited < 30_000; waited += 1000) {
      last = received;
      await new Promise((r) => setTimeout(r, 1000));
    }
    const duringStall = received;
    await new Promise((r) => setTimeout(r, 3000));
    // Nothing more arrives while the client is stalled, and what did is bounded by the window.
    expect(received).toBe(duringStall);
    expect(received).toBeLessThanOrEqual(4 * 1024 * 1024 + 64 * 1024);
    expect(stream.view.status).toBe('streaming');
    reading = true;
    for (const done of held.splice(0)) done();
    const exit = await stream.finished();
    expect(exit.exitCode).toBe(0);
    const lines = text.split('\r\n');
    expect(lines.at(-2)).toBe('FLOOD-DONE');
    // Every line, in order, exactly once.
    expect(lines).toHaveLength(1_000_002);
    for (let i = 0; i < 1_000_000; i += 1) if (lines[i] !== String(i)) throw new Error(`line ${i} is "${lines[i]}"`);
    ann.signOut();
  }, 120_000);
});

describe('sandbox lifetime', () => {
  it('ends sessions the moment they start, and leaves no process behind', async () => {
    const ann = client(t.url);
    await ann.signIn('ann', 'ann-pw');
    // The check below can see a sandbox: a running one's app is found.
    const running = await launch(ann, 'cat');
    const view = new Screen(running);
    running.sendInput('up\r');
    await view.waitFor(/up[\s\S]*up/);
    expect(processesMentioning(t.stateDir).map((p) => p.command)).toContainEqual(expect.stringMatching(/^\(parent \d+\) \/bin\/cat $/));
    running.close();
    const token = (ann as unknown as { accessToken: string }).accessToken;
    for (let i = 0; i < 15; i++) {
      const raw = rawSocket(t.url, bearer(token));
      await raw.opened;
      // End each as soon as the broker says it started: bwrap is still setting up the sandbox.
      raw.ws.on('message', (data, isBinary) => {
        if (!isBinary && String(data).includes('"session.started"')) raw.ws.send(JSON.stringify({ type: 'session.end' }));
      });
      raw.ws.send(JSON.stringify({ type: 'session.launch', id: 1, appId: 'python', cols: 80, rows: 24 }));
      expect((await raw.closed).code).toBe(CloseCode.normal);
    }
    await vi.waitFor(() => expect(processesMentioning(t.stateDir)).toEqual([]), { timeout: 5000, interval: 100 });
    ann.signOut();
  });
});

describe('bad input', () => {
  it('answers a malformed frame with an error and a protocol close code, and keeps serving others', async () => {
    const bystander = client(t.url);
    await bystander.signIn('ann', 'ann-pw');
    const stream = await launch(bystander, 'cat', 80, 24);
    const screen = new Screen(stream);

    const bad = rawSocket(t.url);
    await bad.opened;
    bad.ws.send('{"type":"auth.signIn","id":1,"user":');
    expect(await bad.next('error')).toMatchObject({ code: 'bad_request', message: 'frame is not valid JSON' });
    expect((await bad.closed).code).toBe(CloseCode.protocolError);

    const unknown = rawSocket(t.url);
    await unknown.opened;
    unknown.ws.send(JSON.stringify({ type: 'session.teleport', id: 4 }));
    expect(await unknown.next('error')).toMatchObject({ id: 4, code: 'bad_request' });
    expect((await unknown.closed).code).toBe(CloseCode.protocolError);

    const binary = rawSocket(t.url);
    await binary.opened;
    binary.ws.send(Buffer.from([0x01, 0, 0, 0, 1, 0x41]));
    expect((await binary.closed).code).toBe(CloseCode.unsupportedData);

    const big = rawSocket(t.url);
    await big.opened;
    big.ws.send('x'.repeat(200 * 1024));
    expect((await big.closed).code).toBe(CloseCode.tooBig);

    stream.sendInput('still here\r');
    await screen.waitFor('still here\r\nstill here');
    bystander.signOut();
  });

  it('refuses out-of-order input and ignores a replayed sequence number', async () => {
    const ann = client(t.url);
    await ann.signIn('ann', 'ann-pw');
    const token = (ann as unknown as { accessToken: string }).accessToken;
    const raw = rawSocket(t.url, bearer(token));
    await raw.opened;
    let output = '';
    raw.ws.on('message', (data: Buffer, isBinary) => isBinary && (output += data.subarray(13).toString()));
    raw.ws.send(JSON.stringify({ type: 'session.launch', id: 1, appId: 'cat', cols: 80, rows: 24 }));
    await raw.next('session.started');
    raw.ws.send(encodeInput(1, new TextEncoder().encode('one\r')));
    raw.ws.send(encodeInput(1, new TextEncoder().encode('one\r')));
    raw.ws.send(encodeInput(2, new TextEncoder().encode('two\r')));
    // Wait until "two" has come back twice (tty echo + cat): "one" was applied before it.
    await vi.waitFor(() => expect(output.match(/two/g)).toHaveLength(2), { timeout: 5000 });
    expect(output.match(/one/g)).toHaveLength(2); // tty echo + cat: once each, not twice
    raw.ws.send(encodeInput(9, new TextEncoder().encode('nine\r')));
    expect(await raw.next('error')).toMatchObject({ message: 'input 9 arrived before input 3' });
    expect((await raw.closed).code).toBe(CloseCode.protocolError);
    ann.signOut();
  });

  it('refuses a tampered access token at upgrade with 4401, and requests before sign-in', async () => {
    const ann = client(t.url);
    await ann.signIn('ann', 'ann-pw');
    const token = (ann as unknown as { accessToken: string }).accessToken;
    const tampered = rawSocket(t.url, bearer(token.slice(0, -3) + 'AAA'));
    expect((await tampered.closed).code).toBe(CloseCode.unauthenticated);
    const anonymous = rawSocket(t.url);
    await anonymous.opened;
    anonymous.ws.send(JSON.stringify({ type: 'apps.list', id: 1 }));
    expect(await anonymous.next('error')).toMatchObject({ code: 'unauthenticated' });
    expect((await anonymous.closed).code).toBe(CloseCode.unauthenticated);
    await expect(rawSocket(t.url, ['other.v9']).opened).rejects.toThrow('HTTP 400');
    ann.signOut();
  });
});

describe('heartbeats', () => {
  it('cuts off a peer that stops answering pings', async () => {
    const fast = await startNode({ node: { heartbeatMs: 400 } });
    try {
      const raw = rawSocket(fast.url, undefined, { autoPong: false });
      await raw.opened;
      const started = Date.now();
      const closed = await raw.closed;
      expect(closed.code).toBe(1006);
      expect(Date.now() - started).toBeLessThan(1500);
    } finally {
      await fast.stop();
    }
  });
});

function u32(n: number): number[] {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
}
