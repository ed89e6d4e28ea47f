import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bwrapArgs, bwrapOptions, sandboxCommand, sandboxEnv, scaleSettings } from './sandbox.js';
import { AppConfig } from '../config/schema.js';
import { DEFAULT_PROFILE } from '../registry/replica-factory.js';

const app = AppConfig.parse({ id: 'py', name: 'Python', command: '/usr/bin/python3', args: ['-q'], env: { FOO: 'bar' } });
const spec = { app, profile: DEFAULT_PROFILE, homeDir: '/state/h', passwdFile: '/state/passwd', groupFile: '/state/group', initFile: '/state/init' };

describe('a GUI app told its screen’s scale', () => {
  const gui = AppConfig.parse({ id: 'xterm', name: 'XTerm', display: 'rfb', command: '/usr/bin/xterm' });
  it('gets Xvnc’s DPI and GTK’s scale from it, and keeps its own settings of them', () => {
    expect(scaleSettings(1, gui)).toEqual({ dpi: 96, env: {} });
    expect(scaleSettings(2, gui)).toEqual({ dpi: 192, env: { GDK_SCALE: '2' } });
    expect(scaleSettings(1.5, gui)).toEqual({ dpi: 144, env: { GDK_DPI_SCALE: '1.5' } });
    expect(scaleSettings(2.5, gui)).toEqual({ dpi: 240, env: { GDK_SCALE: '2', GDK_DPI_SCALE: '1.25' } });
    expect(scaleSettings(1.33, gui)).toEqual({ dpi: 120, env: { GDK_DPI_SCALE: '1.25' } }); // in quarters
    expect(scaleSettings(9, gui).dpi).toBe(384);
    expect(scaleSettings(2, { env: { GDK_SCALE: '1' } })).toEqual({ dpi: 192, env: {} });
  });

  it('starts Xvnc at that DPI and sets GTK’s scale in the sandbox, for a GUI app only', () => {
    const guiSpec = { ...spec, app: gui, displayDir: '/state/display', scale: 2 };
    expect(sandboxCommand(guiSpec)).toEqual(expect.arrayContaining(['holdfast-display', '192', '/usr/bin/xterm']));
    expect(bwrapOptions(guiSpec).join(' ')).toContain('--setenv GDK_SCALE 2');
    expect(bwrapOptions({ ...spec, scale: 2 }).join(' ')).not.toContain('GDK_SCALE');
  });
});

describe('bubblewrap arguments', () => {
  it('unshares everything, network included, and dies with its parent', () => {
    const args = bwrapArgs(spec);
    expect(args).toEqual(expect.arrayContaining(['--unshare-all', '--unshare-user', '--die-with-parent', '--clearenv']));
    expect(args).not.toContain('--share-net');
    expect(bwrapArgs({ ...spec, profile: { ...DEFAULT_PROFILE, network: true } })).toContain('--share-net');
  });

  it('never binds the host /etc wholesale, nor secrets from it', () => {
    const args = bwrapArgs(spec);
    const bound = args.filter((_, i) => args[i - 1] === '--ro-bind' || args[i - 1] === '--bind');
    expect(bound).not.toContain('/etc');
    expect(bound.some((path) => /shadow|sudoers|ssh|holdfast/.test(path))).toBe(false);
  });

  it("covers the node's own files wherever a bound directory holds them, and loads the filter last", () => {
    const data = mkdtempSync(join(tmpdir(), 'bound-'));
    mkdirSync(join(data, 'state'));
    writeFileSync(join(data, 'node.yaml'), '');
    const withBinds = { ...DEFAULT_PROFILE, readOnlyPaths: [data] };
    const hide = [join(data, 'node.yaml'), join(data, 'state'), join(data, 'shared-not-yet-made'), '/tmp/elsewhere.key'];
    const args = bwrapArgs({ ...spec, profile: withBinds, hide, seccompFd: 3 }).join(' ');
    rmSync(data, { recursive: true });
    expect(args).toContain(`--ro-bind /dev/null ${data}/node.yaml`);
    expect(args).toContain(`--tmpfs ${data}/state --remount-ro ${data}/state`);
    // Missing (nothing to see, nowhere to mount), or outside every bound directory: nothing to cover.
    expect(args).not.toContain('shared-not-yet-made');
    expect(args).not.toContain('/tmp/elsewhere.key');
    const argv = args.split(' ');
    expect(argv.slice(argv.indexOf('--seccomp'), argv.indexOf('--seccomp') + 2)).toEqual(['--seccomp', '3']);
    expect(argv.indexOf('--seccomp')).toBeGreaterThan(argv.lastIndexOf('--bind'));
  });

  it('binds what a symlink points at, checked against the node\'s files there, and covers them under the link\'s name', () => {
    // A profile binds a link to the node's config directory (its target real, not the link, is what holds node.yaml).
    const data = realpathSync(mkdtempSync(join(tmpdir(), 'linked-')));
    mkdirSync(join(data, 'config'));
    mkdirSync(join(data, 'state'));
    writeFileSync(join(data, 'config', 'node.yaml'), '');
    symlinkSync(join(data, 'config'), join(data, 'link'));
    symlinkSync(join(data, 'state'), join(data, 'into-state'));
    const link = join(data, 'link');
    const intoState = join(data, 'into-state');
    // The node's files as it knows them: where they really are (stateDir named through a link, as a config may).
    const hide = [join(data, 'config', 'node.yaml'), intoState];
    const args = bwrapArgs({ ...spec, profile: { ...DEFAULT_PROFILE, readOnlyPaths: [link, intoState, join(data, 'missing')] }, hide }).join(' ');
    rmSync(data, { recursive: true });
    // The target is bound (so swapping the link later changes nothing), where the profile named it.
    expect(args).toContain(`--ro-bind ${data}/config ${link} `);
    expect(args).toContain(`--ro-bind /dev/null ${link}/node.yaml`);
    // A link into stateDir (every session's home) shows an empty directory, not stateDir.
    expect(args).not.toContain(`--ro-bind ${data}/state`);
    expect(args).toContain(`--tmpfs ${intoState} --remount-ro ${intoState}`);
    expect(args).not.toContain('missing');
  });

  it("puts the sandbox's own devpts over bwrap's, and keeps every host path off the command line", () => {
    const withTerminals = { ...spec, terminalsDir: '/state/sandboxes/x/pts', seccompFd: 3 };
    const options = bwrapOptions(withTerminals);
    expect(options.join(' ')).toContain('--dev /dev');
    expect(options.join(' ')).toContain('--dev-bind /state/sandboxes/x/pts /dev/pts');
    expect(options.indexOf('--dev-bind')).toBeGreaterThan(options.indexOf('--dev'));
    expect(bwrapOptions(spec)).not.toContain('/dev/pts');
    // What stays on bwrap's command line (and so in the sandbox's /proc/1/cmdline): paths of the sandbox only.
    expect(sandboxCommand(withTerminals).join(' ')).not.toMatch(/\/state|seccomp|sandboxes/);
    expect(bwrapArgs(withTerminals)).toEqual([...options, '--', ...sandboxCommand(withTerminals)]);
  });

  it('runs the command last, after --, with a fixed environment', () => {
    const args = bwrapArgs(spec);
    const command = args.slice(args.indexOf('--'));
    // The init (process 1, --as-pid-1) from its read-only file, then the app: what `ps` shows inside.
    expect(command).toEqual(['--', '/bin/bash', '/run/holdfast-init', '/usr/bin/python3', '-q']);
    expect(args).toContain('--as-pid-1');
    expect(args.join(' ')).toContain('--ro-bind /state/init /run/holdfast-init');
    expect(sandboxEnv(app)).toMatchObject({ HOME: '/home/user', TZ: 'UTC', LANG: 'C.UTF-8', FOO: 'bar' });
  });
});
