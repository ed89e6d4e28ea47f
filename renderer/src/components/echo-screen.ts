// The terminal's screen as the local-echo engine reads it: xterm.js's active buffer
// (the browser's Terminal and @xterm/headless share its shape, so the unit tests read a
// real one). Rows are the buffer's absolute rows, so a prediction stays on its line as
// the screen scrolls.
import type { EchoScreen } from './local-echo.js';

/** What is read of xterm's buffer: a structural slice of IBuffer, met by both packages. */
interface BufferLike {
  readonly type: 'normal' | 'alternate';
  readonly cursorX: number;
  readonly cursorY: number;
  readonly baseY: number;
  getLine(y: number): { getCell(x: number): { getChars(): string; getWidth(): number } | undefined } | undefined;
}

export interface TerminalLike {
  readonly cols: number;
  readonly buffer: { readonly active: BufferLike };
}

export function terminalScreen(term: TerminalLike): EchoScreen {
  return {
    get cols() {
      return term.cols;
    },
    cursor: () => {
      const buffer = term.buffer.active;
      return { x: buffer.cursorX, row: buffer.baseY + buffer.cursorY };
    },
    cell: (x, row) => {
      const cell = term.buffer.active.getLine(row)?.getCell(x);
      // An empty cell reads '' and a written space ' ': the same on screen.
      return { chars: cell?.getChars() || ' ', width: cell?.getWidth() ?? 1 };
    },
    alternate: () => term.buffer.active.type === 'alternate',
  };
}
