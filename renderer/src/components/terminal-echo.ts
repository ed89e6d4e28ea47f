// Predictive local echo for one xterm.js terminal: the engine (local-echo.ts) reading
// the terminal's buffer, its overlay (echo-overlay.ts) redrawn after each keystroke,
// each parsed piece of output and each render, and a timer for what the engine waits
// for (a prediction that nothing answers, output going quiet).
import type { Terminal } from '@xterm/xterm';
import type { EchoMode } from '../../../shared/protocol/index.js';
import { echoOverlay } from './echo-overlay.js';
import { terminalScreen } from './echo-screen.js';
import { LocalEcho, type LocalEchoSetting } from './local-echo.js';

export interface TerminalEcho {
  /** Keys sent to the host as input number `input` (1, 2, 3…). */
  typed(data: string, input: number): void;
  /** Output was parsed into the terminal (its write callback). */
  parsed(): void;
  setMode(mode: EchoMode | null): void;
  setSetting(setting: LocalEchoSetting): void;
  /** The screen was replaced or resized. */
  reset(): void;
  dispose(): void;
}

export function terminalEcho(
  term: Terminal,
  options: { applied: () => number; setting: LocalEchoSetting; mode: EchoMode | null; now?: () => number },
): TerminalEcho {
  const now = options.now ?? (() => performance.now());
  const engine = new LocalEcho({ screen: terminalScreen(term), applied: options.applied, setting: options.setting, mode: options.mode });
  const overlay = echoOverlay(term);
  let timer: ReturnType<typeof setTimeout> | undefined;

  const update = () => {
    overlay.render(engine.view());
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    const at = engine.nextDeadline(now());
    if (at !== null)
      timer = setTimeout(() => {
        timer = undefined;
        engine.tick(now());
        update();
      }, Math.max(0, at - now()));
  };
  // Scrolling and resizing move the grid under the overlay; xterm's render says when.
  const rendered = term.onRender(() => overlay.render(engine.view()));

  return {
    typed: (data, input) => {
      engine.typed(data, input, now());
      update();
    },
    parsed: () => {
      engine.outputParsed(now());
      update();
    },
    setMode: (mode) => {
      engine.setMode(mode);
      update();
    },
    setSetting: (setting) => {
      engine.setSetting(setting);
      update();
    },
    reset: () => {
      engine.reset();
      update();
    },
    dispose: () => {
      if (timer !== undefined) clearTimeout(timer);
      rendered.dispose();
      overlay.dispose();
    },
  };
}
