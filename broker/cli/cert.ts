// `holdfast cert dev`: a self-signed certificate and key for a node's TLS, and what
// to put in the node's config and give the clients. For a laptop or a lab; a
// production cluster uses a certificate from the organisation's CA.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { makeDevCertificate } from '../tls/certificate.js';

export async function runCertDev(args: string[]): Promise<number> {
  let values: { out?: string; name?: string[]; days?: string; force?: boolean };
  try {
    ({ values } = parseArgs({ args, options: { out: { type: 'string' }, name: { type: 'string', multiple: true }, days: { type: 'string' }, force: { type: 'boolean' } } }));
  } catch (error) {
    process.stderr.write(`holdfast cert dev: ${(error as Error).message}\n`);
    return 2;
  }
  const days = values.days === undefined ? 365 : Number(values.days);
  if (!Number.isInteger(days) || days < 1 || days > 3650) {
    process.stderr.write(`holdfast cert dev: --days takes a whole number of days from 1 to 3650 (got "${values.days}")\n`);
    return 2;
  }
  const dir = resolve(values.out ?? '.');
  const certFile = join(dir, 'holdfast-dev.crt');
  const keyFile = join(dir, 'holdfast-dev.key');
  if (!values.force && (existsSync(certFile) || existsSync(keyFile))) {
    process.stderr.write(`holdfast cert dev: ${certFile} or ${keyFile} exists already; pass --force to replace them (clients that pinned the old key will refuse the new one)\n`);
    return 1;
  }
  let cert;
  try {
    cert = makeDevCertificate({ names: ['localhost', '127.0.0.1', '::1', hostname(), ...(values.name ?? [])], days });
  } catch (error) {
    process.stderr.write(`holdfast cert dev: ${(error as Error).message}\n`);
    return 2;
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(keyFile, cert.keyPem, { mode: 0o600 });
  writeFileSync(certFile, cert.certPem, { mode: 0o644 });
  const bare = cert.pin.slice('sha256/'.length);
  process.stdout.write(
    [
      `Wrote ${certFile} (self-signed, for ${cert.names.join(', ')}; valid until ${cert.notAfter.toISOString().slice(0, 10)})`,
      `  and ${keyFile} (its private key, readable by this user only).`,
      ``,
      `Pin (the SHA-256 of the certificate's public key): ${cert.pin}`,
      ``,
      `In the node's config:`,
      `  node:`,
      `    tls:`,
      `      certFile: ${certFile}`,
      `      keyFile: ${keyFile}`,
      ``,
      `Clients trust it by its pin, or take the certificate as a CA:`,
      `  holdfast connect --broker https://localhost:8443 --pin ${cert.pin} --user NAME --app ID`,
      `  desktop policy (policy.json):  "tls": { "pins": ["${cert.pin}"] }`,
      `  Chromium:  --ignore-certificate-errors-spki-list=${bare}`,
      `  other browsers: import ${certFile} as a trusted certificate`,
      ``,
    ].join('\n'),
  );
  return 0;
}
