// An administrator turns off the two-step sign-in of someone who lost their phone and
// their recovery codes, with the real CLI: the person then signs in with their
// password alone; nobody outside the admins group may do it; the audit log says who did.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeAt, stepAt } from '../broker/auth/totp.js';
import { request } from '../broker/tls/trust.js';
import { client, startNode, type TestNode } from '../support/harness.js';

const run = promisify(execFile);
let t: TestNode;
beforeAll(async () => {
  t = await startNode({ admin: true });
});
afterAll(() => t?.stop());

const resetWithCli = (name: string, as = 'admin', password = 'admin-pw') =>
  run(process.execPath, ['bin/holdfast.mjs', 'user', 'reset-totp', name, '--broker', t.url, '--user', as], { env: { ...process.env, HOLDFAST_PASSWORD: password }, timeout: 20_000 });

describe('holdfast user reset-totp', () => {
  it('turns a lost second factor off: the person signs in with the password alone and can set it up again', async () => {
    const ann = client(t.url);
    await ann.signIn('ann', 'ann-pw');
    const { secret } = await ann.beginTotp();
    await ann.confirmTotp(codeAt(secret, stepAt(Date.now())));
    ann.signOut();
    await expect(client(t.url).signIn('ann', 'ann-pw')).rejects.toMatchObject({ code: 'second_factor' });

    // bob is not an administrator: refused, and nothing changes.
    const bob = client(t.url);
    await bob.signIn('bob', 'bob-pw');
    const refused = await resetWithCli('ann', 'bob', 'bob-pw').catch((e: { code: number; stderr: string }) => e);
    expect(refused).toMatchObject({ code: 1, stderr: expect.stringMatching(/^holdfast user reset-totp: .*admins/) });
    bob.signOut();
    await expect(client(t.url).signIn('ann', 'ann-pw')).rejects.toMatchObject({ code: 'second_factor' });

    const { stdout } = await resetWithCli('ann');
    expect(stdout).toBe("ann's two-step sign-in is off: they sign in with their password alone, and can set it up again from the launcher.\n");
    const again = client(t.url);
    await expect(again.signIn('ann', 'ann-pw')).resolves.toMatchObject({ name: 'ann' });
    // …and set it up again.
    const fresh = await again.beginTotp();
    expect(fresh.secret).not.toBe(secret);
    again.signOut();

    expect((await resetWithCli('bob')).stdout).toBe('bob had no two-step sign-in; nothing changed.\n');
    const unknown = await resetWithCli('nobody').catch((e: { code: number; stderr: string }) => e);
    expect(unknown).toMatchObject({ code: 1, stderr: 'holdfast user reset-totp: There is no user "nobody" in this node\'s catalog.\n' });

    const audit = readFileSync(join(t.stateDir, 'audit.log'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(audit.filter((e) => e.event === 'admin.totp-reset').map((e) => [e.user, e.target, e.result])).toEqual([
      ['admin', 'ann', 'reset'],
      ['admin', 'bob', 'was-off'],
    ]);
    expect(audit.some((e) => e.event === 'admin.denied' && e.user === 'bob')).toBe(true);
    // The admin API itself refuses a call without a token.
    expect((await request(`${t.url}/api/users/ann/second-factor/reset`, { method: 'POST', body: {}, timeoutMs: 5000 })).status).toBe(401);
  }, 60_000);
});
