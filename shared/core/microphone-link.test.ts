// The microphone's link at unit level: asked on every connection, packets only after
// the node's yes, none after a loss until asked and answered again.
import { describe, expect, it } from 'vitest';
import { MicrophoneLink } from './microphone-link.js';

function wire() {
  const sent: string[] = [];
  return { sent, sendJson: (m: { on: boolean }) => sent.push(`ask ${m.on}`), sendBinary: (f: Uint8Array) => sent.push(`packet ${f[0]}:${f[1]}`) };
}

describe('MicrophoneLink', () => {
  it('sends packets only once the node said yes, and asks again on a new connection', () => {
    const link = new MicrophoneLink();
    const first = wire();
    const answers: string[] = [];
    link.packet(Uint8Array.of(1), first);
    link.want({ answered: (on, message) => answers.push(`${on} ${message ?? ''}`) }, first);
    link.packet(Uint8Array.of(2), first);
    link.answered(true);
    link.packet(Uint8Array.of(3), first);
    link.lost();
    link.packet(Uint8Array.of(4), first);
    const second = wire();
    link.opened(second);
    link.packet(Uint8Array.of(5), second);
    link.answered(false, 'Not allowed.');
    link.packet(Uint8Array.of(6), second);
    expect(first.sent).toEqual(['ask true', 'packet 4:3']);
    expect(second.sent).toEqual(['ask true']);
    expect(answers).toEqual(['true ', 'false Not allowed.']);
  });

  it('tells the node when the person stops, and asks nothing of a new connection after', () => {
    const link = new MicrophoneLink();
    const w = wire();
    link.want({ answered: () => {} }, w);
    link.answered(true);
    link.want(null, w);
    link.packet(Uint8Array.of(1), w);
    link.answered(true); // a late yes to the earlier ask
    link.packet(Uint8Array.of(2), w);
    link.opened(w);
    link.want(null, w); // already off: nothing to say
    expect(w.sent).toEqual(['ask true', 'ask false']);
  });
});
