// The names a node answers to: what it is configured, listens and is known by — and
// nothing a page's own name could be made into.
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { hostNames, hostOf } from './host-names.js';

describe('host names', () => {
  it('are the listen address, localhost, the known URLs, the certificate’s names and the configured ones', () => {
    const names = hostNames({ configured: ['Holdfast.Corp'], listenHost: '10.0.0.5', urls: ['https://node-2.corp:8443', 'not a url'], certificateNames: ['portal.corp', '::1'] });
    for (const name of ['localhost', '127.0.0.1', '[::1]', '10.0.0.5', 'node-2.corp', 'portal.corp', 'holdfast.corp']) expect(names.has(name), name).toBe(true);
    expect(names.has('evil.example')).toBe(false);
    expect(names.has(hostname().toLowerCase())).toBe(false); // only when listening on every address
  });

  it('listening on every address, are every address of this machine and its name', () => {
    const names = hostNames({ configured: [], listenHost: '0.0.0.0', urls: [], certificateNames: [] });
    expect(names.has(hostname().toLowerCase())).toBe(true);
    expect(names.has('127.0.0.1')).toBe(true);
  });

  it('a Host header is read as its host name alone', () => {
    expect(hostOf('Evil.Example:8080')).toBe('evil.example');
    expect(hostOf('[::1]:8080')).toBe('[::1]');
    expect(hostOf(undefined)).toBeNull();
    expect(hostOf('a b')).toBeNull();
  });
});
