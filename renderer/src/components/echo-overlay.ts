// Predicted keystrokes drawn over a terminal (local-echo.ts decides what): one element
// per cell, placed on xterm's cell grid above its text, underlined while unconfirmed,
// and a thin box where the cursor will be. Nothing is written into the terminal: when
// the output comes, xterm's own text is under the overlay, and the overlay goes.
// Hidden from assistive technology — xterm's own accessibility tree reads the output,
// which is what the app really shows.
import type { Terminal } from '@xterm/xterm';
import type { EchoView } from './local-echo.js';

export interface EchoOverlay {
  render(view: EchoView): void;
  dispose(): void;
}

/** Draws into the terminal's .xterm-screen (positioned by xterm's stylesheet); a terminal not yet opened gets none. */
export function echoOverlay(term: Terminal): EchoOverlay {
  const screen = term.element?.querySelector<HTMLElement>('.xterm-screen');
  if (!screen) return { render: () => {}, dispose: () => {} };
  const layer = document.createElement('div');
  layer.className = 'local-echo';
  layer.setAttribute('aria-hidden', 'true');
  screen.appendChild(layer);
  let drawn = '';

  const render = (view: EchoView) => {
    const top = term.buffer.active.viewportY;
    const visible = view.cells.filter((cell) => cell.row >= top && cell.row < top + term.rows);
    const cursor = view.cursor && view.cursor.row >= top && view.cursor.row < top + term.rows ? view.cursor : null;
    // xterm sizes its screen element in its own style: read there, it costs no layout on a keystroke's path.
    const width = (parseFloat(screen.style.width) || screen.clientWidth) / term.cols;
    const height = (parseFloat(screen.style.height) || screen.clientHeight) / term.rows;
    // The same picture is not drawn twice: xterm renders often, the overlay seldom changes.
    const key = JSON.stringify([visible, cursor, top, width, height]);
    if (key === drawn) return;
    drawn = key;
    const theme = term.options.theme ?? {};
    layer.style.fontFamily = term.options.fontFamily ?? 'monospace';
    layer.style.fontSize = `${term.options.fontSize ?? 14}px`;
    layer.style.color = theme.foreground ?? '#ffffff';
    const place = (element: HTMLElement, x: number, row: number) => {
      element.style.left = `${x * width}px`;
      element.style.top = `${(row - top) * height}px`;
      element.style.width = `${width}px`;
      element.style.height = `${height}px`;
      element.style.lineHeight = `${height}px`;
    };
    const elements: HTMLElement[] = visible.map((cell) => {
      const element = document.createElement('span');
      element.className = 'local-echo-cell';
      element.textContent = cell.chars;
      // Opaque: what the terminal still shows there (the cursor, a character to be erased) is covered.
      element.style.background = theme.background ?? '#000000';
      element.dataset.x = String(cell.x);
      element.dataset.y = String(cell.row - top);
      place(element, cell.x, cell.row);
      return element;
    });
    if (cursor) {
      const element = document.createElement('span');
      element.className = 'local-echo-cursor';
      place(element, cursor.x, cursor.row);
      elements.push(element);
    }
    layer.replaceChildren(...elements);
  };

  return {
    render,
    dispose: () => layer.remove(),
  };
}
