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
