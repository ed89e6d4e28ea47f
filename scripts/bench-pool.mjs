#!/usr/bin/env node
// Pools the GUI (RFB) figures of several bench runs into one verdict on the budget
// (at least websockify's updates/s, at no more than its bytes per update, with
// continuous updates as noVNC runs; the one-request mode is reported as a diagnostic).
//
// One run's ratio moves by ±0.1 from run to run on a two-core machine that Xvnc and
// xterm keep busy, so one run cannot say whether the budget is met. This takes the
// bench's ABBA blocks as pairs (block b of Holdfast against block b of websockify,
// measured back to back), averages each run's pairs on a log scale, and gives the
// geometric mean over runs with a 95 % confidence interval (Student's t over runs:
// blocks within a run share their sessions, so runs are the independent samples).
//
//   npm run bench:pool -- bench-results/bench-*.json
//   npm run bench:pool -- --commit=27edf5c bench-results/bench-*.json
//
// Left out: runs made from a tree with uncommitted changes (unless --dirty), and runs
// the bench marked skewed (other processes used more than 5 % of the CPU during the
// part, as the bench's ⚠ says; unless --busy).
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const commit = args.find((a) => a.startsWith('--commit='))?.slice('--commit='.length);
const dirty = args.includes('--dirty');
const busy = args.includes('--busy');
/** The bench marks a part skewed (⚠) above this share of the CPU used by others. */
const SKEWED = 0.05;
const files = args.filter((a) => !a.startsWith('--'));
if (files.length === 0) {
  console.error('usage: npm run bench:pool -- [--commit=SHA] [--dirty] [--busy] bench-results/bench-*.json');
  process.exit(2);
}

/** Two-sided 95 % t quantiles by degrees of freedom (1–30; beyond, 1.96 is close enough). */
const T95 = [NaN, 12.71, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];
/** The budget is judged as noVNC runs against TigerVNC (continuous updates); the request mode is a diagnostic. */
const MODES = [
  ['fpsContinuous', 'continuous updates, as noVNC runs', 'the budget'],
  ['fps', 'one request at a time', 'diagnostic'],
];

const runs = [];
const skipped = [];
const skewed = [];
for (const file of files) {
  let bench;
  try {
    bench = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    continue; // not a bench result (latest.json duplicates one; logs)
  }
  const rfb = bench.results?.rfb;
  if (!rfb?.fps?.holdfast?.perBlock || !rfb.fpsContinuous) continue;
  const source = bench.source ?? {};
  if (commit && !String(source.commit ?? '').startsWith(commit)) continue;
  if (!dirty && source.modifiedFiles > 0) {
    skipped.push(file);
    continue;
  }
  if (!busy && (rfb.otherLoad?.foreign ?? 0) > SKEWED) {
    skewed.push(file);
    continue;
  }
  const run = { commit: source.commit ?? '?', when: bench.timestamp ?? '', modes: {} };
  for (const [key] of MODES) {
    const h = rfb[key].holdfast.perBlock;
    const r = rfb[key].reference.perBlock;
    const pairs = h.map((x, i) => ({ fps: x.updatesPerSecond / r[i]?.updatesPerSecond, bytes: x.bytesPerUpdate / r[i]?.bytesPerUpdate })).filter((p) => Number.isFinite(p.fps) && Number.isFinite(p.bytes) && p.fps > 0 && p.bytes > 0);
    run.modes[key] = {
      fps: Math.exp(mean(pairs.map((p) => Math.log(p.fps)))),
      bytes: Math.exp(mean(pairs.map((p) => Math.log(p.bytes)))),
    };
  }
  runs.push(run);
}
if (skipped.length > 0) console.log(`left out ${skipped.length} run(s) from a tree with uncommitted changes (--dirty to include them)`);
if (skewed.length > 0) console.log(`left out ${skewed.length} run(s) the bench marked skewed, other processes over ${SKEWED * 100} % of the CPU (--busy to include them)`);
if (runs.length === 0) {
  console.error('no GUI (RFB) results to pool: none of the files is a bench result with a GUI part (npm run bench -- --only=rfb writes them)');
  process.exit(1);
}
runs.sort((a, b) => a.when.localeCompare(b.when));

console.log(`\n${runs.length} run(s); per run, the geometric mean of its paired blocks (holdfast / websockify):\n`);
console.log('run                        commit    continuous fps  bytes   one-at-a-time fps  bytes');
for (const run of runs) {
  const c = run.modes.fpsContinuous;
  const f = run.modes.fps;
  console.log(`${run.when.padEnd(26)} ${String(run.commit).slice(0, 8).padEnd(9)} ${fmt(c.fps).padStart(14)} ${fmt(c.bytes).padStart(6)} ${fmt(f.fps).padStart(18)} ${fmt(f.bytes).padStart(6)}`);
}

console.log('\npooled (geometric mean over runs, 95 % CI):');
const verdicts = [];
/** Whether a figure's 95 % interval rules out parity with websockify. */
const sure = (x) => (!Number.isFinite(x.lo) ? 'one run: no interval' : x.lo > 1 || x.hi < 1 ? 'its 95 % interval excludes parity' : 'parity inside its 95 % interval');
for (const [key, name, role] of MODES) {
  const fps = interval(runs.map((run) => Math.log(run.modes[key].fps)));
  const bytes = interval(runs.map((run) => Math.log(run.modes[key].bytes)));
  const fpsOk = fps.mean >= 1;
  const bytesOk = bytes.mean <= 1;
  const ok = fpsOk && bytesOk;
  console.log(`  ${name.padEnd(34)} updates/s ${fmt(fps.mean)} (${fmt(fps.lo)}–${fmt(fps.hi)})   bytes/update ${fmt(bytes.mean)} (${fmt(bytes.lo)}–${fmt(bytes.hi)})   ${ok ? 'within' : 'NOT MET'}`);
  verdicts.push(
    `  ${name} (${role}): ${ok ? 'MET' : 'NOT MET'} — updates/s ${fpsOk ? 'at least' : 'below'} websockify's (${sure(fps)}), bytes/update ${bytesOk ? 'at most' : 'above'} websockify's (${sure(bytes)})`,
  );
}
console.log(`\nbudget (updates/s ≥ websockify's, bytes/update ≤ websockify's), on the pooled estimates:\n${verdicts.join('\n')}`);

function mean(xs) {
  return xs.reduce((s, x) => s + x, 0) / xs.length;
}

/** Mean of logs and its 95 % interval, back on the ratio scale. */
function interval(logs) {
  const m = mean(logs);
  if (logs.length < 2) return { mean: Math.exp(m), lo: NaN, hi: NaN };
  const sd = Math.sqrt(logs.reduce((s, x) => s + (x - m) ** 2, 0) / (logs.length - 1));
  const half = (T95[logs.length - 1] ?? 1.96) * (sd / Math.sqrt(logs.length));
  return { mean: Math.exp(m), lo: Math.exp(m - half), hi: Math.exp(m + half) };
}

function fmt(x) {
  return Number.isFinite(x) ? `${x.toFixed(3)}×` : '—';
}
