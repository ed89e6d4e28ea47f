// Session reliability without a fault proxy: reattach from another client, the hold
// time, and resume tokens that must not open other people's sessions.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import headless from '@xterm/headless';
import { CloseCode } from '../shared/protocol/index.js';
import { Screen, client, launch, rawSocket, startNode, type TestNode } from '../support/harness.js';

let t: TestNode;
beforeAll(async () => {
  t = await startNode({ node: { sessionHoldSeconds: 2 } });
});
afterAll(() => t?.stop());

const resumeTokenOf = (stream: unknown) => (stream as { actor: { getSnapshot(): { context: { resumeToken: string } } } }).actor.getSnapshot().context.resumeToken;

describe('reattach', () => {
  it('shows the same screen on a second client, and tells the first one', async () => {
    const desk = client(t.url);
    await desk.signIn('ann', 'ann-pw');
    const first = await launch(desk, 'python');
    const firstScreen = new Screen(first);
    await firstScreen.waitFor('>>> ');
    first.sendInput('x = 6 * 7\r');
    first.sendInput('print("marker", x)\r');
    await firstScreen.waitFor('marker 42');

    const laptop = client(t.url);
    await laptop.signIn('ann', 'ann-pw');
    const listed = await laptop.listSessions();
    expect(listed).toEqual([expect.objectContaining({ appId: 'python', attached: true, holdExpiresAt: null })]);
    const second = laptop.attach(listed[0]!, 80, 24);
    const secondScreen = new Screen(second);
    await second.ready();
    // The snapshot carries what was on screen.
    await secondScreen.waitFor('marker 42');
    expect(secondScreen.resets).toBe(1);
    const firstEnd = await first.finished();
    expect(firstEnd.reason).toBe('This session was opened from another client.');
    // The same interpreter, state and all.
    second.sendInput('print(x + 1)\r');
    await secondScreen.waitFor('43');
    // Bob sees none of Ann's sessions.
    const bob = client(t.url);
    await bob.signIn('bob', 'bob-pw');
    expect(await bob.listSessions()).toEqual([]);
    for (const c of [desk, laptop, bob]) c.signOut();
  });
});

describe('the screen after a flood', () => {
  // The host's screen model skips what a flood scrolls away (broker/host/screen-digest.mjs).
  // A second client's snapshot must still equal what the first client drew from every byte.
  const lines = (terminal: InstanceType<typeof headless.Terminal>) => {
    const buffer = terminal.buffer.active;
    const out: string[] = [];
    for (let y = 0; y < buffer.length; y++) out.push(buffer.getLine(y)?.translateToString(true) ?? '');
    return { lines: out, cursor: [buffer.cursorX, buffer.cursorY] };
  };
  const written = (terminal: InstanceType<typeof headless.Terminal>, data: Uint8Array | string) => new Promise<void>((resolve) => terminal.write(data, resolve));

  it('shows a reattaching client the same lines, scrollback and cursor as a client that read every byte', async () => {
    const desk = client(t.url);
    await desk.signIn('ann', 'ann-pw');
    const first = await launch(desk, 'shell', 80, 24);
    const seen = new headless.Terminal({ cols: 80, rows: 24, scrollback: 1000, allowProposedApi: true });
    let text = '';
    let parsed = Promise.resolve();
    first.setSink({
      write: (data, done) => {
        const copy = new Uint8Array(data);
        parsed = parsed.then(() => written(seen, copy));
        text = (text + new TextDecoder().decode(data)).slice(-200);
        done();
      },
      reset: () => {},
    });
    // 3 MB of one character with no line ends, then log lines with colours (about 6 MB).
    first.sendInput(`head -c 3000000 /dev/zero | tr '\\0' x; echo; seq 1 200000 | sed -E 's/^(.*([0-7]))$/\\x1b[3\\2mline \\1 of the build log\\x1b[0m/'; echo FLOOD''-END\r`);
    await vi.waitFor(() => expect(text).toMatch(/FLOOD-END\r\n.*\$ $/), { timeout: 60_000, interval: 100 });
    await parsed;

    const laptop = client(t.url);
    await laptop.signIn('ann', 'ann-pw');
    const [listed] = await laptop.listSessions();
    const second = laptop.attach(listed!, 80, 24);
    let snapshot: string | null = null;
    second.setSink({ write: (_data, done) => done(), reset: (data) => (snapshot = data) });
    await second.ready();
    await vi.waitFor(() => expect(snapshot).not.toBeNull(), { timeout: 10_000 });
    const shown = new headless.Terminal({ cols: 80, rows: 24, scrollback: 1000, allowProposedApi: true });
    await written(shown, snapshot!);

    const expected = lines(seen);
    expect(expected.lines.at(-2)).toBe('FLOOD-END');
    expect(expected.lines.some((line) => line.includes('line 200000 of the build log'))).toBe(true);
    expect(lines(shown)).toEqual(expected);
    second.close();
    for (const c of [desk, laptop]) c.signOut();
  }, 120_000);
});

describe('hold time', () => {
  it('keeps a session without a client for the hold time, then ends it and says why', async () => {
    const ann = client(t.url);
    await ann.signIn('ann', 'ann-pw');
    const stream = await launch(ann, 'cat');
    const token = resumeTokenOf(stream);
    const sessionId = stream.sessionId!;
    stream.detach();
    const detachedAt = Date.now();
    const mine = async () => (await ann.listSessions()).filter((s) => s.sessionId === sessionId);
    await vi.waitFor(async () => expect(await mine()).toEqual([expect.objectContaining({ attached: false, holdExpiresAt: expect.any(Number) })]), { timeout: 1500, interval: 100 });
    await vi.waitFor(async () => expect(await mine()).toEqual([]), { timeout: 5000, interval: 250 });
    expect(Date.now() - detachedAt).toBeGreaterThanOrEqual(1900); // held for the 2 s hold time, not less
    const raw = rawSocket(t.url);
    await raw.opened;
    raw.ws.send(JSON.stringify({ type: 'session.resume', id: 1, sessionId, resumeToken: token, cols: 80, rows: 24 }));
    expect(await raw.next('error')).toMatchObject({ code: 'session_ended', message: 'Your session ended: no client reconnected within 0:02 (the hold time).' });
    raw.ws.close();
    ann.signOut();
  });
});

describe('resume tokens', () => {
  it('reveal nothing about sessions that are not yours', async () => {
    const ann = client(t.url);
    await ann.signIn('ann', 'ann-pw');
    const stream = await launch(ann, 'cat');
    const sessionId = stream.sessionId!;
    const token = resumeTokenOf(stream);
    const replies: unknown[] = [];
    for (const attempt of [
      { sessionId, resumeToken: 'wrong-token' },
      { sessionId: 'no-such-session', resumeToken: token },
      { sessionId: 'no-such-session', resumeToken: 'wrong-token' },
    ]) {
      const raw = rawSocket(t.url);
      await raw.opened;
      raw.ws.send(JSON.stringify({ type: 'session.resume', id: 1, cols: 80, rows: 24, ...attempt }));
      replies.push(await raw.next('error'));
      raw.ws.close();
    }
    const expected = { type: 'error', id: 1, code: 'no_session', message: 'There is no such session, or it is not yours.' };
    expect(replies).toEqual([expected, expected, expected]);
    // Bob, signed in, holding Ann's real token, still gets nothing.
    const bob = client(t.url);
    await bob.signIn('bob', 'bob-pw');
    const bobToken = (bob as unknown as { accessToken: string }).accessToken;
    const raw = rawSocket(t.url, ['holdfast.v1', `holdfast.bearer.${bobToken}`]);
    await raw.opened;
    raw.ws.send(JSON.stringify({ type: 'session.resume', id: 2, sessionId, resumeToken: token, cols: 80, rows: 24 }));
    expect(await raw.next('error')).toMatchObject({ code: 'no_session' });
    raw.ws.send(JSON.stringify({ type: 'session.attach', id: 3, sessionId, cols: 80, rows: 24 }));
    expect(await raw.next('error')).toMatchObject({ code: 'no_session' });
    raw.ws.close();
    // Ann's session is untouched.
    expect(stream.view.status).toBe('streaming');
    stream.close();
    expect((await stream.finished()).reason).toBe('You ended the session.');
    ann.signOut();
    bob.signOut();
  });

  it('resumes with the token alone, replays nothing twice, and sends the snapshot first', async () => {
    const ann = client(t.url);
    await ann.signIn('ann', 'ann-pw');
    const stream = await launch(ann, 'cat');
    const screen = new Screen(stream);
    stream.sendInput('before\r');
    await screen.waitFor('before\r\nbefore');
    const sessionId = stream.sessionId!;
    const token = resumeTokenOf(stream);
    stream.detach();
    const raw = rawSocket(t.url);
    await raw.opened;
    raw.ws.send(JSON.stringify({ type: 'session.resume', id: 1, sessionId, resumeToken: token, cols: 80, rows: 24 }));
    const resumed = await raw.next('session.resumed');
    expect(resumed).toMatchObject({ sessionId, inputAck: 1, outputOffset: expect.any(Number) });
    expect(String(resumed.snapshot)).toContain('before');
    // Input 1 again is a duplicate: dropped. Input 2 is new.
    let output = '';
    raw.ws.on('message', (data: Buffer, isBinary) => isBinary && (output += data.subarray(13).toString()));
    raw.ws.send(Buffer.from([0x01, 0, 0, 0, 1, ...Buffer.from('before\r')]));
    raw.ws.send(Buffer.from([0x01, 0, 0, 0, 2, ...Buffer.from('after\r')]));
    await vi.waitFor(() => expect(output.match(/after/g)).toHaveLength(2), { timeout: 5000 }); // echo + cat
    expect(output).not.toContain('before');
    expect(output).toContain('after');
    raw.ws.send(JSON.stringify({ type: 'session.end' }));
    expect((await raw.closed).code).toBe(CloseCode.normal);
    ann.signOut();
  });
});
