// session.echo on a real node (docs/protocol.md#sessionecho): terminal apps in real
// sandboxes on real PTYs, their termios followed by the built termios watcher (npm run
// build), and the owner's client told echo, app or hidden — a password prompt's hidden
// no later than its prompt, give or take a few ms.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EchoMode } from '../shared/protocol/index.js';
import type { SessionStream } from '../shared/core/index.js';
import { Screen, client, launch, rawSocket, startNode, type TestNode } from '../support/harness.js';
import { waitFor } from '../support/wait.js';

/** Asks for a password PROMPTS times (as getpass does: echo off, then the prompt), then says what it got. */
const PROMPTS = 5;
const PASSWORDS = `import getpass, time
for i in range(${PROMPTS}):
    time.sleep(0.2)
    p = getpass.getpass('Password%d: ' % i)
    print('got', len(p), 'characters')
time.sleep(60)
`;

let t: TestNode;
beforeAll(async () => {
  t = await startNode({ apps: [{ id: 'passwords', name: 'Passwords', command: '/usr/bin/python3', args: ['-c', PASSWORDS] }] });
});
afterAll(() => t?.stop());

/** Every echo mode the client's view took, with when (performance.now()). */
function echoes(stream: SessionStream): Array<{ mode: EchoMode; at: number }> {
  const seen: Array<{ mode: EchoMode; at: number }> = [];
  let last: EchoMode | null = null;
  stream.subscribe((view) => {
    if (view.echo !== null && view.echo !== last) seen.push({ mode: view.echo, at: performance.now() });
    last = view.echo;
  });
  return seen;
}

const echoOf = (stream: SessionStream, mode: EchoMode, what: string) => waitFor(what, () => stream.view.echo === mode || null, 5000);

describe('session.echo', () => {
  it('tells the owner echo for cat, app for bash and python (readline)', async () => {
    const ann = client(t.url);
    await ann.signIn('ann', 'ann-pw');
    const cat = await launch(ann, 'cat');
    await echoOf(cat, 'echo', 'cat to echo');
    const shell = await launch(ann, 'shell');
    await new Screen(shell).waitFor('$ ');
    await echoOf(shell, 'app', 'bash at its prompt to edit its own line');
    const python = await launch(ann, 'python');
    await new Screen(python).waitFor('>>> ');
    await echoOf(python, 'app', 'python at its prompt to edit its own line');
    // bash running cat: the terminal echoes again; back at the prompt, bash does.
    const screen = new Screen(shell);
    shell.sendInput('cat\r');
    await echoOf(shell, 'echo', 'cat under bash to echo');
    shell.sendInput('\x04');
    await screen.waitFor(/\$ $/);
    await echoOf(shell, 'app', 'bash back at its prompt');
    for (const stream of [cat, shell, python]) stream.close();
    ann.signOut();
  });

  it('tells hidden for a password prompt by the time its text arrives, and echo again after it', async () => {
    const ann = client(t.url);
    await ann.signIn('ann', 'ann-pw');
    const stream = ann.launch('passwords', 80, 24);
    const modes = echoes(stream);
    const prompts: number[] = [];
    let text = '';
    stream.setSink({
      write: (data, done) => {
        text += new TextDecoder().decode(data);
        while (prompts.length < PROMPTS && text.includes(`Password${prompts.length}: `)) prompts.push(performance.now());
        done();
      },
      reset: () => {},
    });
    await stream.ready();
    for (let i = 0; i < PROMPTS; i++) {
      await waitFor(`prompt ${i}`, () => prompts.length > i || null, 10_000);
      // Typed only once told hidden, as a client that predicts would; the password must not show.
      await waitFor(`hidden at prompt ${i}`, () => modes.filter((m) => m.mode === 'hidden').length > i || null, 5000);
      stream.sendInput(`secret${i}\r`);
      await waitFor(`the answer to prompt ${i}`, () => text.split('got 7 characters').length > i + 1 || null, 5000);
    }
    expect(text).not.toContain('secret');
    const hidden = modes.filter((m) => m.mode === 'hidden').map((m) => m.at);
    // Negative: told before the prompt showed (echo off comes first).
    const gaps = prompts.map((at, i) => Math.round((hidden[i]! - at) * 10) / 10);
    console.log(`session.echo hidden minus prompt arrival (ms): ${gaps.join(' ')}`);
    for (const gap of gaps) expect(gap).toBeLessThan(50);
    // Between prompts it is a plain python script: the terminal echoes.
    expect(modes.map((m) => m.mode).slice(0, 2 * PROMPTS + 1)).toEqual(['echo', ...Array.from({ length: PROMPTS }, () => ['hidden', 'echo']).flat()]);
    stream.close();
    ann.signOut();
  });

  it('tells the mode again right after a resume, and to a client that attaches', async () => {
    const ann = client(t.url);
    await ann.signIn('ann', 'ann-pw');
    const stream = await launch(ann, 'python');
    await new Screen(stream).waitFor('>>> ');
    await echoOf(stream, 'app', 'python at its prompt');
    const sessionId = stream.sessionId!;
    const token = (stream as unknown as { actor: { getSnapshot(): { context: { resumeToken: string } } } }).actor.getSnapshot().context.resumeToken;
    stream.detach();
    const raw = rawSocket(t.url);
    await raw.opened;
    raw.ws.send(JSON.stringify({ type: 'session.resume', id: 1, sessionId, resumeToken: token, cols: 80, rows: 24 }));
    await raw.next('session.resumed');
    expect(await raw.next('session.echo')).toEqual({ type: 'session.echo', sessionId, mode: 'app' });
    // Its changes reach the resumed connection: python reading a plain line (not through readline) echoes.
    raw.ws.send(Buffer.from([0x01, 0, 0, 0, 1, ...Buffer.from('import sys; sys.stdin.readline()\r')]));
    expect(await raw.next('session.echo')).toEqual({ type: 'session.echo', sessionId, mode: 'echo' });
    raw.ws.close();

    // Another client attaching (signed in, no token) is told too.
    const laptop = client(t.url);
    await laptop.signIn('ann', 'ann-pw');
    const listed = (await laptop.listSessions()).find((s) => s.sessionId === sessionId)!;
    const attached = laptop.attach(listed, 80, 24);
    await attached.ready();
    await echoOf(attached, 'echo', 'the attached client to be told');
    attached.close();
    for (const c of [ann, laptop]) c.signOut();
  });
});
