// The person's microphone on its way into a session (docs/protocol.md#microphone): taken
// only from the attached client that turned it on and was answered yes, bounded in rate,
// and logged like input (input-log.ts microphone) so every replica's app hears the same.
import type { SessionPeer } from './peer.js';

/** Packets a second taken from the client (Opus packets are 2.5–120 ms; browsers send 20 ms, 50 a second); more are dropped. */
const MAX_PACKETS_PER_SECOND = 100;

export class SessionMicrophone {
  /** The client whose microphone the app hears now; null: nobody's. */
  private speaker: SessionPeer | null = null;
  private windowStart = 0;
  private inWindow = 0;

  constructor(
    /** The client attached now: only its microphone counts. */
    private readonly attached: () => SessionPeer | null,
    /** Logs one packet (every replica's app hears it once applied). */
    private readonly log: (packet: Uint8Array) => void,
  ) {}

  /** `peer` (the attached client) turns its microphone on or off. */
  turn(peer: SessionPeer, on: boolean): void {
    if (on) this.speaker = peer;
    else this.stop(peer);
  }

  /** A packet from `peer`: logged if its microphone is on and within the rate; dropped otherwise (one sent just after turning off is no error). */
  packet(peer: SessionPeer, data: Uint8Array, now = performance.now()): void {
    if (this.speaker !== peer || this.attached() !== peer) return;
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.inWindow = 0;
    }
    if (++this.inWindow > MAX_PACKETS_PER_SECOND) return;
    this.log(data);
  }

  /** Nobody's microphone is heard (or `peer`'s no longer, when given). */
  stop(peer?: SessionPeer): void {
    if (peer === undefined || this.speaker === peer) this.speaker = null;
  }
}
