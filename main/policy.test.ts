// The machine policy file: where it is, what parses, what an administrator is told,
// and how it overrides a person's settings.
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MachinePolicy, effectiveSettings } from '../shared/policy.js';
import { loadPolicy, policyPath } from './policy.js';

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'holdfast-policy-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const write = (value: unknown) => {
  const file = join(dir, 'policy.json');
  writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value));
  return file;
};
const HASH = 'scrypt$16384$8$1$c2FsdHNhbHRzYWx0c2FsdA==$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U=';

describe('where the policy lives', () => {
  it('is the documented machine-wide path on each platform', () => {
    expect(policyPath('linux', {}, true)).toBe('/etc/holdfast/policy.json');
    expect(policyPath('darwin', {}, true)).toBe('/Library/Application Support/Holdfast/policy.json');
    expect(policyPath('win32', { ProgramData: 'C:\\ProgramData' }, true)).toMatch(/^C:\\ProgramData[\\/]Holdfast[\\/]policy\.json$/);
  });

  it('can be moved for tests, but never in an installed app', () => {
    expect(policyPath('linux', { HOLDFAST_POLICY_FILE: '/tmp/p.json' }, false)).toBe('/tmp/p.json');
    expect(policyPath('linux', { HOLDFAST_POLICY_FILE: '/tmp/p.json' }, true)).toBe('/etc/holdfast/policy.json');
  });
});

describe('loading', () => {
  it('no file is no policy: an everyday desktop', () => {
    expect(loadPolicy(join(dir, 'missing.json')).kind).toBe('none');
  });

  it('applies defaults to a minimal policy', () => {
    const result = loadPolicy(write({ brokers: ['https://holdfast.example.com/'] }));
    expect(result).toMatchObject({
      kind: 'ok',
      policy: {
        brokers: ['https://holdfast.example.com'],
        rememberMe: true,
        locked: [],
        updates: { enabled: true, channel: 'stable', checkEveryHours: 4 },
        sound: { playback: true, microphone: true },
      },
    });
  });

  it('turns sound off as asked, and keeps the microphone’s own default', () => {
    expect(loadPolicy(write({ sound: { playback: false } }))).toMatchObject({ kind: 'ok', policy: { sound: { playback: false, microphone: true } } });
    expect(loadPolicy(write({ sound: { microphone: false } }))).toMatchObject({ kind: 'ok', policy: { sound: { playback: true, microphone: false } } });
    const result = loadPolicy(write({ sound: { playback: 'off', speakers: false } }));
    const problems = result.kind === 'invalid' ? result.problem.problems.join('\n') : '';
    expect(problems).toMatch(/^sound\.playback: /m);
    expect(problems).toMatch(/speakers/);
  });

  it('names every problem, with where it is', () => {
    const result = loadPolicy(
      write({ brokers: ['http://holdfast.example.com', 'https://a.example.com/path'], kiosk: { account: '' }, updates: { channel: 'nightly' }, locked: ['colour'], extra: 1 }),
    );
    expect(result.kind).toBe('invalid');
    const problems = result.kind === 'invalid' ? result.problem.problems.join('\n') : '';
    expect(problems).toMatch(/^brokers\.0: http:\/\/ only for loopback addresses; use https:\/\//m);
    expect(problems).toMatch(/^brokers\.1: an origin such as/m);
    expect(problems).toMatch(/^kiosk\.account: /m);
    expect(problems).toMatch(/^kiosk\.escapeHash: /m);
    expect(problems).toMatch(/^updates\.channel: /m);
    expect(problems).toMatch(/^locked\.0: /m);
    expect(problems).toMatch(/extra/);
  });

  it('refuses a kiosk that does not say where to sign in', () => {
    const result = loadPolicy(write({ kiosk: { account: 'frontdesk', escapeHash: HASH } }));
    expect(result.kind === 'invalid' && result.problem.problems).toContain('brokers: a kiosk needs brokers: it never asks anyone where to sign in');
  });

  it('says when the file cannot be read', () => {
    const file = write({});
    chmodSync(file, 0o000);
    const result = loadPolicy(file);
    // root reads anything: then the empty policy is simply valid.
    if (process.getuid?.() === 0) expect(result.kind).toBe('ok');
    else expect(result.kind === 'invalid' && result.problem.problems[0]).toMatch(/cannot be read \(EACCES\)/);
  });

  it('the full example in docs/desktop.md is a valid policy', () => {
    const doc = readFileSync(join(__dirname, '..', 'docs', 'desktop.md'), 'utf8');
    const example = /<!-- policy-example -->\s*```json\n([\s\S]*?)```/.exec(doc);
    expect(example, 'docs/desktop.md has the marked example').not.toBeNull();
    const parsed = MachinePolicy.safeParse(JSON.parse(example![1]!));
    expect(parsed.success ? [] : parsed.error.issues).toEqual([]);
    expect(parsed.data?.kiosk?.account).toBeTruthy();
  });
});

describe('effective settings', () => {
  const policy = MachinePolicy.parse({ brokers: ['https://a.example.com', 'https://b.example.com'], updates: { channel: 'beta' }, locked: ['updateChannel'] });

  it('a locked setting is the policy’s; an unlocked one is the person’s', () => {
    const settings = effectiveSettings(policy, { brokerUrl: 'https://mine.example.com', updateChannel: 'stable' }, 'http://127.0.0.1:8080');
    expect(settings).toEqual({
      brokerUrl: 'https://mine.example.com',
      brokers: ['https://mine.example.com', 'https://a.example.com', 'https://b.example.com'],
      updateChannel: 'beta',
      rememberMe: true,
      locked: ['updateChannel'],
    });
  });

  it('without a policy or a choice, the built-in defaults hold', () => {
    expect(effectiveSettings(null, {}, 'http://127.0.0.1:8080')).toMatchObject({ brokerUrl: 'http://127.0.0.1:8080', brokers: ['http://127.0.0.1:8080'], updateChannel: 'stable', rememberMe: true });
  });

  it('a policy that turns remember-me off wins even unlocked', () => {
    expect(effectiveSettings(MachinePolicy.parse({ brokers: ['https://a.example.com'], rememberMe: false }), { rememberMe: true }, 'x').rememberMe).toBe(false);
  });
});
