// "All screens" for a GUI session (issue 26, point 5): the tab's pane stays the session's
// screen on the monitor it is on, and every other monitor gets a window of its own
// (monitor-window.ts); together they are one desktop (screen-layout.ts) that the display
// is asked for as the pane's size is otherwise (rfb-fit.ts DesktopFit). The monitors are
// the Window Management API's (Chromium, and the desktop app, which grants it to its own
// page): without it, or with one monitor, the session has one screen as before.

import type { DesktopScreen } from '../../../shared/protocol/index.js';
import { MonitorWindow, type MonitorScreen } from './monitor-window.js';
import type { DesktopLayout, Size } from './rfb-fit.js';
import { spanLayout } from './screen-layout.js';

/** The parts of the Window Management API used here (not yet in TypeScript's DOM types). */
interface ScreenDetails extends EventTarget {
  readonly screens: readonly MonitorScreen[];
  readonly currentScreen: MonitorScreen;
}
type WithScreenDetails = Window & { getScreenDetails?: () => Promise<ScreenDetails> };

export interface ScreenSpanDeps {
  /** The app's name, for the windows' titles. */
  appName: string;
  /** The tab viewer's canvas now. */
  source(): HTMLCanvasElement | null;
  /** Display pixels per CSS pixel on a monitor of this ratio (rfb-fit.ts displayScale). */
  scale(devicePixelRatio: number): number;
  send(message: Uint8Array): boolean;
  key(keysym: number, down: boolean): void;
  /** A window or monitor changed: the layout is to be asked for again. */
  changed(): void;
  /** The span ended by itself (its last other window was closed). */
  ended(): void;
  mac: boolean;
}

export class ScreenSpan {
  private windows: MonitorWindow[] = [];
  private details: ScreenDetails | null = null;
  private layout: DesktopLayout | null = null;
  private readonly relayout = () => this.deps.changed();

  constructor(private readonly deps: ScreenSpanDeps) {}

  /** Whether this browser can place windows on other monitors, and there are others. */
  static available(): boolean {
    return typeof (window as WithScreenDetails).getScreenDetails === 'function' && (window.screen as Screen & { isExtended?: boolean }).isExtended === true;
  }

  get active(): boolean {
    return this.windows.length > 0;
  }

  /**
   * Opens a window on every other monitor (call in the person's click). Resolves with
   * what went wrong, in words, or null.
   */
  async start(): Promise<string | null> {
    const get = (window as WithScreenDetails).getScreenDetails;
    if (!get) return 'This browser cannot place windows on your other screens; use Chrome, Edge or the Holdfast app.';
    let details: ScreenDetails;
    try {
      details = await get.call(window);
    } catch {
      return 'Holdfast was not allowed to place windows on your screens. Allow “Window management” for this site in the browser’s settings, then try again.';
    }
    const others = details.screens.filter((s) => s !== details.currentScreen);
    if (others.length === 0) return 'Only one screen is connected.';
    let blocked = 0;
    others.forEach((screen, i) => {
      const popup = MonitorWindow.open(screen, i + 2);
      if (!popup) {
        blocked += 1;
        return;
      }
      const shown: MonitorWindow = new MonitorWindow({
        popup,
        screen,
        title: `${this.deps.appName} — screen ${i + 2}`,
        source: this.deps.source,
        // The layout's screens are the pane's, then the windows' in their order.
        region: () => this.layout?.screens[this.windows.indexOf(shown) + 1] ?? null,
        scale: this.deps.scale,
        send: this.deps.send,
        key: this.deps.key,
        changed: this.relayout,
        closed: () => this.closed(shown),
        mac: this.deps.mac,
      });
      this.windows.push(shown);
    });
    if (this.windows.length === 0) return 'The browser blocked the windows for your other screens: allow pop-ups for this site, then try again.';
    this.details = details;
    details.addEventListener('screenschange', this.relayout);
    details.addEventListener('currentscreenchange', this.relayout);
    this.deps.changed();
    return blocked > 0 ? `The browser opened ${this.windows.length} of ${others.length} windows; allow pop-ups for this site to use every screen.` : null;
  }

  /** The desktop of the pane (its display pixels `pane`) and every window, or why there is none. */
  measure(pane: Size): DesktopLayout | string {
    const here = this.details!.currentScreen;
    const layout = spanLayout([{ placement: here, ...pane }, ...this.windows.map((w) => ({ placement: w.placement, ...w.pixels() }))]);
    if (typeof layout !== 'string') this.layout = layout;
    return layout;
  }

  /** The pane's own screen of the desktop (the first). */
  paneRegion(): DesktopScreen | null {
    return this.active ? (this.layout?.screens[0] ?? null) : null;
  }

  /** Back to one screen: every other window closes. */
  stop(): void {
    for (const w of this.windows) w.dispose();
    this.windows = [];
    this.layout = null;
    this.details?.removeEventListener('screenschange', this.relayout);
    this.details?.removeEventListener('currentscreenchange', this.relayout);
    this.details = null;
  }

  /** The person closed one of the windows: the desktop loses its screen; with none left, the span ends. */
  private closed(gone: MonitorWindow): void {
    this.windows = this.windows.filter((w) => w !== gone);
    if (this.windows.length === 0) {
      this.stop();
      this.deps.ended();
    }
    this.deps.changed();
  }
}
