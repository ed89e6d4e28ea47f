// scripts/bench-pool.mjs: the verdict on the GUI budget over many bench runs. Bench
// results are written here by hand (the real bench takes 90 s a run), in the shape
// scripts/bench.mjs writes them.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const SCRIPT = join(import.meta.dirname, '..', 'scripts', 'bench-pool.mjs');
const dir = mkdtempSync(join(tmpdir(), 'bench-pool-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Mode {
  /** Per block: Holdfast's updates/s and bytes/update as multiples of websockify's. */
  fps: number[];
  bytes: number[];
}

let written = 0;
function run(continuous: Mode, request: Mode, extra: { commit?: string; modifiedFiles?: number; foreign?: number } = {}): string {
  const mode = (m: Mode) => ({
    holdfast: { perBlock: m.fps.map((f, i) => ({ updatesPerSecond: 40 * f, bytesPerUpdate: 200_000 * m.bytes[i]! })) },
    reference: { perBlock: m.fps.map(() => ({ updatesPerSecond: 40, bytesPerUpdate: 200_000 })) },
  });
  const file = join(dir, `bench-${String(++written).padStart(2, '0')}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      timestamp: `2026-12-06T00:00:${String(written).padStart(2, '0')}.000Z`,
      source: { commit: extra.commit ?? 'aaaaaaa', modifiedFiles: extra.modifiedFiles ?? 0 },
      results: { rfb: { fpsContinuous: mode(continuous), fps: mode(request), otherLoad: { foreign: extra.foreign ?? 0.01 } } },
    }),
  );
  return file;
}

function pool(...args: string[]): string {
  return execFileSync(process.execPath, [SCRIPT, ...args], { encoding: 'utf8' });
}

const same = (ratio: number): Mode => ({ fps: [ratio, ratio, ratio, ratio], bytes: [1 / ratio, 1 / ratio, 1 / ratio, 1 / ratio] });

describe('bench:pool', () => {
  it('pools paired blocks into a geometric mean per run and over runs, and says when the interval rules out parity', () => {
    // Continuous: runs at 1.08×, 1.10× and 1.12× the updates (blocks around that), 0.90× the bytes.
    // One at a time: the updates a little above parity, the bytes either side of it.
    const files = [
      run({ fps: [1.07, 1.09, 1.08, 1.08], bytes: [0.9, 0.9, 0.9, 0.9] }, { fps: [1.02, 1.0, 1.0, 1.0], bytes: [1, 1, 1, 1] }),
      run({ fps: [1.1, 1.1, 1.1, 1.1], bytes: [0.89, 0.91, 0.9, 0.9] }, { fps: [1.0, 1.0, 1.0, 1.0], bytes: [1.1, 1.0, 1.0, 1.0] }),
      run({ fps: [1.12, 1.12, 1.12, 1.12], bytes: [0.9, 0.9, 0.9, 0.9] }, { fps: [1.01, 1.0, 1.0, 1.0], bytes: [0.95, 1.0, 1.0, 1.0] }),
    ];
    const out = pool(...files);
    expect(out).toContain('\n3 run(s); per run');
    expect(out).toMatch(/continuous updates, as noVNC runs\s+updates\/s 1\.100× \(1\.0\d\d×–1\.1\d\d×\)\s+bytes\/update 0\.900×/);
    expect(out).toContain("continuous updates, as noVNC runs (the budget): MET — updates/s at least websockify's (its 95 % interval excludes parity), bytes/update at most websockify's (its 95 % interval excludes parity)");
    // One at a time: the bytes' geometric mean is (1.1 · 0.95)^(1/12) ≈ 1.0037: above, but not ruled out.
    expect(out).toContain("one request at a time (diagnostic): NOT MET — updates/s at least websockify's (parity inside its 95 % interval), bytes/update above websockify's (parity inside its 95 % interval)");
  });

  it('leaves out runs from a modified tree and busy runs unless told to keep them, and picks runs by commit', () => {
    const good = run(same(1.05), same(1.05), { commit: 'bbbbbbb' });
    const dirty = run(same(0.5), same(0.5), { commit: 'bbbbbbb', modifiedFiles: 2 });
    const busy = run(same(0.5), same(0.5), { commit: 'bbbbbbb', foreign: 0.2 });
    const other = run(same(0.5), same(0.5), { commit: 'ccccccc' });

    const strict = pool('--commit=bbbb', good, dirty, busy, other);
    expect(strict).toContain('left out 1 run(s) from a tree with uncommitted changes');
    expect(strict).toContain('left out 1 run(s) the bench marked skewed');
    expect(strict).toContain('\n1 run(s); per run');
    expect(strict).toContain("continuous updates, as noVNC runs (the budget): MET — updates/s at least websockify's (one run: no interval)");

    const all = pool('--dirty', '--busy', good, dirty, busy, other);
    expect(all).toContain('\n4 run(s); per run');
    expect(all).toContain('continuous updates, as noVNC runs (the budget): NOT MET — updates/s below');
  });

  it('says how to call it when given no results, and fails when none of the files holds a GUI part', () => {
    expect(() => execFileSync(process.execPath, [SCRIPT], { encoding: 'utf8', stdio: 'pipe' })).toThrow(/usage: npm run bench:pool/);
    const notBench = join(dir, 'latest.log');
    writeFileSync(notBench, 'not json');
    expect(() => execFileSync(process.execPath, [SCRIPT, notBench], { encoding: 'utf8', stdio: 'pipe' })).toThrow(/no GUI \(RFB\) results to pool/);
  });
});
