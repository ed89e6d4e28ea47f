// Part 12: lockstep coverage (issue 20) — every app of support/coverage-apps.ts, each
// replicated in a 3-node cluster and run beside a single-node reference, its primary
// killed (kill -9) halfway through its script (support/coverage.ts says what each
// figure means). Apps not installed are reported as such (their Debian package).
import { COVERAGE_APPS, installed, passed, runCoverageApp, startCoverageClusters, type CoverageResult } from '../support/coverage.js';
import { stats } from './stats.js';

export interface CoverageOptions {
  cli: string;
  /** Only these app ids (default: all). */
  only?: string[];
  /** Spread each app's script over a session this long (runCoverageApp; default: the script's own pace). */
  sessionSeconds?: number;
  progress?: (line: string) => void;
}

export async function run(options: CoverageOptions): Promise<Record<string, unknown>> {
  const say = options.progress ?? (() => {});
  const apps = COVERAGE_APPS.filter((app) => !options.only || options.only.includes(app.id));
  const clusters = await startCoverageClusters(apps.filter(installed), { cli: options.cli, tag: 'bench-coverage' });
  const results: CoverageResult[] = [];
  try {
    for (const app of apps) {
      const result = await runCoverageApp(clusters, app, (options.sessionSeconds ?? 0) * 1000);
      results.push(result);
      say(`${app.id}: ${result.skipped ?? (passed(result) ? 'kept' : `NOT kept — ${result.lost ?? result.notes.join('; ') ?? ''}${result.divergenceDetails.length ? ` (${result.divergenceDetails.join('; ')})` : ''}`)}`);
    }
  } finally {
    await clusters.stop();
  }
  const ran = results.filter((r) => r.skipped === null);
  const kind = (gui: boolean) => ran.filter((r) => r.gui === gui);
  const share = (list: CoverageResult[]) => (list.length === 0 ? null : list.filter(passed).length / list.length);
  const live = ran.map((r) => r.killToLiveMs).filter((ms): ms is number => ms !== null);
  return {
    sessionSeconds: options.sessionSeconds ?? null,
    apps: results.map((r) => ({ ...r, passed: passed(r) })),
    terminalKept: share(kind(false)),
    guiKept: share(kind(true)),
    filesChangedSilently: ran.filter((r) => r.filesKept === false && r.divergencesBeforeKill === 0).map((r) => r.app),
    killToLiveMs: live.length > 0 ? stats(live) : null,
  };
}
