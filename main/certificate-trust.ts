// The desktop app's answer to a broker certificate the system does not trust: accept
// it when the machine policy pins its key (tls.pins), else leave Chromium's verdict as
// it is. A trusted certificate is never second-guessed, an untrusted one is never
// accepted on any other ground, and the check covers every request of the session
// (the renderer's WebSockets as much as update downloads).
import { X509Certificate, createHash } from 'node:crypto';

/** What Electron's setCertificateVerifyProc hands over, reduced to what the check reads. */
export interface VerifyRequest {
  hostname: string;
  /** 0 when Chromium trusts the certificate. */
  errorCode: number;
  verificationResult: string;
  certificate: { data: string };
}

/** setCertificateVerifyProc's answers. */
export const ACCEPT = 0;
export const USE_CHROMIUM_VERDICT = -3;

/** sha256/BASE64 of the certificate's SubjectPublicKeyInfo (PEM in). */
export function spkiPinOfPem(pem: string): string | null {
  try {
    const spki = new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' });
    return 'sha256/' + createHash('sha256').update(spki).digest('base64');
  } catch {
    return null;
  }
}

export function certificateVerifier(pins: readonly string[], onPinned?: (hostname: string, pin: string) => void): (request: VerifyRequest, callback: (result: number) => void) => void {
  const pinned = new Set(pins);
  return (request, callback) => {
    if (request.errorCode === 0 || pinned.size === 0) return callback(USE_CHROMIUM_VERDICT);
    const pin = spkiPinOfPem(request.certificate.data);
    if (pin !== null && pinned.has(pin)) {
      onPinned?.(request.hostname, pin);
      return callback(ACCEPT);
    }
    callback(USE_CHROMIUM_VERDICT);
  };
}
