import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryControlPlane } from './memory.js';

let dir = '';
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('the embedded control plane on disk', () => {
  it('keeps the durable prefixes (without a lease) across a restart, and nothing else', async () => {
    dir = mkdtempSync(join(tmpdir(), 'holdfast-plane-'));
    const persist = { file: join(dir, 'state', 'control-plane.json'), prefixes: ['/h/totp/', '/h/revoked/'] };
    const first = new MemoryControlPlane({ persist });
    await first.put('/h/totp/ann', 'secret-record');
    await first.put('/h/revoked/users/bob', '{"before":1}');
    await first.put('/h/revoked/tokens/x', '{"until":2}');
    await first.delete('/h/revoked/tokens/x');
    await first.put('/h/sessions/s1', 'gone with the process');
    const lease = await first.grantLease(2000, 500);
    await first.put('/h/totp/leased', 'not durable: it lives with its lease', { lease });
    await first.close();
    expect(statSync(persist.file).mode & 0o777).toBe(0o600);

    const second = new MemoryControlPlane({ persist });
    expect((await second.list('/h/')).map((kv) => [kv.key, kv.value])).toEqual([
      ['/h/revoked/users/bob', '{"before":1}'],
      ['/h/totp/ann', 'secret-record'],
    ]);
    // Compare-and-swap still works on what was loaded.
    const ann = (await second.get('/h/totp/ann'))!;
    expect(await second.compareAndSwap('/h/totp/ann', ann.revision, 'next')).not.toBeNull();
    await second.close();
  });
});
