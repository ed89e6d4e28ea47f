// A GUI session's window on another of the person's monitors (issue 26, point 5): one
// screen of the session's desktop (screen-layout.ts), shown in a window of its own
// placed on that monitor. The tab's viewer (noVNC) still receives the whole desktop; this
// window copies its screen's part of that frame on each animation frame — one copy of
// pixels already decoded, nothing more on the network — and sends what the person does
// in it: the pointer at its place on the desktop, and keys through the same keyboard
// path as the tab (rfb-text-input.ts: the person's layout, input methods).
//
// The window is a same-origin popup (`about:blank`, which keeps the page's CSP): the
// page builds it and listens to it. Chromium places it on another monitor only with the
// Window Management permission; the desktop app grants that to its own page and lets
// exactly these popups open (main/windows.ts).

import { pointerEvent } from '../../../shared/protocol/index.js';
import type { DesktopScreen } from '../../../shared/protocol/index.js';
import { catchText } from './rfb-text-input.js';
import type { Placement } from './screen-layout.js';

/** The parts of a ScreenDetailed (Window Management API) a monitor window needs. */
export interface MonitorScreen extends Placement {
  availLeft: number;
  availTop: number;
  availWidth: number;
  availHeight: number;
  devicePixelRatio: number;
  label?: string;
}

export interface MonitorWindowOptions {
  /** The opened popup (MonitorWindow.open). */
  popup: Window;
  screen: MonitorScreen;
  /** What the window's title says: the app, and which screen of the session this is. */
  title: string;
  /** The tab viewer's canvas now (null while none has connected). */
  source(): HTMLCanvasElement | null;
  /** This window's screen of the desktop now (null until the display has it). */
  region(): DesktopScreen | null;
  /** Display pixels per CSS pixel for a screen of this ratio (rfb-fit.ts displayScale). */
  scale(devicePixelRatio: number): number;
  /** Sends one RFB input message; false when the session cannot take it now. */
  send(message: Uint8Array): boolean;
  /** Presses or releases one key in the app. */
  key(keysym: number, down: boolean): void;
  /** The window's size or ratio changed: the layout is asked for again. */
  changed(): void;
  /** The person closed the window. */
  closed(): void;
  mac?: boolean;
}

/** DOM buttons (1 left, 2 right, 4 middle) → RFB's mask (1 left, 2 middle, 4 right). */
export function rfbButtons(buttons: number): number {
  return (buttons & 1) | ((buttons & 4) >> 1) | ((buttons & 2) << 1);
}

/** RFB's wheel: a press and release of button 4 (up) or 5 (down), or 6/7 sideways. */
export function wheelButton(deltaX: number, deltaY: number): number | null {
  if (deltaY !== 0) return deltaY < 0 ? 1 << 3 : 1 << 4;
  if (deltaX !== 0) return deltaX < 0 ? 1 << 5 : 1 << 6;
  return null;
}

export class MonitorWindow {
  private readonly canvas: HTMLCanvasElement;
  private readonly stops: Array<() => void> = [];
  private frame = 0;
  private disposed = false;
  private buttons = 0;

  /**
   * Opens the popup on `screen` (call in the click that asked: browsers open popups only
   * then). Null where the browser refused it (popups blocked).
   */
  static open(screen: MonitorScreen, index: number): Window | null {
    const features = `popup,left=${screen.availLeft},top=${screen.availTop},width=${screen.availWidth},height=${screen.availHeight}`;
    return window.open('', `holdfast-screen-${index}`, features);
  }

  constructor(private readonly options: MonitorWindowOptions) {
    const { popup } = options;
    const doc = popup.document;
    doc.title = options.title;
    const body = doc.body;
    body.replaceChildren();
    Object.assign(body.style, { margin: '0', background: '#0b0f14', overflow: 'hidden', cursor: 'default' });
    this.canvas = doc.createElement('canvas');
    this.canvas.setAttribute('role', 'img');
    this.canvas.setAttribute('aria-label', options.title);
    Object.assign(this.canvas.style, { display: 'block', imageRendering: 'pixelated' });
    const keyboard = doc.createElement('textarea');
    keyboard.setAttribute('aria-label', `Keyboard input for ${options.title}`);
    keyboard.autocomplete = 'off';
    keyboard.spellcheck = false;
    Object.assign(keyboard.style, { position: 'absolute', left: '0', top: '0', width: '1px', height: '1px', opacity: '0', border: '0', padding: '0', resize: 'none' });
    body.append(this.canvas, keyboard);
    this.stops.push(catchText(keyboard, { key: options.key, mac: options.mac ?? false }));

    const at = (event: MouseEvent) => {
      const region = options.region();
      if (!region) return null;
      const by = options.scale(popup.devicePixelRatio);
      const x = Math.min(region.width - 1, Math.max(0, Math.floor(event.offsetX * by)));
      const y = Math.min(region.height - 1, Math.max(0, Math.floor(event.offsetY * by)));
      return { x: region.x + x, y: region.y + y };
    };
    const pointer = (event: PointerEvent) => {
      const place = at(event);
      if (!place) return;
      this.buttons = rfbButtons(event.buttons);
      options.send(pointerEvent(this.buttons, place.x, place.y));
    };
    const down = (event: PointerEvent) => {
      keyboard.focus({ preventScroll: true });
      this.canvas.setPointerCapture(event.pointerId);
      event.preventDefault();
      pointer(event);
    };
    const wheel = (event: WheelEvent) => {
      event.preventDefault();
      const place = at(event);
      const button = wheelButton(event.deltaX, event.deltaY);
      if (!place || button === null) return;
      options.send(pointerEvent(this.buttons | button, place.x, place.y));
      options.send(pointerEvent(this.buttons, place.x, place.y));
    };
    const noMenu = (event: Event) => event.preventDefault();
    const resized = () => options.changed();
    const gone = () => {
      if (this.disposed) return;
      this.dispose();
      options.closed();
    };
    this.listen(this.canvas, 'pointerdown', down as EventListener);
    this.listen(this.canvas, 'pointermove', pointer as EventListener);
    this.listen(this.canvas, 'pointerup', pointer as EventListener);
    this.listen(this.canvas, 'wheel', wheel as EventListener, { passive: false });
    this.listen(this.canvas, 'contextmenu', noMenu);
    this.listen(popup, 'resize', resized);
    this.listen(popup, 'pagehide', gone);
    // The opener may not hear a popup's pagehide when it is closed from outside: look.
    const watch = setInterval(() => popup.closed && gone(), 500);
    this.stops.push(() => clearInterval(watch));
    this.frame = popup.requestAnimationFrame(() => this.draw());
  }

  /** This window's monitor, as the OS places it (for the layout). */
  get placement(): Placement {
    const { left, top, width, height } = this.options.screen;
    return { left, top, width, height };
  }

  /** The display pixels this window has: its inner size times its scale. */
  pixels(): { width: number; height: number } {
    const { popup } = this.options;
    const by = this.options.scale(popup.devicePixelRatio);
    return { width: Math.floor(popup.innerWidth * by + 1e-6), height: Math.floor(popup.innerHeight * by + 1e-6) };
  }

  /** Closes the window (the person stopped using all screens, or the session ended). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.options.popup.cancelAnimationFrame(this.frame);
    for (const stop of this.stops) stop();
    if (!this.options.popup.closed) this.options.popup.close();
  }

  /** Copies this screen's part of the tab's frame, every animation frame while the window lives. */
  private draw(): void {
    if (this.disposed) return;
    const { popup } = this.options;
    const source = this.options.source();
    const region = this.options.region();
    if (source && region && source.width >= region.x + region.width && source.height >= region.y + region.height) {
      if (this.canvas.width !== region.width || this.canvas.height !== region.height) {
        this.canvas.width = region.width;
        this.canvas.height = region.height;
      }
      const by = this.options.scale(popup.devicePixelRatio);
      this.canvas.style.width = `${region.width / by}px`;
      this.canvas.style.height = `${region.height / by}px`;
      this.canvas.getContext('2d')?.drawImage(source, region.x, region.y, region.width, region.height, 0, 0, region.width, region.height);
    }
    this.frame = popup.requestAnimationFrame(() => this.draw());
  }

  private listen(target: EventTarget, type: string, listener: EventListener, options?: AddEventListenerOptions): void {
    target.addEventListener(type, listener, options);
    this.stops.push(() => target.removeEventListener(type, listener, options));
  }
}
