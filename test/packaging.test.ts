// Packaging and the CI checks behind it: the electron-builder config passes its own
// schema (and a broken one does not), the security scanner fails on a high finding
// (and our app has none), the installers' policy-directory steps, and what the
// desktop bundles contain — no broker code, and a preload with nothing but itself.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM script without types
import { scanForHighFindings, stageDesktopSources, validateBuilderConfig } from '../scripts/desktop-checks.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);
const builderConfig = () => parse(readFileSync(join(root, 'electron-builder.yml'), 'utf8')) as Record<string, unknown>;
const electronVersion = (JSON.parse(readFileSync(join(root, 'node_modules/electron/package.json'), 'utf8')) as { version: string }).version;

describe('electron-builder.yml', () => {
  it('is valid against electron-builder’s schema, and a broken copy is not', async () => {
    await expect(validateBuilderConfig(builderConfig())).resolves.toBeUndefined();
    await expect(validateBuilderConfig({ ...builderConfig(), nsis: { perMachine: 'yes' } })).rejects.toThrow(/nsis\.perMachine should be a boolean/);
    await expect(validateBuilderConfig({ ...builderConfig(), linux: { target: ['AppImage'], categry: 'Network' } })).rejects.toThrow(/configuration\.linux/);
  });

  it('builds every required target, per machine, and ships no broker code', () => {
    const config = builderConfig() as {
      linux: { target: string[] };
      win: { target: string[] };
      mac: { target: string[] };
      nsis: { perMachine: boolean; include: string };
      msi: { perMachine: boolean };
      files: string[];
      protocols: Array<{ schemes: string[] }>;
    };
    expect(config.linux.target).toEqual(['AppImage', 'deb', 'rpm']);
    expect(config.win.target).toEqual(['nsis', 'msi']);
    expect(config.mac.target).toContain('dmg');
    expect(config.nsis.perMachine && config.msi.perMachine).toBe(true);
    expect(config.files).toEqual(expect.arrayContaining(['!dist/broker/**', '!node_modules/**', '!broker/**']));
    expect(config.files.filter((f) => !f.startsWith('!')).every((f) => /^(dist\/main\/|dist\/renderer\/|package\.json$)/.test(f))).toBe(true);
    expect(config.protocols[0]!.schemes).toEqual(['holdfast']);
  });
});

describe('installers create the machine policy directory', () => {
  it('deb/rpm: /etc/holdfast, root-owned, after electron-builder’s own steps', () => {
    const script = readFileSync(join(root, 'build/linux/after-install.sh'), 'utf8');
    expect(script).toContain('install -d -o root -g root -m 0755 /etc/holdfast');
    expect(script).toContain('chrome-sandbox');
    expect(spawnSync('bash', ['-n', join(root, 'build/linux/after-install.sh')]).status).toBe(0);
  });

  it('NSIS: %ProgramData%\\Holdfast with Users read-only', () => {
    const nsh = readFileSync(join(root, 'build/windows/installer.nsh'), 'utf8');
    expect(nsh).toMatch(/SetShellVarContext all\s+CreateDirectory "\$APPDATA\\Holdfast"/);
    expect(nsh).toContain('*S-1-5-32-545:(OI)(CI)RX');
  });

  it('MSI: the hook adds the directory to electron-builder’s own WiX template, once', () => {
    const { addPolicyDirectory } = require(join(root, 'build/windows/msi-policy-dir.cjs')) as { addPolicyDirectory: (wxs: string) => string };
    const template = readFileSync(require.resolve('app-builder-lib/templates/msi/template.xml'), 'utf8');
    const wxs = addPolicyDirectory(template);
    expect(wxs).toMatch(/<Directory Id="TARGETDIR" Name="SourceDir">\s*<Directory Id="CommonAppDataFolder"><Directory Id="HOLDFASTPOLICYDIR" Name="Holdfast"\/>/);
    expect(wxs).toMatch(/<Feature Id="ProductFeature"[^>]*>\s*<ComponentRef Id="HoldfastPolicyDirectory"\/>/);
    expect(wxs).toContain('<Permission User="Users" GenericRead="yes" GenericExecute="yes"/>');
    expect(addPolicyDirectory(wxs)).toBe(wxs);
    expect(() => addPolicyDirectory('<Wix/>')).toThrow(/template changed/);
  });
});

describe('what the desktop bundles contain', () => {
  const inputsOf = async (entry: string) => {
    const result = await build({ entryPoints: [join(root, entry)], bundle: true, write: false, metafile: true, platform: 'node', format: 'cjs', external: ['electron'], logLevel: 'silent', absWorkingDir: root });
    return Object.keys(result.metafile.inputs);
  };

  it('main carries no broker code and none of the broker’s dependencies', async () => {
    const inputs = await inputsOf('main/main.ts');
    expect(inputs.filter((file) => file.startsWith('broker/'))).toEqual([]);
    for (const dependency of ['ws', 'node-pty', '@xterm/headless', 'pino', 'prom-client', 'jose']) {
      expect(inputs.filter((file) => file.startsWith(`node_modules/${dependency}/`)), dependency).toEqual([]);
    }
    expect(inputs.some((file) => file.startsWith('node_modules/electron-updater/'))).toBe(true);
  });

  it('the preload is that one file: no schema library, nothing else, in the renderer’s process', async () => {
    expect(await inputsOf('main/preload.ts')).toEqual(['main/preload.ts']);
  });
});

describe('electronegativity', () => {
  it('fails on an insecure window, and finds nothing high in Holdfast’s desktop sources', async () => {
    const insecure = mkdtempSync(join(tmpdir(), 'holdfast-insecure-'));
    const stage = stageDesktopSources(root);
    try {
      writeFileSync(join(insecure, 'package.json'), JSON.stringify({ name: 'insecure', devDependencies: { electron: electronVersion } }));
      writeFileSync(join(insecure, 'main.js'), "const { BrowserWindow } = require('electron');\nnew BrowserWindow({ webPreferences: { nodeIntegration: true, contextIsolation: false } });\n");
      const bad = await scanForHighFindings(insecure, electronVersion);
      expect(bad.findings.join('\n')).toMatch(/HIGH CONTEXT_ISOLATION_JS_CHECK main\.js/);
      expect(bad.findings.length).toBeGreaterThan(1);

      const ours = await scanForHighFindings(stage, electronVersion);
      expect(ours.unparsed).toEqual([]);
      expect(ours.findings).toEqual([]);
    } finally {
      rmSync(insecure, { recursive: true, force: true });
      rmSync(stage, { recursive: true, force: true });
    }
  }, 120_000);
});
