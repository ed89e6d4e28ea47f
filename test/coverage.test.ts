// The lockstep coverage suite, light (issue 20): the apps support/coverage-apps.ts marks
// `light` — bash with date/$RANDOM/mktemp and a background loop, python3 with random and
// time, vim, bc, sqlite3, git, perl and xedit — each replicated in a 3-node cluster, its
// primary killed (kill -9) halfway through its script, against a single-node reference
// run of the same script. The whole suite is `npm run bench -- --only=coverage`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COVERAGE_APPS, passed, runCoverageApp, startCoverageClusters, type CoverageClusters } from '../support/coverage.js';

// COVERAGE_ONLY=a,b runs just those (any app of the suite), to look into one;
// COVERAGE_SECONDS=120 spreads each script over a session that long. An app marked
// `catchesUp` (bash's background loop, tetris-bsd, xclock) must also get a standby back after the kill.
const only = process.env.COVERAGE_ONLY?.split(',');
const sessionMs = Number(process.env.COVERAGE_SECONDS ?? 0) * 1000;
const apps = COVERAGE_APPS.filter((app) => (only ? only.includes(app.id) : app.light));
let clusters: CoverageClusters;

beforeAll(async () => {
  clusters = await startCoverageClusters(apps, { tag: 'coverage' });
}, 120_000);

afterAll(async () => {
  await clusters?.stop();
}, 60_000);

describe('lockstep keeps real apps exactly as they were across kill -9 of the primary', () => {
  for (const app of apps) {
    it(`${app.name}: the screen and files as they were, as a reference run ends, no standby diverged`, async () => {
      const result = await runCoverageApp(clusters, app, sessionMs);
      // Everything the run found, so a failure says what differed.
      expect(passed(result), JSON.stringify(result, null, 2)).toBe(true);
      if (app.catchesUp) expect(result.standbyBack, `a new standby joined after the kill: ${JSON.stringify(result, null, 2)}`).toBe(true);
    }, 180_000 + sessionMs * 2);
  }
});
