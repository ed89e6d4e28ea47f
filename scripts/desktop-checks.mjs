// CI checks for the desktop app, run by `npm test` after the build:
//   1. electron-builder.yml against electron-builder's own configuration schema;
//   2. Electronegativity over the desktop app's sources (main/, renderer/, shared/ and
//      package.json, staged together so its global checks see the whole app): any
//      finding of HIGH or CRITICAL severity, or a file it cannot parse, fails the run.
// It runs offline: the check that downloads Electron's release list is left out (the
// Electron version is pinned in package-lock.json), and missing translations are fine.
// Usage: node scripts/desktop-checks.mjs [--builder-only | --scan-only] [--scan DIR]
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';

const require = createRequire(import.meta.url);

/** Rejects with electron-builder's own message when the config does not match its schema. */
export async function validateBuilderConfig(config) {
  const { validateConfiguration } = require('app-builder-lib/out/util/config/config.js');
  await validateConfiguration(config, { add() {}, isEnabled: false });
}

const FAILING = new Set(['HIGH', 'CRITICAL']);

/** Scans `input` (a directory); returns the findings that fail the build and the files it could not parse. */
export async function scanForHighFindings(input, electronVersion) {
  const mod = require('@doyensec/electronegativity');
  const run = mod.default ?? mod;
  const quiet = console.log;
  console.log = () => {}; // its progress and "could not retrieve translations" chatter
  let result;
  try {
    result = await run({ input, isRelative: true, electronVersionOverride: electronVersion, excludeFromScan: ['AvailableSecurityFixesGlobalCheck'] }, false);
  } finally {
    console.log = quiet;
  }
  const findings = result.issues
    .filter((issue) => FAILING.has(issue.severity.name))
    .map((issue) => `${issue.severity.name} ${issue.id} ${issue.file}:${issue.location.line}:${issue.location.column} ${issue.description}`);
  const unparsed = result.errors.filter((error) => !error.tolerable).map((error) => `${error.file}: ${error.message}`);
  return { findings, unparsed, checked: result.issues.length };
}

/** The desktop app's sources in one directory, as the scanner should see them. */
export function stageDesktopSources(root = '.') {
  const stage = mkdtempSync(join(tmpdir(), 'holdfast-scan-'));
  for (const dir of ['main', 'renderer', 'shared']) cpSync(join(root, dir), join(stage, dir), { recursive: true, filter: (path) => !/\.test\.tsx?$/.test(path) });
  cpSync(join(root, 'package.json'), join(stage, 'package.json'));
  return stage;
}

async function main() {
  const args = process.argv.slice(2);
  let failed = false;
  if (!args.includes('--scan-only')) {
    try {
      await validateBuilderConfig(parse(readFileSync('electron-builder.yml', 'utf8')));
      console.log('electron-builder.yml: valid against electron-builder\'s schema');
    } catch (error) {
      console.error(`electron-builder.yml is not valid:\n${error.message}`);
      failed = true;
    }
  }
  if (!args.includes('--builder-only')) {
    const explicit = args.includes('--scan') ? args[args.indexOf('--scan') + 1] : null;
    const input = explicit ?? stageDesktopSources();
    const electronVersion = JSON.parse(readFileSync('node_modules/electron/package.json', 'utf8')).version;
    try {
      const { findings, unparsed } = await scanForHighFindings(input, electronVersion);
      for (const line of [...findings, ...unparsed.map((u) => `could not scan ${u}`)]) console.error(`electronegativity: ${line}`);
      if (findings.length > 0 || unparsed.length > 0) failed = true;
      else console.log(`electronegativity: no high-severity findings (Electron ${electronVersion})`);
    } finally {
      if (!explicit) rmSync(input, { recursive: true, force: true });
    }
  }
  process.exit(failed ? 1 : 0);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
