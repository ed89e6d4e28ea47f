// The coverage suite's sessions as a person drives them (support/coverage.ts): the same
// scripted steps reach a terminal app (keys as a terminal sends them; its screen read
// by a headless xterm, as the client shows it) or a graphical one (key and pointer
// events; its framebuffer hashed, as a viewer shows it).
import headless from '@xterm/headless';
import type { HoldfastClient, SessionStream } from '../shared/core/index.js';
import type { CoverageApp, Step } from './coverage-apps.js';
import { Gui, launchGui } from './gui.js';
import { launch } from './harness.js';

const COLS = 100;
const ROWS = 30;
/** A screen is settled once nothing changed for this long (bounded by SETTLE_MAX_MS: timers never settle). */
const QUIET_MS = 700;
const SETTLE_MAX_MS = 6000;
const CONTROL_L = 0xffe3;

/** A driven session: the same steps reach the app whatever its display. */
export interface Driven {
  readonly stream: SessionStream;
  step(step: Step): void;
  /** Waits until the display holds still (bounded) and returns what it shows. */
  settled(): Promise<string>;
  /** What it shows now (the takeover's first picture). */
  look(): Promise<string>;
  /** Waits (at most `ms`) until the app answered the last step and its cursor's line ends with `prompt`; false if it did not. */
  prompted(prompt: RegExp, ms: number): Promise<boolean>;
  close(): void;
}

export class TerminalDriven implements Driven {
  private term = new headless.Terminal({ cols: COLS, rows: ROWS, allowProposedApi: true, scrollback: 0 });
  private lastChange = Date.now();
  private lastStep = 0;
  private writes: Promise<void> = Promise.resolve();
  /** The screen as the last resume snapshot drew it, and when. */
  resumed: { at: number; screen: string } | null = null;

  constructor(readonly stream: SessionStream) {
    stream.setSink({
      write: (data, done) => {
        this.lastChange = Date.now();
        this.writes = new Promise((resolve) => this.term.write(data, resolve));
        done();
      },
      reset: (snapshot) => {
        this.lastChange = Date.now();
        this.term.reset();
        this.writes = new Promise((resolve) => this.term.write(snapshot, resolve));
        void this.writes.then(() => (this.resumed = { at: Date.now(), screen: this.text() }));
      },
    });
  }

  step(step: Step): void {
    this.lastStep = Date.now();
    if ('type' in step) this.stream.sendInput(step.type);
  }

  async prompted(prompt: RegExp, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    for (;;) {
      await this.writes;
      // Changed since the step (the typed line's echo at least): the prompt before it does not count.
      const buffer = this.term.buffer.active;
      const line = buffer.getLine(buffer.viewportY + buffer.cursorY)?.translateToString(false, 0, buffer.cursorX) ?? '';
      if (this.lastChange > this.lastStep && prompt.test(line)) return true;
      if (Date.now() > deadline) return false;
      await sleep(25);
    }
  }

  private text(): string {
    const buffer = this.term.buffer.active;
    const lines: string[] = [];
    // As the node's screen hash reads it: a written space at a line's end looks like none.
    for (let y = 0; y < ROWS; y++) lines.push((buffer.getLine(buffer.viewportY + y)?.translateToString(true) ?? '').trimEnd());
    return `${lines.join('\n')}\ncursor ${buffer.cursorX},${buffer.cursorY}`;
  }

  async look(): Promise<string> {
    await this.writes;
    return this.text();
  }

  async settled(): Promise<string> {
    const deadline = Date.now() + SETTLE_MAX_MS;
    while (Date.now() - this.lastChange < QUIET_MS && Date.now() < deadline) await sleep(100);
    return this.look();
  }

  /** The screen the takeover's resume snapshot drew (waits for it, bounded). */
  async resumedScreen(): Promise<string> {
    const deadline = Date.now() + 10_000;
    while (!this.resumed && Date.now() < deadline) await sleep(50);
    if (!this.resumed) throw new Error('no resume snapshot within 10 s of streaming again');
    return this.resumed.screen;
  }

  close(): void {
    this.stream.close();
  }
}

export class GuiDriven implements Driven {
  constructor(private readonly gui: Gui) {}

  get stream(): SessionStream {
    return this.gui.stream;
  }

  step(step: Step): void {
    const viewer = this.gui.viewer;
    if ('type' in step) viewer.type(step.type);
    else if ('keysym' in step) {
      if (step.ctrl) viewer.key(CONTROL_L, true);
      viewer.key(step.keysym, true);
      viewer.key(step.keysym, false);
      if (step.ctrl) viewer.key(CONTROL_L, false);
    } else if ('move' in step) viewer.pointer(0, ...step.move);
    else if ('click' in step) {
      viewer.pointer(1, ...step.click);
      viewer.pointer(0, ...step.click);
    }
  }

  async look(): Promise<string> {
    for (let attempt = 0; ; attempt++) {
      const viewer = this.gui.viewer;
      try {
        await viewer.ready;
        return await viewer.frameHash();
      } catch (error) {
        // A resume replaced the viewer mid-look: look with the new one.
        if (viewer === this.gui.viewer || attempt > 20) throw error;
      }
    }
  }

  /** A graphical app has no prompt to wait for. */
  prompted(): Promise<boolean> {
    return Promise.resolve(true);
  }

  async settled(): Promise<string> {
    const deadline = Date.now() + SETTLE_MAX_MS;
    let previous = '';
    for (;;) {
      const hash = await this.look();
      if (hash === previous || Date.now() > deadline) return hash;
      previous = hash;
      await sleep(QUIET_MS / 2);
    }
  }

  close(): void {
    this.gui.stream.close();
  }
}

export async function open(c: HoldfastClient, app: CoverageApp): Promise<Driven> {
  if (app.gui) return new GuiDriven(await launchGui(c, `cov-${app.id}`));
  return new TerminalDriven(await launch(c, `cov-${app.id}`, COLS, ROWS));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
