import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bwrapArgs, sandboxEnv } from './sandbox.js';
import { AppConfig } from '../config/schema.js';
import { DEFAULT_PROFILE } from '../registry/replica-factory.js';

const app = AppConfig.parse({ id: 'py', name: 'Python', command: '/usr/bin/python3', args: ['-q'], env: { FOO: 'bar' } });
const spec = { app, profile: DEFAULT_PROFILE, homeDir: '/state/h', passwdFile: '/state/passwd', groupFile: '/state/group', exitNonce: 'n0nce' };

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

  it('runs the command last, after --, with a fixed environment', () => {
    const args = bwrapArgs(spec);
    const command = args.slice(args.indexOf('--'));
    expect(command.slice(0, 3)).toEqual(['--', '/bin/bash', '-c']);
    expect(command.slice(4)).toEqual(['holdfast-init', 'n0nce', '/usr/bin/python3', '-q']);
    expect(sandboxEnv(app)).toMatchObject({ HOME: '/home/user', TZ: 'UTC', LANG: 'C.UTF-8', FOO: 'bar' });
  });
});
