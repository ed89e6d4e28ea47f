// From inside a sandboxed app, try what an app has no business doing. Each attempt
// must fail, and the node must keep serving.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SessionStream } from '../shared/core/index.js';
import type { HoldfastClient } from '../shared/core/index.js';
import { Screen, client, launch, sh, startNode, type TestNode } from '../support/harness.js';

let t: TestNode;
let ann: HoldfastClient;
let stream: SessionStream;
let screen: Screen;
const run = (command: string) => sh(stream, screen, command);

beforeAll(async () => {
  t = await startNode();
  // A file of the broker's that must stay out of reach.
  writeFileSync(join(t.stateDir, 'secret-key'), 'do-not-read\n', { mode: 0o600 });
  ann = client(t.url);
  await ann.signIn('ann', 'ann-pw');
  stream = await launch(ann, 'shell', 120, 40);
  screen = new Screen(stream);
  await screen.waitFor('$ ');
});
afterAll(async () => {
  ann?.signOut();
  await t?.stop();
});

describe('sandbox', () => {
  it('cannot read /etc/shadow or any host secret', async () => {
    expect(existsSync('/etc/shadow')).toBe(true);
    expect((await run('cat /etc/shadow')).status).not.toBe(0);
    expect((await run(`cat ${t.stateDir}/secret-key`)).status).not.toBe(0);
    expect((await run('ls /root')).status).not.toBe(0);
    expect((await run('cat /etc/passwd')).output).not.toMatch(/^(?!root|user|nobody)\w+:x:/m);
  });

  it('cannot open a network connection, not even to the broker on loopback', async () => {
    const port = new URL(t.url).port;
    const attempt = await run(`python3 -c "import socket; socket.create_connection(('127.0.0.1', ${port}), timeout=2)"`);
    expect(attempt.status).not.toBe(0);
    expect(attempt.output).toMatch(/Network is unreachable|Connection refused/);
    expect((await run('cat /proc/net/dev')).output).not.toMatch(/eth|ens|enp|wl/);
  });

  it('cannot see host processes', async () => {
    const { output } = await run('ls /proc | grep -c "^[0-9]"');
    expect(Number(output.trim())).toBeLessThan(10);
    expect((await run(`ls /proc/${process.pid}`)).status).not.toBe(0);
  });

  it('shows the app, not the sandbox’s plumbing, in its process list (htop, ps)', async () => {
    const { output } = await run('ps -eo pid,args --no-headers | cat');
    const processes = output.trim().split(/\r?\n/).map((line) => line.trim());
    // One small init (it reports the app's exit), then the app itself as process 2.
    expect(processes[0]).toBe('1 /bin/bash /run/holdfast-init /bin/bash --norc --noprofile -i');
    expect(processes[1]).toBe('2 /bin/bash --norc --noprofile -i');
    expect(output).not.toMatch(/bwrap|trap|7777/);
  });

  it('can write in its home and /tmp, and nowhere else', async () => {
    expect((await run('touch ~/notes.txt && touch /tmp/scratch')).status).toBe(0);
    for (const path of ['/usr/bin/evil', '/etc/evil', '/evil', '/opt/evil']) {
      expect((await run(`touch ${path}`)).status, path).not.toBe(0);
    }
  });

  it("cannot see other sessions' homes", async () => {
    const other = await launch(ann, 'shell', 80, 24);
    const otherScreen = new Screen(other);
    await otherScreen.waitFor('$ ');
    expect((await sh(other, otherScreen, 'echo mine > ~/private.txt')).status).toBe(0);
    expect((await run('ls /home')).output.trim()).toBe('user');
    expect((await run('cat ~/private.txt')).status).not.toBe(0);
    other.close();
  });

  it('runs with a fixed identity, environment and no broker state', async () => {
    expect((await run('id -un; hostname; pwd; echo $TZ')).output).toMatch(/^user\r\nholdfast\r\n\/home\/user\r\nUTC\r\n/);
    expect((await run('env | grep -ci holdfast_')).output.trim()).toBe('0');
  });
});
