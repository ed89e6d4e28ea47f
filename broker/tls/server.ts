// A node's own TLS material (node.tls): read, checked — the key must belong to the
// certificate — and described, at start and again on every reload.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { spkiPin } from './certificate.js';
import { readCertificates } from './trust.js';

export interface TlsFiles {
  certFile: string;
  keyFile: string;
  caFile?: string | undefined;
}

export interface ServerTls {
  /** The certificate chain as served, leaf first. */
  cert: string;
  key: string;
  /** CA certificates this node trusts for its links to other nodes (besides the system's). */
  peerCa: string[];
  pin: string;
  notAfter: Date;
  /** The names the leaf is good for (its subjectAltName). */
  names: string;
}

export function loadServerTls(files: TlsFiles): ServerTls {
  const chain = readCertificates(files.certFile, 'certificate file (node.tls.certFile)');
  let key: string;
  try {
    key = readFileSync(files.keyFile, 'utf8');
  } catch (error) {
    throw new Error(`cannot read the key file ${files.keyFile} (node.tls.keyFile): ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  const cert = chain.join('');
  try {
    createSecureContext({ cert, key });
  } catch (error) {
    const message = (error as Error).message;
    if (/key values mismatch/i.test(message)) throw new Error(`the key in ${files.keyFile} does not belong to the certificate in ${files.certFile} (node.tls)`);
    throw new Error(`node.tls: ${files.keyFile} is not a usable private key for ${files.certFile}: ${message}`);
  }
  const leaf = new X509Certificate(chain[0]!);
  const peerCa = files.caFile ? readCertificates(files.caFile, 'CA file (node.tls.caFile)') : chain.slice(-1);
  return { cert, key, peerCa, pin: spkiPin(leaf), notAfter: new Date(leaf.validTo), names: leaf.subjectAltName ?? leaf.subject };
}
