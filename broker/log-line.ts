// One JSON log line as an operator's terminal or a log viewer will show it. JSON
// already escapes C0 controls; it does not escape DEL, the C1 controls (U+0080–U+009F:
// U+009B is a terminal's CSI, so a name can move the cursor or recolour the screen of
// whoever runs `tail -f`), the line and paragraph separators, or the bidirectional
// overrides and isolates (U+202E makes a line read backwards). Each becomes its \uXXXX
// escape, which decodes to the same string: the line is still the same JSON.

const UNSAFE = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

export function escapeControls(line: string): string {
  return line.replace(UNSAFE, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
