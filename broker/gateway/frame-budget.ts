// What a client's text frame may cost before it is parsed. JSON.parse and schema
// checks cost time in proportion to a frame's size and nesting; a 65 KB frame nested
// 32,700 deep took 3.5 ms, so 20 sockets sending them stalled the node for seconds.
// No Holdfast message nests deeper than MAX_DEPTH, and before sign-in no request needs
// more than ANONYMOUS_MAX_BYTES (a sign-in with the longest password, a code and a
// device token, escaped), so frames beyond either are refused unparsed, after a scan
// that stops at the first byte too deep.

/** Nesting of objects and arrays any client message may have (the deepest has 2). */
export const MAX_DEPTH = 8;
/** Largest text frame from a connection that has not signed in (nor streams a session). */
export const ANONYMOUS_MAX_BYTES = 8 * 1024;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;

/** True when `bytes` (JSON text) opens more than `max` objects or arrays inside each other; brackets in strings do not count. */
export function nestedDeeperThan(bytes: Uint8Array, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    if (inString) {
      if (byte === BACKSLASH) i++;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) inString = true;
    else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
      if (++depth > max) return true;
    } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) depth--;
  }
  return false;
}
