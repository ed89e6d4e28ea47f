// A download's request headers (byte-ranges.ts): Range, If-Range and If-Match as RFC 9110
// has them, and Content-Disposition for any name.
import { describe, expect, it } from 'vitest';
import { contentDisposition, etagOf, ifMatchHolds, ifRangeHolds, parseRange } from './byte-ranges.js';

describe('Range', () => {
  it('takes one range: from N, from N to M, the last N', () => {
    expect(parseRange('bytes=100-', 1000)).toEqual({ start: 100, end: 999 });
    expect(parseRange('bytes=0-0', 1000)).toEqual({ start: 0, end: 0 });
    expect(parseRange('bytes=10-19', 1000)).toEqual({ start: 10, end: 19 });
    expect(parseRange('bytes=990-5000', 1000)).toEqual({ start: 990, end: 999 });
    expect(parseRange('bytes=-10', 1000)).toEqual({ start: 990, end: 999 });
    expect(parseRange('bytes=-5000', 1000)).toEqual({ start: 0, end: 999 });
    expect(parseRange('Bytes = 5 - ', 1000)).toEqual({ start: 5, end: 999 });
  });

  it('says unsatisfiable for a start at or past the end (416)', () => {
    expect(parseRange('bytes=1000-', 1000)).toBe('unsatisfiable');
    expect(parseRange('bytes=0-', 0)).toBe('unsatisfiable');
    expect(parseRange('bytes=-0', 1000)).toBe('unsatisfiable');
    expect(parseRange('bytes=-1', 0)).toBe('unsatisfiable');
  });

  it('ignores what it does not take: the whole file is sent', () => {
    for (const header of [undefined, '', 'bytes=', 'bytes=-', 'items=0-5', 'bytes=0-5,10-15', 'bytes=9-3', 'bytes=a-', 'bytes=99999999999999999999-']) {
      expect(parseRange(header, 1000), String(header)).toBeNull();
    }
  });
});

describe('conditions', () => {
  const etag = etagOf('5-17335123465000000000-12');
  const modifiedAt = Date.parse('2026-12-06T10:00:00.250Z');

  it('If-Range holds for this version’s ETag, or its date when that is a strong validator', () => {
    expect(etag).toBe('"5-17335123465000000000-12"');
    expect(ifRangeHolds(etag, etag, modifiedAt)).toBe(true);
    expect(ifRangeHolds('"5-17335123465000000000-13"', etag, modifiedAt)).toBe(false);
    expect(ifRangeHolds(`W/${etag}`, etag, modifiedAt)).toBe(false);
    const date = new Date(modifiedAt).toUTCString();
    expect(ifRangeHolds(date, etag, modifiedAt, modifiedAt + 5000)).toBe(true);
    // Modified within the second the date names: the date cannot tell two versions apart.
    expect(ifRangeHolds(date, etag, modifiedAt, modifiedAt + 500)).toBe(false);
    expect(ifRangeHolds('Sat, 05 Dec 2026 10:00:00 GMT', etag, modifiedAt, modifiedAt + 5000)).toBe(false);
    expect(ifRangeHolds('nonsense', etag, modifiedAt)).toBe(false);
  });

  it('If-Match holds for "*" and for a list naming this version', () => {
    expect(ifMatchHolds('*', etag)).toBe(true);
    expect(ifMatchHolds(`"x", ${etag}`, etag)).toBe(true);
    expect(ifMatchHolds('"x"', etag)).toBe(false);
  });
});

describe('Content-Disposition', () => {
  it('names the file in UTF-8, with an ASCII stand-in', () => {
    expect(contentDisposition('report.pdf')).toBe(`attachment; filename="report.pdf"; filename*=UTF-8''report.pdf`);
    expect(contentDisposition('Grüße "x"\\y.txt')).toBe(`attachment; filename="Gr__e _x__y.txt"; filename*=UTF-8''Gr%C3%BC%C3%9Fe%20%22x%22%5Cy.txt`);
    expect(contentDisposition("it's (1).txt")).toBe(`attachment; filename="it's (1).txt"; filename*=UTF-8''it%27s%20%281%29.txt`);
    expect(contentDisposition('line\nbreak')).toBe(`attachment; filename="line_break"; filename*=UTF-8''line%0Abreak`);
  });
});
