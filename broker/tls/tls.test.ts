// The dev certificate is a real X.509 certificate (parsed, signature checked, names
// matched by OpenSSL through node:crypto), and the trust check lets a client through
// only when the server's chain and name are good or its key is pinned — before the
// client has written a byte of its request.
import { X509Certificate } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalizePin } from '../../shared/pin.js';
import { makeDevCertificate, spkiPin } from './certificate.js';
import { makeTrust, requestJson, SYSTEM_TRUST, UntrustedCertificateError } from './trust.js';

describe('holdfast cert dev', () => {
  it('makes a self-signed P-256 certificate for the names given, valid from an hour ago for the days asked', () => {
    const now = new Date('2026-11-25T12:00:00Z');
    const cert = makeDevCertificate({ names: ['localhost', '127.0.0.1', '::1', 'broker.lab.example'], days: 30, now });
    const x509 = new X509Certificate(cert.certPem);
    expect(x509.verify(x509.publicKey)).toBe(true);
    expect(x509.issuer).toBe(x509.subject);
    expect(x509.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(x509.ca).toBe(false);
    expect(x509.checkHost('localhost')).toBe('localhost');
    expect(x509.checkHost('broker.lab.example')).toBe('broker.lab.example');
    expect(x509.checkHost('other.example')).toBeUndefined();
    expect(x509.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(x509.checkIP('::1')).toBe('::1');
    expect(x509.checkIP('10.0.0.1')).toBeUndefined();
    expect(x509.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, DNS:broker.lab.example');
    expect(new Date(x509.validFrom).toISOString()).toBe('2026-11-25T11:00:00.000Z');
    expect(new Date(x509.validTo).toISOString()).toBe('2026-12-25T12:00:00.000Z');
    expect(x509.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
    expect(cert.pin).toBe(spkiPin(cert.certPem));
    expect(cert.pin).toMatch(/^sha256\/[A-Za-z0-9+/]{43}=$/);
  });

  it('refuses names that are neither host names nor addresses', () => {
    expect(() => makeDevCertificate({ names: ['bad name'] })).toThrow(/"bad name" is neither a host name nor an IP address/);
    expect(() => makeDevCertificate({ names: [] })).toThrow(/at least one/);
  });

  it('reads pins with or without the sha256/ prefix, and nothing else', () => {
    const { pin } = makeDevCertificate({ names: ['localhost'] });
    expect(normalizePin(pin)).toBe(pin);
    expect(normalizePin(pin.slice('sha256/'.length))).toBe(pin);
    expect(normalizePin('sha256/short=')).toBeNull();
    expect(() => makeTrust({ pins: ['nope'] })).toThrow(/"nope" is not a pin/);
  });
});

describe('trusting a TLS server', () => {
  const dev = makeDevCertificate({ names: ['localhost', '127.0.0.1'] });
  const other = makeDevCertificate({ names: ['localhost', '127.0.0.1'] });
  let server: Server;
  let url: string;
  const requests: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-tls-test-'));

  beforeAll(async () => {
    server = createServer({ cert: dev.certPem, key: dev.keyPem }, (request, response) => {
      requests.push(`${request.method} ${request.url} ${request.headers.authorization ?? ''}`);
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ hello: 'there' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const get = (trust = SYSTEM_TRUST, target = url) => requestJson(`${target}/x`, { headers: { authorization: 'Bearer secret' }, timeoutMs: 5000 }, trust);

  it('refuses a self-signed server by default, says why and shows its pin, and the request never reaches it', async () => {
    const before = requests.length;
    const error = await get().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UntrustedCertificateError);
    expect((error as Error).message).toBe(
      `the certificate of 127.0.0.1 is not trusted (self-signed); its key's pin is ${dev.pin}. If that is your broker's (holdfast cert dev printed it), pass --pin ${dev.pin}; or pass --ca FILE with the CA that signed it`,
    );
    expect(requests.length).toBe(before);
  });

  it('accepts the server by its pin, and refuses another key pinned in its place', async () => {
    expect(await get(makeTrust({ pins: [dev.pin] }))).toEqual({ status: 200, ok: true, body: { hello: 'there' } });
    expect(requests.at(-1)).toBe('GET /x Bearer secret');
    const before = requests.length;
    await expect(get(makeTrust({ pins: [other.pin] }))).rejects.toBeInstanceOf(UntrustedCertificateError);
    expect(requests.length).toBe(before);
  });

  it('accepts the server with its certificate as a CA file, but only under a name the certificate holds', async () => {
    const file = join(dir, 'ca.pem');
    writeFileSync(file, dev.certPem);
    const trust = makeTrust({ caFiles: [file] });
    expect((await get(trust)).ok).toBe(true);
    const port = (server.address() as AddressInfo).port;
    expect((await get(trust, `https://localhost:${port}`)).ok).toBe(true);
    // The same server reached by an address its certificate does not name.
    const misnamed = makeDevCertificate({ names: ['broker.example'] });
    const file2 = join(dir, 'misnamed.pem');
    writeFileSync(file2, misnamed.certPem);
    const odd = createServer({ cert: misnamed.certPem, key: misnamed.keyPem }, (_q, r) => r.end('{}'));
    await new Promise<void>((resolve) => odd.listen(0, '127.0.0.1', resolve));
    try {
      const error = await get(makeTrust({ caFiles: [file2] }), `https://127.0.0.1:${(odd.address() as AddressInfo).port}`).catch((e: unknown) => e);
      expect((error as Error).message).toMatch(/^the certificate of 127\.0\.0\.1 is not trusted \(made out for another name\)/);
    } finally {
      odd.close();
    }
  });

  it('names the file and the problem when a CA file is missing or holds no certificate', () => {
    expect(() => makeTrust({ caFiles: [join(dir, 'missing.pem')] })).toThrow(/cannot read the CA file .*missing\.pem: ENOENT/);
    const junk = join(dir, 'junk.pem');
    writeFileSync(junk, 'hello\n');
    expect(() => makeTrust({ caFiles: [junk] })).toThrow(/junk\.pem holds no PEM certificate/);
  });
});
