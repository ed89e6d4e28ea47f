// Whether a name exists must not show in how long a wrong password takes (issue 21,
// item 8): on a node whose hashes are cheaper than the default (the demo's, or this
// harness's), an unknown name took twice as long — 100 of 100 single tries told apart.
// Tries are interleaved, and medians compared, so the machine's noise hits both alike.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNode, type TestNode } from '../support/harness.js';

let t: TestNode;
beforeAll(async () => {
  t = await startNode();
});
afterAll(async () => {
  await t?.stop();
});

async function timed(check: () => Promise<boolean>): Promise<number> {
  const start = process.hrtime.bigint();
  expect(await check()).toBe(false);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

describe('sign-in timing', () => {
  it('a wrong password for a known name and any password for an unknown one take the same time', async () => {
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 25; i++) {
      known.push(await timed(() => t.node.ctx.verifyUser('ann', `wrong-${i}`)));
      unknown.push(await timed(() => t.node.ctx.verifyUser(`nobody-${i}`, `wrong-${i}`)));
    }
    const ratio = median(unknown) / median(known);
    expect(ratio, `unknown ${median(unknown).toFixed(1)} ms, known ${median(known).toFixed(1)} ms`).toBeGreaterThan(0.6);
    expect(ratio, `unknown ${median(unknown).toFixed(1)} ms, known ${median(known).toFixed(1)} ms`).toBeLessThan(1.6);
  });
});
