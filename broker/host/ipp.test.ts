// IPP's encoding as a print dialog's requests use it: read back what was written, the
// document after the attributes, collections passed over, and malformed bytes refused
// with IppFormatError (never another exception: they come from an app).
import { describe, expect, it } from 'vitest';
import { attribute, encodeAttribute, encodeResponse, GROUP, IppFormatError, OP, parseRequest, STATUS, TAG } from './ipp.js';

function request(operation: number, groups: Array<[number, Buffer[]]>, data = Buffer.alloc(0), version = [2, 0]): Buffer {
  const head = Buffer.alloc(8);
  head[0] = version[0]!;
  head[1] = version[1]!;
  head.writeUInt16BE(operation, 2);
  head.writeUInt32BE(77, 4);
  return Buffer.concat([head, ...groups.flatMap(([tag, attrs]) => [Buffer.of(tag), ...attrs]), Buffer.of(GROUP.end), data]);
}

const operationGroup = (...more: Buffer[]): [number, Buffer[]] => [GROUP.operation, [encodeAttribute(TAG.charset, 'attributes-charset', 'utf-8'), encodeAttribute(TAG.language, 'attributes-natural-language', 'en'), ...more]];

describe('parseRequest', () => {
  it('reads the operation, its attributes and values, and the document after them', () => {
    const bytes = request(
      OP.printJob,
      [operationGroup(encodeAttribute(TAG.name, 'job-name', 'Mousepad job #1'), encodeAttribute(TAG.keyword, 'requested-attributes', ['printer-name', 'printer-state'])), [GROUP.job, [encodeAttribute(TAG.integer, 'job-priority', 50), encodeAttribute(TAG.boolean, 'fit', true)]]],
      Buffer.from('%PDF-1.5 …'),
    );
    const r = parseRequest(bytes);
    expect(r).toMatchObject({ major: 2, minor: 0, operation: OP.printJob, requestId: 77 });
    expect(r.groups.map((g) => g.tag)).toEqual([GROUP.operation, GROUP.job]);
    expect(r.groups[0]!.attributes.find((a) => a.name === 'requested-attributes')!.values).toEqual(['printer-name', 'printer-state']);
    expect(attribute(r, 'job-name')).toBe('Mousepad job #1');
    expect(attribute(r, 'job-priority')).toBe(50);
    expect(attribute(r, 'fit')).toBe(true);
    expect(r.data.toString()).toBe('%PDF-1.5 …');
  });

  it('passes over a collection whole', () => {
    const member = Buffer.concat([encodeAttribute(0x4a, '', 'media-size'), encodeAttribute(TAG.begCollection, '', ''), encodeAttribute(0x4a, '', 'x-dimension'), encodeAttribute(TAG.integer, '', 21000), encodeAttribute(TAG.endCollection, '', '')]);
    const col = Buffer.concat([encodeAttribute(TAG.begCollection, 'media-col', ''), member, encodeAttribute(TAG.endCollection, '', '')]);
    const r = parseRequest(request(OP.printJob, [operationGroup(), [GROUP.job, [col, encodeAttribute(TAG.integer, 'copies', 2)]]]));
    expect(r.groups[1]!.attributes.map((a) => a.name)).toEqual(['copies']);
    expect(attribute(r, 'copies')).toBe(2);
  });

  it('refuses what is not an IPP request', () => {
    const good = request(OP.getPrinterAttributes, [operationGroup()]);
    const bad = [
      Buffer.alloc(4),
      good.subarray(0, good.length - 3), // ends inside an attribute
      Buffer.concat([good.subarray(0, 8), encodeAttribute(TAG.keyword, 'orphan', 'x'), Buffer.of(GROUP.end)]), // before any group
      Buffer.concat([good.subarray(0, 9), encodeAttribute(TAG.keyword, '', 'x'), Buffer.of(GROUP.end)]), // an additional value of nothing
      Buffer.concat([good.subarray(0, 8), Buffer.of(GROUP.operation, 0x44, 0xff, 0xff)]), // a name longer than the message
    ];
    for (const bytes of bad) expect(() => parseRequest(bytes), bytes.toString('hex')).toThrow(IppFormatError);
  });
});

describe('encodeResponse', () => {
  it('writes a response a client reads back: status, request id, message, groups', () => {
    const bytes = encodeResponse(77, STATUS.notFound, [{ tag: GROUP.printer, attributes: [encodeAttribute(TAG.name, 'printer-name', 'Holdfast'), encodeAttribute(TAG.enum, 'operations-supported', [2, 11])] }], 'There is no such job.');
    // A response has a request's shape, its status where the operation is.
    const r = parseRequest(bytes);
    expect(r).toMatchObject({ major: 2, operation: STATUS.notFound, requestId: 77 });
    expect(attribute(r, 'status-message')).toBe('There is no such job.');
    expect(attribute(r, 'printer-name')).toBe('Holdfast');
    expect(r.groups[1]!.attributes[1]!.values).toEqual([2, 11]);
    expect(r.data.length).toBe(0);
  });
});
