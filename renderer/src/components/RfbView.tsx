// One GUI session: noVNC drawing the app's display. noVNC speaks RFB to a channel of
// ours instead of its own WebSocket: what it sends is split into the viewer's own
// messages (sent as they come, only while connected) and input messages (keys, the
// pointer, clipboard, desktop size), which go through the session's numbered input
// queue — held while the link is down, resent once and applied once when it is back.
// After a resume the host starts a fresh RFB stream, so a new noVNC takes over; the
// last frame stays on screen, dimmed, until the new one has drawn.
//
// The display follows the pane (rfb-fit.ts: our SetDesktopSize, not noVNC's), in the
// screen's device pixels unless the person chose to save bandwidth, and each pixel of
// the frame is drawn on one device pixel: noVNC draws into a surface we size to the
// frame over the device pixel ratio, and scales to it (its scaleViewport), so the
// pointer's position is scaled back the same way. The pane's keyboard focus is a hidden textarea: keys are sent as
// the characters typed under the person's layout, and text from input methods and
// dictation reaches the app too (rfb-text-input.ts, rfb-keys.ts).
import { useEffect, useRef, useState } from 'react';
import RFB, { type RfbChannel } from '@novnc/novnc';
import { MAX_CUT_TEXT, RfbClientParser, setDesktopSize } from '../../../shared/protocol/index.js';
import type { SessionStream } from '../../../shared/core/index.js';
import type { SessionTab } from '../session-tab.js';
import { DesktopFit, displayScale, drawnSize, panePixels, type DisplayPixels, type Size } from './rfb-fit.js';
import { catchText } from './rfb-text-input.js';
import { ScreenSpan } from './screen-span.js';
import { SessionFrame } from './SessionFrame.js';

/** Out of sight and out of the pointer's way, yet focusable and editable (display: none would be neither). */
const HIDDEN_INPUT = {
  position: 'absolute',
  top: 0,
  left: 0,
  width: 1,
  height: 1,
  padding: 0,
  border: 0,
  opacity: 0,
  resize: 'none',
  overflow: 'hidden',
  pointerEvents: 'none',
  caretColor: 'transparent',
} as const;

/** A WebSocket-shaped channel that carries noVNC's RFB inside the session's stream. */
class SessionChannel implements RfbChannel {
  binaryType = 'arraybuffer';
  protocol = '';
  readyState: number = 1; // WebSocket.OPEN: the session is streaming already
  onopen: RfbChannel['onopen'] = null;
  onmessage: RfbChannel['onmessage'] = null;
  onerror: RfbChannel['onerror'] = null;
  onclose: RfbChannel['onclose'] = null;
  private readonly parser = new RfbClientParser();

  constructor(
    private readonly stream: SessionStream,
    private readonly refused: (why: string) => void,
  ) {}

  send(data: ArrayBuffer | ArrayBufferView): void {
    if (this.readyState !== 1) return;
    const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const messages = this.parser.push(bytes);
    if (typeof messages === 'string') return this.refused(messages);
    for (const message of messages) {
      if (message.kind === 'input') {
        if (!this.stream.sendInputMessage(message.bytes)) this.refused('too much input is waiting for the session to come back');
      } else {
        this.stream.sendViewer(message.bytes);
      }
    }
  }

  /** Bytes of the display's stream, for noVNC. */
  receive(data: Uint8Array): void {
    this.onmessage?.({ data: data.slice().buffer });
  }

  close(): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.onclose?.({ code: 1000, reason: '', wasClean: true });
  }
}

/**
 * `escapeKeys`: the keys that leave the app for the tabs, for the pane's hint.
 * `pixels`: the display in the screen's device pixels (sharp) or in CSS pixels (preferences.ts).
 */
export function RfbView({ tab, visible, escapeKeys, pixels = 'device' }: { tab: SessionTab; visible: boolean; escapeKeys: readonly string[]; pixels?: DisplayPixels }) {
  const host = useRef<HTMLDivElement>(null);
  const surface = useRef<HTMLDivElement>(null);
  const pixelsRef = useRef(pixels);
  pixelsRef.current = pixels;
  /** Draws and asks again for the pane as it is now (the choice of pixels changed). */
  const refit = useRef<(() => void) | null>(null);
  useEffect(() => refit.current?.(), [pixels]);
  const keyboard = useRef<HTMLTextAreaElement>(null);
  const [lastFrame, setLastFrame] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  /** The session across every monitor (screen-span.ts): set by the effect, used by the button. */
  const span = useRef<ScreenSpan | null>(null);
  const [spanning, setSpanning] = useState(false);
  const { stream } = tab;
  // Someone else's session, watched: the owner's display size stays theirs, and input goes only where the link lets it.
  const joined = tab.link !== undefined || tab.shadowOf !== undefined;

  // The app's window title (the host follows its active window) names the tab, as a
  // terminal's OSC title does; '' (no window) gives the tab back the app's name.
  const titledRef = useRef(tab.actions.titled);
  titledRef.current = tab.actions.titled;
  useEffect(() => {
    let shown: string | null = null;
    return stream.subscribe((view) => {
      if (view.title === null || view.title === shown) return;
      shown = view.title;
      titledRef.current(view.title);
    });
  }, [stream]);

  useEffect(() => {
    const target = host.current;
    const drawingSurface = surface.current;
    const input = keyboard.current;
    if (!target || !drawingSurface || !input) return;
    let rfb: RFB | null = null;
    let channel: SessionChannel | null = null;
    let drawn = false;
    let sentClipboard: string | null = null;
    const canvas = () => drawingSurface.querySelector('canvas');
    const paneSize = () => {
      const { width, height } = target.getBoundingClientRect();
      return { width, height };
    };
    /** The pane's device pixels as the browser paints it (null until it says, or where it cannot). */
    let deviceBox: Size | null = null;
    const scale = () => displayScale(pixelsRef.current, window.devicePixelRatio);

    const fit = new DesktopFit({
      measure: () => {
        const pane = panePixels(paneSize(), scale(), deviceBox);
        if (!screens.active) return pane;
        const layout = screens.measure({ width: Math.floor(pane.width), height: Math.floor(pane.height) });
        if (typeof layout === 'string') {
          setNote(layout);
          return pane;
        }
        return layout;
      },
      request: ({ width, height, screens: parts }) => !joined && stream.sendInputMessage(setDesktopSize(width, height, parts)),
    });
    const screens = new ScreenSpan({
      appName: tab.name,
      source: () => canvas(),
      scale: (ratio) => displayScale(pixelsRef.current, ratio),
      send: (message) => stream.sendInputMessage(message),
      key: (keysym, down) => rfb?.sendKey(keysym, null, down),
      changed: () => {
        rescale();
        fit.paneChanged();
      },
      ended: () => setSpanning(false),
      mac: /Mac|iPhone|iPad/.test(navigator.platform),
    });
    span.current = screens;
    const viewOnly = () => joined && stream.view.watching?.mode !== 'type';
    const stopFollowing = stream.subscribe(() => {
      if (rfb && rfb.viewOnly !== viewOnly()) rfb.viewOnly = viewOnly();
    });
    // One pixel of the frame on one device pixel (or one CSS pixel) whenever that fits the
    // pane; scaled down only while it does not (the pane just shrank and the display has
    // not followed yet). noVNC scales the frame to the surface, and the pointer with it.
    const rescale = () => {
      const drawing = canvas();
      const pane = paneSize();
      if (!rfb || !drawing || drawing.width === 0 || pane.width === 0) return; // nothing drawn yet, or the tab is hidden
      const framebuffer = { width: drawing.width, height: drawing.height };
      const by = scale();
      // Across monitors the pane shows its own screen of the desktop: the whole frame at
      // one pixel per device pixel, shifted so that screen is in the pane (which clips
      // the rest; noVNC maps the pointer through the shift, from the canvas's own box).
      const own = screens.paneRegion();
      const drawn = own ? { width: framebuffer.width / by, height: framebuffer.height / by } : drawnSize(framebuffer, pane, by);
      drawingSurface.style.marginLeft = own ? `${-own.x / by}px` : '';
      drawingSurface.style.marginTop = own ? `${-own.y / by}px` : '';
      // Sized up to Chromium's layout unit (1/64 CSS pixel): noVNC scales the frame by the
      // smaller of surface/frame in each direction, and a surface rounded down (598.667
      // laid out as 598.656) scaled the frame by 0.99998 instead of 1/1.5.
      const layoutUnit = (n: number) => Math.ceil(n * 64 - 1e-6) / 64;
      drawingSurface.style.width = `${layoutUnit(drawn.width)}px`;
      drawingSurface.style.height = `${layoutUnit(drawn.height)}px`;
      // A frame smaller than the pane (someone else's display, watched) sits in its middle; one that fills it, at its corner, on whole device pixels.
      if (!own) drawingSurface.style.margin = drawn.width < pane.width - 1 || drawn.height < pane.height - 1 ? 'auto' : '0';
      // Whole device pixels per pixel of the frame (1 when sharp, 2 for CSS pixels on a 2× screen): each an exact block, never blurred.
      const natural = Math.abs(drawn.width - framebuffer.width / by) < 0.01;
      const perPixel = window.devicePixelRatio / by;
      drawing.style.imageRendering = natural && Math.abs(perPixel - Math.round(perPixel)) < 0.01 ? 'pixelated' : '';
      // noVNC scales the frame to the surface only when the surface's whole CSS pixels
      // change (its clientWidth/Height), so a change of a fraction of one (598.67 → 599
      // at a ratio of 1.5) left the frame scaled by 0.9994 — blurred — until the next
      // resize. Setting the property scales it to the surface as it is now.
      rfb.scaleViewport = true;
    };
    const paneObserver = new ResizeObserver((entries) => {
      const box = entries.at(-1)?.devicePixelContentBoxSize?.[0];
      if (box) deviceBox = { width: box.inlineSize, height: box.blockSize };
      rescale();
      fit.paneChanged();
    });
    try {
      paneObserver.observe(target, { box: 'device-pixel-content-box' });
    } catch {
      paneObserver.observe(target); // a browser that cannot count device pixels (Safari): CSS size × ratio
    }
    // The window moved to a screen of another pixel ratio (or the page was zoomed): the
    // pane has other device pixels. Browsers say so with a media query's change, and with
    // a resize of the window; either is taken.
    let ratioQuery: MediaQueryList | null = null;
    let watchedRatio = 0;
    const ratioChanged = () => {
      watchRatio();
      deviceBox = null; // until the pane observer counts them again
      rescale();
      fit.paneChanged();
    };
    const watchRatio = () => {
      ratioQuery?.removeEventListener('change', ratioChanged);
      watchedRatio = window.devicePixelRatio;
      ratioQuery = window.matchMedia(`(resolution: ${watchedRatio}dppx)`);
      ratioQuery.addEventListener('change', ratioChanged);
    };
    const windowResized = () => {
      if (window.devicePixelRatio !== watchedRatio) ratioChanged();
    };
    watchRatio();
    window.addEventListener('resize', windowResized);
    refit.current = () => {
      rescale();
      fit.paneChanged();
    };
    // noVNC resizes its canvas to the framebuffer whenever the display's size changes.
    const framebufferObserver = new MutationObserver(rescale);

    const start = () => {
      const mine = new SessionChannel(stream, (why) => setNote(`The display refused what this client sent: ${why}`));
      channel = mine;
      drawn = false;
      const next = new RFB(drawingSurface, mine, { shared: true });
      next.viewOnly = viewOnly();
      next.resizeSession = false; // DesktopFit asks instead (rfb-fit.ts says why)
      next.scaleViewport = true; // to the surface, which rescale() sizes
      next.focusOnClick = false; // the pane's focus is the textarea, not noVNC's canvas
      next.background = '#0b0f14';
      next.addEventListener('clipboard', (event) => {
        const text = (event as CustomEvent<{ text: string }>).detail.text;
        if (text.length > MAX_CUT_TEXT) return setNote(`Text copied in ${tab.name} is over ${MAX_CUT_TEXT / 1024} KiB and was not put on your clipboard.`);
        sentClipboard = text;
        navigator.clipboard?.writeText(text).catch(() => setNote('Text copied in the app could not be put on your clipboard (this window needs focus).'));
      });
      next.addEventListener('connect', () => {
        if (rfb !== next) return;
        const drawing = canvas();
        if (drawing) {
          framebufferObserver.disconnect();
          framebufferObserver.observe(drawing, { attributes: true, attributeFilter: ['width', 'height'] });
          // The display as this viewer found it (another window's size, after a resume elsewhere): ask for this pane's.
          if (!joined) fit.viewerConnected({ width: drawing.width, height: drawing.height });
        }
        rescale();
        input.focus({ preventScroll: true });
      });
      rfb = next;
    };

    // Local clipboard → the app, whenever the view is used (the browser lets us read it then).
    const syncClipboard = () => {
      navigator.clipboard
        ?.readText()
        .then((text) => {
          if (!rfb || text === sentClipboard || text.length === 0) return;
          if (text.length > MAX_CUT_TEXT) return setNote(`Your clipboard holds over ${MAX_CUT_TEXT / 1024} KiB of text; it was not sent to ${tab.name}.`);
          sentClipboard = text;
          rfb.clipboardPasteFrom(text);
        })
        .catch(() => {});
    };
    // A click anywhere on the display gives the pane the keyboard (noVNC no longer takes it
    // for its canvas), and the browser's own handling of the press, which would move the
    // focus off again where the click is beside the canvas, is cancelled.
    const takeFocus = () => input.focus({ preventScroll: true });
    const keepFocus = (event: MouseEvent) => event.preventDefault();
    target.addEventListener('focusin', syncClipboard);
    target.addEventListener('pointerdown', syncClipboard);
    target.addEventListener('pointerdown', takeFocus);
    target.addEventListener('mousedown', keepFocus);
    // Keysyms alone (code null): never the US key positions of QEMU's extended key events (rfb-keys.ts says why).
    const stopCatching = catchText(input, {
      key: (keysym, down) => rfb?.sendKey(keysym, null, down),
      mac: /Mac|iPhone|iPad/.test(navigator.platform),
    });

    start();
    stream.setSink({
      write: (data, done) => {
        channel?.receive(data);
        done();
        if (!drawn) {
          drawn = true;
          // The old frame goes once the new viewer has had a frame to draw.
          setTimeout(() => setLastFrame(null), 150);
        }
      },
      reset: () => {
        const drawing = canvas();
        if (drawing && drawing.width > 0) setLastFrame(drawing.toDataURL());
        fit.viewerLost();
        framebufferObserver.disconnect();
        channel?.close();
        rfb?.disconnect();
        start();
      },
    });
    return () => {
      stopFollowing();
      target.removeEventListener('focusin', syncClipboard);
      target.removeEventListener('pointerdown', syncClipboard);
      target.removeEventListener('pointerdown', takeFocus);
      target.removeEventListener('mousedown', keepFocus);
      stopCatching();
      paneObserver.disconnect();
      ratioQuery?.removeEventListener('change', ratioChanged);
      window.removeEventListener('resize', windowResized);
      refit.current = null;
      screens.stop();
      span.current = null;
      framebufferObserver.disconnect();
      fit.dispose();
      channel?.close();
      rfb?.disconnect();
    };
  }, [stream, tab.name, joined]);

  // One screen, or every monitor (a window on each other one): offered where the browser
  // can place windows on other monitors and there are some, for the owner's session.
  const toggleScreens = () => {
    const screens = span.current;
    if (!screens) return;
    if (screens.active) {
      screens.stop();
      setSpanning(false);
      refit.current?.();
      return;
    }
    void screens.start().then((problem) => {
      if (problem) setNote(problem);
      setSpanning(screens.active);
    });
  };
  const screensButton =
    !joined && (spanning || ScreenSpan.available()) ? (
      <button className="quiet" aria-pressed={spanning} onClick={toggleScreens} title={spanning ? 'Show the session in this tab only' : 'Spread the session over every screen: a window on each other screen'}>
        All screens
      </button>
    ) : null;

  return (
    <SessionFrame tab={tab} visible={visible} escapeKeys={escapeKeys} tools={screensButton}>
      {/* No aria-label here (a div without a role may not have one): the textarea inside names the display's keyboard. */}
      <div className="rfb-host" ref={host}>
        <div className="rfb-surface" ref={surface} />
        <textarea
          ref={keyboard}
          aria-label={`Keyboard input for ${tab.name}`}
          autoComplete="off"
          autoCorrect="off"
          autoCapitalize="off"
          spellCheck={false}
          style={HIDDEN_INPUT}
        />
      </div>
      {lastFrame && <img className="rfb-last-frame" src={lastFrame} alt="" aria-hidden="true" />}
      {note && (
        <p className="rfb-note" role="status">
          {note} <button onClick={() => setNote(null)}>Dismiss</button>
        </p>
      )}
    </SessionFrame>
  );
}
