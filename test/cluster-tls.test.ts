// A cluster whose nodes serve only https and wss, sharing one certificate from
// `holdfast cert dev`: replication between nodes, the admin API forwarded between them,
// a client tunnelled through a node that is not the primary, and a kill -9 failover —
// all over TLS, with clients that trust the certificate by its pin.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { nodeSocketFactoryWith } from '../broker/cli/connect.js';
import { makeDevCertificate } from '../broker/tls/certificate.js';
import { makeTrust } from '../broker/tls/trust.js';
import { HoldfastClient } from '../shared/core/index.js';
import { sessionOf, waitForStatus, whole, type TestCluster } from '../support/cluster-harness.js';
import { clusterPerFile } from './cluster-per-file.js';
import { Screen, launch, typingText } from '../support/harness.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'holdfast-cluster-tls-'));
const cert = makeDevCertificate({ names: ['localhost', '127.0.0.1'] });
writeFileSync(join(dir, 'node.crt'), cert.certPem);
writeFileSync(join(dir, 'node.key'), cert.keyPem, { mode: 0o600 });
const trust = makeTrust({ pins: [cert.pin] });

let c: TestCluster;
clusterPerFile({ nodes: 2, tag: 'tls', node: { tls: { certFile: join(dir, 'node.crt'), keyFile: join(dir, 'node.key') } }, trust }, (started) => (c = started));

const client = (url: string) => new HoldfastClient({ brokerUrl: url, socketFactory: nodeSocketFactoryWith(trust), connectTimeoutMs: 5000 });

describe('a cluster on TLS', () => {
  it('replicates over wss, answers holdfast status through either node, and survives kill -9 of the primary with every keystroke once', async () => {
    expect(c.nodes.every((n) => n.url.startsWith('https://'))).toBe(true);
    const ann = client(c.nodes[0]!.url);
    await ann.signIn('ann', 'ann-pw');
    const stream = await launch(ann, 'readline', 200, 50);
    const screen = new Screen(stream);
    await screen.waitFor('text? ');
    const id = stream.sessionId!;
    const before = await waitForStatus(c, whole(id));
    const primary = sessionOf(before, id)!.primary;
    const other = c.nodes.find((n) => n.name !== primary)!;

    // The real CLI, over https with the pin, asking the node that is not the primary:
    // it gathers the primary's replicas over TLS too.
    const { stdout } = await run(process.execPath, ['bin/holdfast.mjs', 'status', '--broker', other.url, '--user', 'admin', '--pin', cert.pin], {
      env: { ...process.env, HOLDFAST_PASSWORD: 'admin-pw' },
      timeout: 20_000,
    });
    expect(stdout).toMatch(/node-1\s+https:\/\/127\.0\.0\.1:\d+/);
    expect(stdout).toMatch(/node-2\s+https:\/\/127\.0\.0\.1:\d+/);
    // Sessions are listed by the first 12 characters of their id.
    expect(stdout).toMatch(new RegExp(`^${id.slice(0, 12)}\\s+ann\\s+readline\\s+1\\s+${primary}\\s+${other.name}\\s`, 'm'));

    // The same person carries on from a second client that reaches the node that is not
    // the primary: that node tunnels the session to the primary, over wss.
    const desk = client(other.url);
    await desk.signIn('ann', 'ann-pw');
    const running = (await desk.listSessions()).find((s) => s.sessionId === id)!;
    const moved = desk.attach(running, 200, 50);
    await moved.ready();
    const deskScreen = new Screen(moved);
    await deskScreen.waitFor('text? ');

    const typed = typingText(600, 5);
    for (let i = 0; i < typed.length; i += 10) {
      if (i === 300) c.signal(primary, 'SIGKILL');
      moved.sendInput(typed.slice(i, i + 10));
      await new Promise((r) => setTimeout(r, 15));
    }
    moved.sendInput('\r');
    const match = await deskScreen.waitFor(/GOT (\d+) ([0-9a-f]{64})/, 30_000);
    expect(Number(match[1])).toBe(typed.length);
    expect(match[2]).toBe(createHash('sha256').update(typed).digest('hex'));
    const after = await waitForStatus(c, (s) => sessionOf(s, id)?.primary === other.name, 15_000, other.url);
    expect(sessionOf(after, id)).toMatchObject({ epoch: 2 });
    moved.close();
    desk.signOut();
    stream.close();
    ann.signOut();
  }, 90_000);
});
