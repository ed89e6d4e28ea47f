// The Internet Printing Protocol's message encoding (RFC 8010, section 3), as much of it
// as a print dialog speaks to a printer: a request's operation, its attribute groups and
// the document that follows them; a response's status and groups. Collections are
// skipped whole when read and never written. Parsing takes `unknown` bytes from an app:
// any malformed message is an IppFormatError, never an exception of another kind.

/** Delimiter tags: where each attribute group begins (RFC 8010, 3.5.1). */
export const GROUP = { operation: 0x01, job: 0x02, end: 0x03, printer: 0x04, unsupported: 0x05 } as const;

/** Value tags used here (RFC 8010, 3.5.2). */
export const TAG = {
  integer: 0x21,
  boolean: 0x22,
  enum: 0x23,
  text: 0x41,
  name: 0x42,
  keyword: 0x44,
  uri: 0x45,
  charset: 0x47,
  language: 0x48,
  mimeType: 0x49,
  begCollection: 0x34,
  endCollection: 0x37,
} as const;

/** Operation ids (RFC 8011, 5.4.15; CUPS's own from 0x4001). */
export const OP = {
  printJob: 0x0002,
  validateJob: 0x0004,
  createJob: 0x0005,
  sendDocument: 0x0006,
  cancelJob: 0x0008,
  getJobAttributes: 0x0009,
  getJobs: 0x000a,
  getPrinterAttributes: 0x000b,
  cupsGetDefault: 0x4001,
  cupsGetPrinters: 0x4002,
  cupsGetClasses: 0x4005,
} as const;

/** Status codes (RFC 8011, appendix B). */
export const STATUS = {
  ok: 0x0000,
  badRequest: 0x0400,
  notFound: 0x0406,
  tooLarge: 0x0409,
  notSupported: 0x0501,
  busy: 0x0507,
  versionNotSupported: 0x0503,
} as const;

export type IppValue = number | boolean | string;

export interface IppAttribute {
  tag: number;
  name: string;
  values: IppValue[];
}

export interface IppGroup {
  tag: number;
  attributes: IppAttribute[];
}

export interface IppRequest {
  major: number;
  minor: number;
  operation: number;
  requestId: number;
  groups: IppGroup[];
  /** The document, after the end-of-attributes tag (Print-Job, Send-Document). */
  data: Buffer;
}

export class IppFormatError extends Error {}

/** The first value of `name` in the request's operation group (or any group). */
export function attribute(request: IppRequest, name: string): IppValue | undefined {
  for (const group of request.groups) for (const a of group.attributes) if (a.name === name) return a.values[0];
  return undefined;
}

/** Reads one IPP request; IppFormatError when it is not one. */
export function parseRequest(bytes: Buffer): IppRequest {
  if (bytes.length < 9) throw new IppFormatError('shorter than an IPP header');
  const request: IppRequest = { major: bytes[0]!, minor: bytes[1]!, operation: bytes.readUInt16BE(2), requestId: bytes.readUInt32BE(4), groups: [], data: Buffer.alloc(0) };
  let at = 8;
  let group: IppGroup | null = null;
  let last: IppAttribute | null = null;
  /** Nesting of collections being skipped. */
  let depth = 0;
  const need = (n: number) => {
    if (at + n > bytes.length) throw new IppFormatError('ends inside an attribute');
  };
  for (;;) {
    need(1);
    const tag = bytes[at++]!;
    if (tag === GROUP.end && depth === 0) break;
    if (tag < 0x10) {
      if (depth > 0) throw new IppFormatError('a group begins inside a collection');
      group = { tag, attributes: [] };
      request.groups.push(group);
      last = null;
      continue;
    }
    need(2);
    const nameLength = bytes.readUInt16BE(at);
    at += 2;
    need(nameLength + 2);
    const name = bytes.toString('utf8', at, at + nameLength);
    at += nameLength;
    const valueLength = bytes.readUInt16BE(at);
    at += 2;
    need(valueLength);
    const value = bytes.subarray(at, at + valueLength);
    at += valueLength;
    if (!group) throw new IppFormatError('an attribute before any group');
    if (tag === TAG.begCollection) depth++;
    else if (tag === TAG.endCollection) depth = Math.max(0, depth - 1);
    if (depth > 0 || tag === TAG.endCollection || tag === TAG.begCollection) continue;
    const decoded = decode(tag, value);
    if (nameLength > 0) {
      last = { tag, name, values: [decoded] };
      group.attributes.push(last);
    } else if (last) last.values.push(decoded);
    else throw new IppFormatError('an additional value with no attribute before it');
  }
  request.data = bytes.subarray(at);
  return request;
}

function decode(tag: number, value: Buffer): IppValue {
  if ((tag === TAG.integer || tag === TAG.enum) && value.length === 4) return value.readInt32BE(0);
  if (tag === TAG.boolean && value.length === 1) return value[0] !== 0;
  return value.toString('utf8');
}

/** One attribute of a response: `values` written in order, additional ones with an empty name. */
export function encodeAttribute(tag: number, name: string, values: IppValue | readonly IppValue[]): Buffer {
  const list = Array.isArray(values) ? values : [values];
  const parts: Buffer[] = [];
  list.forEach((value, i) => {
    let bytes: Buffer;
    if (tag === TAG.integer || tag === TAG.enum) {
      bytes = Buffer.alloc(4);
      bytes.writeInt32BE(Number(value));
    } else if (tag === TAG.boolean) bytes = Buffer.of(value ? 1 : 0);
    else bytes = Buffer.from(String(value), 'utf8');
    const label = Buffer.from(i === 0 ? name : '', 'utf8');
    const head = Buffer.alloc(3);
    head[0] = tag;
    head.writeUInt16BE(label.length, 1);
    const length = Buffer.alloc(2);
    length.writeUInt16BE(bytes.length);
    parts.push(head, label, length, bytes);
  });
  return Buffer.concat(parts);
}

/** A response: IPP 2.0, the status, the operation group (charset, language, an optional message), then `groups`. */
export function encodeResponse(requestId: number, status: number, groups: ReadonlyArray<{ tag: number; attributes: Buffer[] }>, message?: string): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt16BE(0x0200, 0);
  head.writeUInt16BE(status, 2);
  head.writeUInt32BE(requestId >>> 0, 4);
  const operation = [encodeAttribute(TAG.charset, 'attributes-charset', 'utf-8'), encodeAttribute(TAG.language, 'attributes-natural-language', 'en')];
  if (message) operation.push(encodeAttribute(TAG.text, 'status-message', message));
  const body = [Buffer.of(GROUP.operation), ...operation];
  for (const group of groups) body.push(Buffer.of(group.tag), ...group.attributes);
  return Buffer.concat([head, ...body, Buffer.of(GROUP.end)]);
}
