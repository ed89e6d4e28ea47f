// What a download's request headers ask for (RFC 9110): which bytes (Range), on what
// condition (If-Range, If-Match), and how the file is named for the browser
// (Content-Disposition, RFC 6266 with RFC 8187's filename*). Pure functions.

/** The bytes to send, `start` to `end` inclusive. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * A Range header against a file of `size` bytes: one range (`bytes=N-`, `bytes=N-M`,
 * `bytes=-N`) → those bytes; one that starts at or past the end → 'unsatisfiable' (416);
 * anything else — no header, another unit, several ranges, nonsense — → null: the whole
 * file (a server may ignore a Range it does not take).
 */
export function parseRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | null {
  if (header === undefined) return null;
  const match = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!match || (match[1] === '' && match[2] === '')) return null;
  const [first, last] = [match[1]!, match[2]!];
  if (first === '') {
    // The last N bytes.
    const suffix = Number(last);
    if (suffix === 0) return 'unsatisfiable';
    return size === 0 ? 'unsatisfiable' : { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (!Number.isSafeInteger(start) || (last !== '' && Number(last) < start)) return null;
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

/** The strong ETag of a file version. */
export function etagOf(version: string): string {
  return `"${version}"`;
}

/**
 * If-Range: whether the client's validator still names this version (strong
 * comparison). A date counts only if it is the file's Last-Modified exactly and that is
 * at least a second in the past (RFC 9110 13.1.5: else it is not a strong validator).
 */
export function ifRangeHolds(header: string, etag: string, modifiedAt: number, now = Date.now()): boolean {
  const value = header.trim();
  if (value.startsWith('"') || value.startsWith('W/')) return value === etag;
  const date = Date.parse(value);
  return !Number.isNaN(date) && date === Math.floor(modifiedAt / 1000) * 1000 && now - modifiedAt >= 1000;
}

/** If-Match: whether any of its ETags is this version's (or it is "*"). */
export function ifMatchHolds(header: string, etag: string): boolean {
  const value = header.trim();
  if (value === '*') return true;
  return value.split(',').some((tag) => tag.trim() === etag);
}

/**
 * `attachment`, with the name in UTF-8 (filename*) and an ASCII stand-in for clients
 * that know only filename= (other characters, quotes and backslashes as "_").
 */
export function contentDisposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_') || 'download';
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}
