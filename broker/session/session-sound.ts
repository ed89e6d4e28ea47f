// A session's sound on its way to its client (docs/protocol.md#sound): captured from the
// app's sound server (host/sound-capture.ts) only while the attached client listens, and
// sent to it as AUDIO frames — dropped, not queued, when its socket is behind.
import { encodeAudio } from '../../shared/protocol/index.js';
import { SoundCapture } from '../host/sound-capture.js';
import type { SessionPeer } from './peer.js';

/** Sound waiting in the client's socket past this is dropped, not queued: it is live, and late is worse than missing. */
const SOUND_BACKLOG = 64 * 1024;

export class SessionSound {
  private listening: { capture: SoundCapture; peer: SessionPeer } | null = null;

  constructor(
    private readonly source: { socket: string; uid: number | null },
    /** The client attached now: sound goes only to it. */
    private readonly attached: () => SessionPeer | null,
    private readonly warn: (message: string, fields: Record<string, unknown>) => void,
  ) {}

  /** `peer` listens from now on (it must be the attached client); again for the same peer changes nothing. */
  listen(peer: SessionPeer): void {
    if (this.listening?.peer === peer) return;
    this.stop();
    const capture = new SoundCapture({
      ...this.source,
      packet: (data, at) => {
        if (this.attached() !== peer) return this.stop();
        if (peer.bufferedAmount <= SOUND_BACKLOG) peer.sendBinary(encodeAudio(at, data));
      },
      log: this.warn,
    });
    this.listening = { capture, peer };
    capture.start();
  }

  /** Nobody listens (or `peer` no longer does, when given). */
  stop(peer?: SessionPeer): void {
    if (peer !== undefined && this.listening?.peer !== peer) return;
    this.listening?.capture.stop();
    this.listening = null;
  }
}
