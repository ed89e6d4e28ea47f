// One GUI session: noVNC drawing the app's display. noVNC speaks RFB to a channel of
// ours instead of its own WebSocket: what it sends is split into the viewer's own
// messages (sent as they come, only while connected) and input messages (keys, the
// pointer, clipboard, desktop size), which go through the session's numbered input
// queue — held while the link is down, resent once and applied once when it is back.
// After a resume the host starts a fresh RFB stream, so a new noVNC takes over; the
// last frame stays on screen, dimmed, until the new one has drawn.
import { useEffect, useRef, useState } from 'react';
import RFB, { type RfbChannel } from '@novnc/novnc';
import { MAX_CUT_TEXT, RfbClientParser } from '../../../shared/protocol/index.js';
import type { SessionStream } from '../../../shared/core/index.js';
import type { SessionTab } from '../session-tab.js';
import { SessionFrame } from './SessionFrame.js';

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

export function RfbView({ tab, visible }: { tab: SessionTab; visible: boolean }) {
  const host = useRef<HTMLDivElement>(null);
  const [lastFrame, setLastFrame] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const { stream } = tab;

  useEffect(() => {
    const target = host.current;
    if (!target) return;
    let rfb: RFB | null = null;
    let channel: SessionChannel | null = null;
    let drawn = false;
    let sentClipboard: string | null = null;

    const start = () => {
      const mine = new SessionChannel(stream, (why) => setNote(`The display refused what this client sent: ${why}`));
      channel = mine;
      drawn = false;
      const next = new RFB(target, mine, { shared: true });
      next.resizeSession = true; // the app's display follows this pane (ExtendedDesktopSize)…
      next.scaleViewport = true; // …and is scaled where it cannot
      next.focusOnClick = true;
      next.background = '#0b0f14';
      next.addEventListener('clipboard', (event) => {
        const text = (event as CustomEvent<{ text: string }>).detail.text;
        if (text.length > MAX_CUT_TEXT) return setNote(`Text copied in ${tab.name} is over ${MAX_CUT_TEXT / 1024} KiB and was not put on your clipboard.`);
        sentClipboard = text;
        navigator.clipboard?.writeText(text).catch(() => setNote('Text copied in the app could not be put on your clipboard (this window needs focus).'));
      });
      next.addEventListener('connect', () => next.focus());
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
    target.addEventListener('focusin', syncClipboard);
    target.addEventListener('pointerdown', syncClipboard);

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
        const canvas = target.querySelector('canvas');
        if (canvas && canvas.width > 0) setLastFrame(canvas.toDataURL());
        channel?.close();
        rfb?.disconnect();
        start();
      },
    });
    return () => {
      target.removeEventListener('focusin', syncClipboard);
      target.removeEventListener('pointerdown', syncClipboard);
      channel?.close();
      rfb?.disconnect();
    };
  }, [stream, tab.name]);

  return (
    <SessionFrame tab={tab} visible={visible}>
      <div className="rfb-host" ref={host} aria-label={`${tab.name} display`} />
      {lastFrame && <img className="rfb-last-frame" src={lastFrame} alt="" aria-hidden="true" />}
      {note && (
        <p className="rfb-note" role="status">
          {note} <button onClick={() => setNote(null)}>Dismiss</button>
        </p>
      )}
    </SessionFrame>
  );
}
