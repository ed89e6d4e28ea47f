// `holdfast cert dev`: a self-signed certificate for a node on a developer's machine or
// a lab, made with node:crypto alone (no openssl binary, no dependency). ECDSA P-256,
// SHA-256, a leaf that is its own trust anchor: serverAuth only, not a CA, names in
// subjectAltName. Clients trust it by its pin (the SHA-256 of its public key, as
// Chromium's --ignore-certificate-errors-spki-list and HPKP write it) or as a CA file.
import { X509Certificate, createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { isIP } from 'node:net';

export interface DevCertificate {
  certPem: string;
  keyPem: string;
  /** sha256/BASE64 of the SubjectPublicKeyInfo. */
  pin: string;
  names: string[];
  notAfter: Date;
}

/** The pin of a certificate (PEM or DER): SHA-256 of its SubjectPublicKeyInfo, `sha256/` + base64. */
export function spkiPin(certificate: string | Buffer | X509Certificate): string {
  const x509 = certificate instanceof X509Certificate ? certificate : new X509Certificate(certificate);
  const spki = x509.publicKey.export({ type: 'spki', format: 'der' });
  return 'sha256/' + createHash('sha256').update(spki).digest('base64');
}

export function makeDevCertificate(options: { names: string[]; days?: number; now?: Date }): DevCertificate {
  const names = [...new Set(options.names.map((n) => n.trim()).filter(Boolean))];
  if (names.length === 0) throw new Error('a certificate needs at least one host name or address');
  for (const name of names) {
    if (!isIP(name) && !/^(\*\.)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i.test(name)) {
      throw new Error(`"${name}" is neither a host name nor an IP address`);
    }
  }
  const days = options.days ?? 365;
  const now = options.now ?? new Date();
  const notBefore = new Date(now.getTime() - 60 * 60 * 1000); // an hour of clock skew
  const notAfter = new Date(now.getTime() + days * 86_400_000);
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const name = seq(set(seq(oid(OID.commonName), utf8(`Holdfast dev (${names[0]})`))), set(seq(oid(OID.organizationName), utf8('Holdfast'))));
  const serial = randomBytes(16);
  serial[0]! &= 0x7f; // positive
  serial[0]! |= 0x40; // and without a leading zero byte
  const altNames = names.map((n) => {
    const ip = isIP(n);
    if (ip === 0) return tlv(0x82, Buffer.from(n.toLowerCase(), 'ascii'));
    return tlv(0x87, ip === 4 ? Buffer.from(n.split('.').map(Number)) : ipv6Bytes(n));
  });
  const extensions = seq(
    extension(OID.basicConstraints, true, seq()),
    extension(OID.keyUsage, true, tlv(0x03, Buffer.from([0x07, 0x80]))), // digitalSignature
    extension(OID.extKeyUsage, false, seq(oid(OID.serverAuth))),
    extension(OID.subjectAltName, false, seq(...altNames)),
    extension(OID.subjectKeyIdentifier, false, tlv(0x04, createHash('sha1').update(spki).digest())),
  );
  const signatureAlgorithm = seq(oid(OID.ecdsaWithSha256));
  const tbs = seq(
    tlv(0xa0, int(Buffer.from([2]))), // v3
    int(serial),
    signatureAlgorithm,
    name,
    seq(time(notBefore), time(notAfter)),
    name,
    spki,
    tlv(0xa3, extensions),
  );
  const signature = sign('sha256', tbs, privateKey); // DER ECDSA-Sig-Value
  const der = seq(tbs, signatureAlgorithm, tlv(0x03, Buffer.concat([Buffer.from([0]), signature])));
  const certPem = `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{1,64}/g, '$&\n')}-----END CERTIFICATE-----\n`;
  return {
    certPem,
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    pin: spkiPin(der),
    names,
    notAfter,
  };
}

// ---- just enough DER -------------------------------------------------------------

const OID = {
  commonName: '2.5.4.3',
  organizationName: '2.5.4.10',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  subjectKeyIdentifier: '2.5.29.14',
  serverAuth: '1.3.6.1.5.5.7.3.1',
};

function tlv(tag: number, body: Buffer): Buffer {
  const n = body.length;
  let length: Buffer;
  if (n < 0x80) length = Buffer.from([n]);
  else {
    const bytes: number[] = [];
    for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
    length = Buffer.from([0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([Buffer.from([tag]), length, body]);
}

const seq = (...items: Buffer[]) => tlv(0x30, Buffer.concat(items));
const set = (...items: Buffer[]) => tlv(0x31, Buffer.concat(items));
const int = (bytes: Buffer) => tlv(0x02, bytes);
const utf8 = (text: string) => tlv(0x0c, Buffer.from(text, 'utf8'));

function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const bytes = [40 * parts[0]! + parts[1]!];
  for (const part of parts.slice(2)) {
    const chunk = [part & 0x7f];
    for (let v = Math.floor(part / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift(0x80 | (v & 0x7f));
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}

/** UTCTime before 2050, GeneralizedTime from then on (RFC 5280 4.1.2.5). */
function time(date: Date): Buffer {
  const iso = date.toISOString(); // 2026-11-25T01:02:03.456Z
  const digits = iso.slice(0, 19).replace(/[-T:]/g, '');
  return date.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(digits.slice(2) + 'Z', 'ascii')) : tlv(0x18, Buffer.from(digits + 'Z', 'ascii'));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return seq(oid(id), ...(critical ? [Buffer.from([0x01, 0x01, 0xff])] : []), tlv(0x04, value));
}

function ipv6Bytes(address: string): Buffer {
  if (address.includes('.') || address.includes('%')) throw new Error(`write "${address}" without an embedded IPv4 address or zone`);
  const [head, tail] = address.split('::') as [string, string | undefined];
  const words = (s: string | undefined) => (s ? s.split(':').map((w) => parseInt(w, 16)) : []);
  const front = words(head);
  const back = words(tail);
  const all = tail === undefined ? front : [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back];
  const out = Buffer.alloc(16);
  all.forEach((w, i) => out.writeUInt16BE(w, i * 2));
  return out;
}
