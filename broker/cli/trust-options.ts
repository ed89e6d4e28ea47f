// --ca FILE and --pin sha256/… for every command that talks to a broker: how a
// person trusts a broker whose certificate their system does not (a company CA, or a
// self-signed one from `holdfast cert dev`).
import { makeTrust, type Trust } from '../tls/trust.js';

export const TRUST_OPTIONS = {
  ca: { type: 'string', multiple: true },
  pin: { type: 'string', multiple: true },
} as const;

export const TRUST_USAGE = '[--ca FILE] [--pin sha256/…]';

/** Throws, with what is wrong, for a missing CA file or a malformed pin. */
export function trustFrom(values: { ca?: string[] | undefined; pin?: string[] | undefined }): Trust {
  return makeTrust({ caFiles: values.ca ?? [], pins: values.pin ?? [] });
}
