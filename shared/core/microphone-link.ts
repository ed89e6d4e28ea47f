// The person's microphone on a session's connection (docs/protocol.md#microphone): the
// client asks (session.microphone on), the node answers, and only once it said yes do
// packets go out — until it says otherwise, or the connection is lost. A new connection
// (a resume, a new primary) asks again. Packets while not allowed are dropped: live
// sound that cannot go now is not kept for later.
import { encodeMicrophone } from '../protocol/index.js';

/** Whoever sends the microphone (the tab's microphone button): told what the node answered. */
export interface MicrophoneSource {
  /** The app hears the microphone now (`on`), or does not, and why (`message`, from the node). */
  answered(on: boolean, message?: string): void;
}

export interface MicrophoneWire {
  sendJson(message: { type: 'session.microphone'; on: boolean }): void;
  sendBinary(frame: Uint8Array): void;
}

export class MicrophoneLink {
  private source: MicrophoneSource | null = null;
  /** The node said yes on this connection. */
  private allowed = false;

  /** `source` sends from now (null: stops); asked at once on `wire` when there is a live one. */
  want(source: MicrophoneSource | null, wire: MicrophoneWire | null): void {
    const was = this.source;
    this.source = source;
    this.allowed = false;
    if (wire && (source || was)) wire.sendJson({ type: 'session.microphone', on: source !== null });
  }

  /** A new connection carries the session: ask again there. */
  opened(wire: MicrophoneWire): void {
    this.allowed = false;
    if (this.source) wire.sendJson({ type: 'session.microphone', on: true });
  }

  /** The connection was lost: nothing goes out until the next one says yes. */
  lost(): void {
    this.allowed = false;
  }

  /** The node's answer (session.microphone). */
  answered(on: boolean, message?: string): void {
    if (!this.source) return;
    this.allowed = on;
    this.source.answered(on, message);
  }

  /** One Opus packet: sent if the node said yes, dropped otherwise. */
  packet(data: Uint8Array, wire: MicrophoneWire | null): void {
    if (this.allowed && this.source && wire) wire.sendBinary(encodeMicrophone(data));
  }
}
