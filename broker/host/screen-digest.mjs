// Feeding a headless terminal a flood of output without parsing all of it.
//
// A screen keeps rows + scrollback lines. When a stretch of output is plain text —
// printable characters, CR, LF, tabs, colours (SGR) and erase-in-line, nothing that
// moves the cursor elsewhere or changes a mode — and what follows it in the same
// stretch pushes at least two screens plus the scrollback of fresh lines, then no cell
// the skipped part wrote survives. The screen after the whole stretch equals the
// screen after its head and its tail, with the skipped part's colour changes replayed
// (they are state), exactly: same cells, same attributes, same wrap flags, same
// cursor. Two forms keep the cursor's column in step:
//   - 'cr': the skipped part starts and ends right after a carriage return (column 0
//     on both sides);
//   - 'cols': pure printable ASCII with auto-wrap on, skipped in whole multiples of
//     the terminal's width.
// Each skip is checked against the terminal's state where it starts (parser in its
// ground state, whole-screen scroll region, insert mode off, auto-wrap for 'cols');
// the check reads xterm.js internals and answers "do not skip" if they are missing.
// broker/host/screen-digest.test.ts compares the result with a full parse.
// Plain JavaScript so the same file runs in the worker from source and from dist/.

/** A skip is only worth a round trip through the parser if it saves this much. */
export const MIN_SKIP_BYTES = 64 * 1024;

const ESC = 0x1b;
const CR = 0x0d;
const LF = 0x0a;

/** Fresh lines the tail must push after a skip: enough to reach the bottom, then refill screen and scrollback. */
export function linesNeeded(rows, scrollback) {
  return 2 * rows + scrollback + 2;
}

/** Whether any of the four bytes of `w` is outside printable ASCII (0x20–0x7e): any below 0x20, or any above 0x7e. */
const unprintableIn = (w) => (((w - 0x20202020) & ~w) | (w + 0x01010101) | w) & 0x80808080;

/**
 * The end of the run of printable ASCII (0x20–0x7e) that starts at `i`: the first
 * index at or after `i` holding another byte, or `n`. Four bytes at a time through
 * `words` (a Uint32Array over the same memory whose first word starts `lead` bytes
 * into `bytes`), byte by byte at the edges: a flood of text is mostly such runs.
 */
export function printableEnd(bytes, words, lead, i, n) {
  while (i < n && ((i - lead) & 3) !== 0) {
    const b = bytes[i];
    if (b < 0x20 || b > 0x7e) return i;
    i += 1;
  }
  if (i < n) {
    const last = words.length;
    let k = (i - lead) >> 2;
    while (k < last && !unprintableIn(words[k])) k += 1;
    i = lead + (k << 2);
  }
  while (i < n) {
    const b = bytes[i];
    if (b < 0x20 || b > 0x7e) return i;
    i += 1;
  }
  return n;
}

/** `bytes` as whole aligned 32-bit words, and where the first of them starts (for printableEnd). */
export function wordsOf(bytes) {
  const lead = (4 - (bytes.byteOffset & 3)) & 3;
  const count = bytes.length > lead ? (bytes.length - lead) >> 2 : 0;
  return { words: new Uint32Array(bytes.buffer, bytes.byteOffset + (count > 0 ? lead : 0), count), lead };
}

/**
 * Where `bytes` may be skipped: sorted, non-overlapping `{ rule, s, e, kept }` with
 * bytes [s, e) replaceable by `kept` (the colour changes among them), if the
 * terminal's state at `s` allows (`skipVerdict`). Syntax only: no terminal state.
 */
export function planSkips(bytes, cols, rows, scrollback, minSkip = MIN_SKIP_BYTES) {
  const need = linesNeeded(rows, scrollback);
  const colsTail = (need + 1) * cols + 2;
  const skips = [];
  const colsSkips = [];
  const { words, lead } = wordsOf(bytes);

  // The current region of plain text.
  let firstCut = -1; // just after the region's first CR
  let lastCut = -1; // just after its latest CR
  let lfCount = 0;
  const lfCuts = new Int32Array(need); // ring: the cut before each of the last `need` LFs
  // Colour sequences, three numbers each: start, end, kind (1 plain reset, 2 other plain, 3 private).
  let sgrs = [];
  // The current run of printable ASCII.
  let runStart = 0;

  const closeRun = (end) => {
    const length = end - runStart;
    if (length < colsTail + cols + minSkip) return;
    const k = Math.floor((length - colsTail) / cols);
    if (k * cols >= minSkip) colsSkips.push({ rule: 'cols', s: runStart, e: runStart + k * cols, kept: null });
  };
  const closeRegion = () => {
    if (firstCut >= 0 && lfCount >= need) {
      const e = lfCuts[(lfCount - need) % need];
      if (e - firstCut >= minSkip) skips.push({ rule: 'cr', s: firstCut, e, kept: keptColours(bytes, sgrs, firstCut, e) });
    }
    firstCut = -1;
    lastCut = -1;
    lfCount = 0;
    sgrs = [];
  };

  const n = bytes.length;
  let i = 0;
  while (i < n) {
    const b = bytes[i];
    if (b >= 0x20 && b <= 0x7e) {
      i = printableEnd(bytes, words, lead, i + 1, n);
      continue;
    }
    closeRun(i);
    if (b === CR) {
      lastCut = i + 1;
      if (firstCut < 0) firstCut = lastCut;
      i += 1;
    } else if (b === LF) {
      lfCuts[lfCount % need] = lastCut;
      lfCount += 1;
      i += 1;
    } else if (b === 0x09) {
      // A tab moves the cursor within its line, to a stop the text cannot change.
      i += 1;
    } else if (b >= 0x80) {
      // UTF-8 text; U+0080–U+009F (C2 80–C2 9F) are C1 controls to the parser.
      if (b === 0xc2 && (i + 1 >= n || (bytes[i + 1] >= 0x80 && bytes[i + 1] <= 0x9f))) {
        closeRegion();
        i += 1;
      } else i += 1;
    } else if (b === ESC) {
      if (csi(bytes, i) && (csiFinal === 0x6d || csiFinal === 0x4b)) {
        if (csiFinal === 0x6d) sgrs.push(i, csiEnd, csiKind);
        i = csiEnd;
      } else {
        closeRegion();
        i += 1;
      }
    } else {
      closeRegion();
      i += 1;
    }
    runStart = i;
  }
  closeRun(n);
  closeRegion();

  // A 'cols' skip inside a 'cr' skip's range is already covered.
  for (const skip of colsSkips) {
    if (!skips.some((other) => skip.s < other.e && other.s < skip.e)) skips.push(skip);
  }
  return skips.sort((a, b) => a.s - b.s);
}

// What csi() found, kept here rather than in an object per sequence (a coloured log
// has several a line): its end, its final byte, and its kind.
let csiEnd = 0;
let csiFinal = 0;
let csiKind = 0;

/**
 * `ESC [ params final` at `at` with no intermediates: true, with its end and final
 * byte in csiEnd and csiFinal, and in csiKind whether it is a reset (SGR with an empty
 * or zero first parameter: 1), another plain SGR (2), or one with a private marker
 * (3). Anything else (or cut off) → false.
 */
function csi(bytes, at) {
  const n = bytes.length;
  if (at + 1 >= n || bytes[at + 1] !== 0x5b) return false;
  let i = at + 2;
  const paramsStart = i;
  while (i < n && bytes[i] >= 0x30 && bytes[i] <= 0x3f) i += 1;
  if (i >= n || bytes[i] < 0x40 || bytes[i] > 0x7e) return false;
  let kind = 2;
  if (paramsStart < i && bytes[paramsStart] >= 0x3c) kind = 3;
  else {
    let j = paramsStart;
    while (j < i && bytes[j] === 0x30) j += 1;
    if (j === i || bytes[j] === 0x3b) kind = 1;
  }
  csiEnd = i + 1;
  csiFinal = bytes[i];
  csiKind = kind;
  return true;
}

/**
 * The colour sequences in [s, e) that still matter: plain ones from the last reset on,
 * and every private one. `flat` holds three numbers a sequence (start, end, kind), in
 * order: read in place, a flood's hundred thousand of them cost no allocations.
 */
function keptColours(bytes, flat, s, e) {
  let first = -1;
  let from = -1;
  let last = -1;
  for (let k = 0; k < flat.length; k += 3) {
    if (flat[k] < s || flat[k + 1] > e) continue;
    if (first < 0) first = k;
    if (flat[k + 2] === 1) from = k;
    last = k;
  }
  if (first < 0) return null;
  if (from < 0) from = first;
  const kept = (k) => flat[k] >= s && flat[k + 1] <= e && (k >= from || flat[k + 2] === 3);
  let total = 0;
  for (let k = first; k <= last; k += 3) if (kept(k)) total += flat[k + 1] - flat[k];
  if (total === 0) return null;
  const out = new Uint8Array(total);
  let at = 0;
  for (let k = first; k <= last; k += 3) {
    if (!kept(k)) continue;
    out.set(bytes.subarray(flat[k], flat[k + 1]), at);
    at += flat[k + 1] - flat[k];
  }
  return out;
}

/**
 * Whether a planned skip is exact from the terminal's current state. (A 'cols' skip
 * may start at either edge of a line: the tail's next character lands in column 0 of
 * a fresh line either way.)
 */
export function skipVerdict(terminal, skip) {
  const core = terminal._core;
  const parser = core?._inputHandler?._parser;
  const buffer = core?.buffer;
  if (!parser || !buffer || parser.currentState !== 0) return false;
  if (buffer.scrollTop !== 0 || buffer.scrollBottom !== terminal.rows - 1) return false;
  const modes = terminal.modes;
  if (modes.insertMode) return false;
  return skip.rule === 'cr' || modes.wraparoundMode;
}

const written = (terminal, data) => new Promise((resolve) => terminal.write(data, resolve));

/**
 * Writes `bytes` to `terminal` with every exact skip taken; resolves once all of it is
 * parsed, with the number of bytes the parser did not have to read.
 */
export async function digest(terminal, bytes, scrollback, minSkip = MIN_SKIP_BYTES) {
  const skips = planSkips(bytes, terminal.cols, terminal.rows, scrollback, minSkip);
  let at = 0;
  let skipped = 0;
  for (const skip of skips) {
    if (skip.s < at) continue;
    if (skip.s > at) await written(terminal, bytes.subarray(at, skip.s));
    at = skip.s;
    if (!skipVerdict(terminal, skip)) continue;
    if (skip.kept) terminal.write(skip.kept);
    skipped += skip.e - skip.s - (skip.kept?.length ?? 0);
    at = skip.e;
  }
  if (at < bytes.length || at === 0) await written(terminal, bytes.subarray(at));
  return skipped;
}
