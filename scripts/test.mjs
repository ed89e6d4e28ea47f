// `npm test`: type-check every runtime, lint (including the import layering), build,
// then run every test — unit, integration (real bubblewrap, PTYs, sockets), CLI in
// tmux and end to end in Chromium. Prints one closing line: "N passed, N failed".
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';

const npx = (args, options = {}) => spawnSync('npx', args, { stdio: 'inherit', ...options });
const step = (name, result) => {
  if (result.status !== 0) {
    console.error(`\nnpm test: ${name} failed (exit ${result.status ?? result.signal}).`);
    process.exit(result.status || 1);
  }
};

step('type check', npx(['tsc', '-b', 'tsconfig.json']));
step('lint', npx(['eslint', '.', '--max-warnings', '0']));
// Import cycles, type-only ones included (.dependency-cruiser.cjs): one fails the run.
step('import cycles', spawnSync('npm', ['run', '--silent', 'cycles'], { stdio: 'inherit' }));
step('build', spawnSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' }));
// electron-builder.yml against its schema; Electronegativity over the desktop sources (fails on HIGH).
step('desktop checks', spawnSync(process.execPath, ['scripts/desktop-checks.mjs'], { stdio: 'inherit' }));

mkdirSync('test-artifacts', { recursive: true });
const report = 'test-artifacts/vitest-report.json';
rmSync(report, { force: true });
const extra = process.argv.slice(2);
const run = npx(['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...extra]);

let summary = null;
if (existsSync(report)) {
  const json = JSON.parse(readFileSync(report, 'utf8'));
  summary = { passed: json.numPassedTests, failed: json.numFailedTests, skipped: json.numPendingTests + json.numTodoTests };
}
if (!summary) {
  console.error('npm test: vitest wrote no report');
  process.exit(run.status || 1);
}
console.log(`\n${summary.passed} passed, ${summary.failed} failed, ${summary.skipped} skipped`);
process.exit(run.status === 0 && summary.failed === 0 && summary.passed > 0 ? 0 : 1);
