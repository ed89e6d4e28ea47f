import { describe, expect, it } from 'vitest';
import { deepLinkFromArgv, parseDeepLink } from './deep-link.js';

describe('holdfast:// links', () => {
  it('holdfast://launch/<appId> names an app to launch', () => {
    expect(parseDeepLink('holdfast://launch/python')).toEqual({ kind: 'launch', appId: 'python' });
    expect(parseDeepLink('holdfast://launch/python/')).toEqual({ kind: 'launch', appId: 'python' });
    expect(parseDeepLink('HOLDFAST://launch/text-editor?from=intranet')).toEqual({ kind: 'launch', appId: 'text-editor' });
  });

  it('anything else is ignored', () => {
    for (const url of [
      'holdfast://launch/',
      'holdfast://launch/../../etc/passwd',
      'holdfast://launch/%2e%2e',
      'holdfast://launch/Python',
      'holdfast://launch/python/extra',
      'holdfast://open/python',
      'https://launch/python',
      'holdfast://launch/' + 'a'.repeat(300),
      42,
      null,
    ]) {
      expect(parseDeepLink(url), String(url)).toBeNull();
    }
  });

  it('is found among a second instance’s arguments (Windows and Linux)', () => {
    expect(deepLinkFromArgv(['/usr/bin/holdfast', '--no-sandbox', 'holdfast://launch/htop'])).toEqual({ kind: 'launch', appId: 'htop' });
    expect(deepLinkFromArgv(['/usr/bin/holdfast', '--broker=http://127.0.0.1:8080'])).toBeNull();
  });
});

describe('holdfast://oidc links (a sign-in code coming back from the system browser)', () => {
  const code = 'Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5';

  it('carry a one-time code and the broker it came from', () => {
    expect(parseDeepLink(`holdfast://oidc?code=${code}&broker=https%3A%2F%2Fholdfast.example.com`)).toEqual({ kind: 'oidc', code, broker: 'https://holdfast.example.com' });
    expect(parseDeepLink(`HOLDFAST://oidc/?broker=http://127.0.0.1:8080/&code=${code}`)).toEqual({ kind: 'oidc', code, broker: 'http://127.0.0.1:8080' });
    expect(deepLinkFromArgv(['/usr/bin/holdfast', `holdfast://oidc?code=${code}&broker=https://h.example.com`])).toMatchObject({ kind: 'oidc', code });
  });

  it('anything else is ignored', () => {
    for (const url of [
      `holdfast://oidc?code=${code}`,
      `holdfast://oidc?broker=https://h.example.com`,
      `holdfast://oidc?code=${code}&code=${code}&broker=https://h.example.com`,
      `holdfast://oidc?code=short&broker=https://h.example.com`,
      `holdfast://oidc?code=${code}%3Cscript%3E&broker=https://h.example.com`,
      `holdfast://oidc?code=${code}&broker=javascript:alert(1)`,
      `holdfast://oidc?code=${code}&broker=file:///etc/passwd`,
      `holdfast://oidc#code=${code}&broker=https://h.example.com`,
      `holdfast://oidc/extra?code=${code}&broker=https://h.example.com`,
      `holdfast://oidc?code=${code}&broker=https://h.example.com&x=${'a'.repeat(1100)}`,
    ]) {
      expect(parseDeepLink(url), url).toBeNull();
    }
  });
});

