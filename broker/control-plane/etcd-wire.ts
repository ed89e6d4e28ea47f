// etcd v3's JSON gateway as bytes on the wire: proto3 JSON schemas (int64 as strings,
// bytes as base64, defaults omitted) and the helpers that turn keys and answers into
// the control plane's terms. Pure: no requests, no timers — the plane, its leases and
// its watches all read the wire through this one file.
import { z } from 'zod';
import type { KeyValue, PutOptions } from './types.js';

const int64 = z.union([z.string(), z.number()]).transform((v) => Number(v));
export const Header = z.object({ revision: int64.optional() });
export const Kv = z.object({ key: z.string(), value: z.string().optional(), mod_revision: int64.optional() });
export const RangeResponse = z.object({ header: Header, kvs: z.array(Kv).optional() });
export const HeaderResponse = z.object({ header: Header });
export const TxnResponse = z.object({ header: Header, succeeded: z.boolean().optional() });
export const GrantResponse = z.object({ ID: z.string(), TTL: int64, error: z.string().optional() });
export const KeepAliveResponse = z.object({ result: z.object({ ID: z.string().optional(), TTL: int64.optional() }) });
export const ErrorResponse = z.object({ message: z.string().optional(), error: z.string().optional(), code: z.number().optional() });
export const WatchMessage = z.object({
  result: z
    .object({
      header: Header.optional(),
      created: z.boolean().optional(),
      canceled: z.boolean().optional(),
      compact_revision: int64.optional(),
      cancel_reason: z.string().optional(),
      events: z.array(z.object({ type: z.enum(['PUT', 'DELETE']).optional(), kv: Kv })).optional(),
    })
    .optional(),
  error: z.object({ message: z.string().optional(), http_code: z.number().optional() }).optional(),
});
export type WatchResult = NonNullable<z.infer<typeof WatchMessage>['result']>;

export const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
export const unb64 = (data: string | undefined): string => Buffer.from(data ?? '', 'base64').toString('utf8');

/** [key, range_end] covering every key that starts with `prefix` (etcd's WithPrefix). */
export function prefixRange(prefix: string): { key: string; range_end: string } {
  const bytes = Buffer.from(prefix, 'utf8');
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i]! < 0xff) {
      const end = Buffer.from(bytes.subarray(0, i + 1));
      end[i] = end[i]! + 1;
      return { key: bytes.toString('base64'), range_end: end.toString('base64') };
    }
  }
  // Empty (or all-0xff) prefix: everything from the key on.
  return { key: bytes.length ? bytes.toString('base64') : b64('\0'), range_end: b64('\0') };
}

/** An answer from etcd that is not worth retrying elsewhere (bad request, lease not found). */
export class EtcdError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'EtcdError';
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms).unref());

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export function toKeyValue(kv: z.infer<typeof Kv>): KeyValue {
  return { key: unb64(kv.key), value: unb64(kv.value), revision: kv.mod_revision ?? 0 };
}

export function requireRevision(header: z.infer<typeof Header>): number {
  if (header.revision === undefined) throw new Error('etcd: response without a revision');
  return header.revision;
}

export function putRequest(key: string, value: string, options: PutOptions): Record<string, string> {
  return { key: b64(key), value: b64(value), ...(options.lease ? { lease: options.lease.id } : {}) };
}

export function modRevisionIs(key: string, revision: number): Record<string, string> {
  return { key: b64(key), target: 'MOD', result: 'EQUAL', mod_revision: String(revision) };
}
