// Part 15's client side of a session's sound (sound.ts): turns the session's sound on
// (session.sound), counts the AUDIO frames it gets and, when asked to, decodes each as a
// player would (Opus, 48 kHz stereo: opusscript, the libopus the node encodes with),
// finds a click's onset in the decoded PCM and hands the PCM on.
import OpusScript from 'opusscript';
import type { ClientMessage } from '../shared/protocol/index.js';
import type { ProtoSession } from './protocol-client.js';
import { nowNs } from './timing.js';

export const RATE = 48_000;
const CHANNELS = 2;
/** A WebSocket frame's header, server to client (unmasked): 2 bytes up to 125 of payload, 4 up to 65535. */
export const wsHeaderBytes = (payload: number) => (payload <= 125 ? 2 : payload <= 0xffff ? 4 : 10);

/** The first sample frame (per channel) of interleaved s16le PCM whose either channel is at least `threshold` loud; -1: none. */
export function onsetIndex(pcm: Buffer, threshold: number): number {
  for (let i = 0; i + 1 < pcm.length; i += 2) {
    const x = pcm.readInt16LE(i);
    if (x >= threshold || x <= -threshold) return Math.floor(i / (2 * CHANNELS));
  }
  return -1;
}

/** A click found in the decoded sound: when its first loud sample would play, and where it was. */
export interface Onset {
  /** ns (process.hrtime): the packet decoded, plus the onset's offset in it (a player starts a packet when it has it). */
  at: bigint;
  /** Offset of the onset in its packet, ms. */
  offsetMs: number;
  /** The packet's time on the sound's clock (ms), and the previous packet's: a gap is silence the node did not send. */
  packetAt: number;
  previousAt: number | null;
  /** µs the decoding of that packet took. */
  decodeUs: number;
}

export class SoundListener {
  packets = 0;
  payloadBytes = 0;
  /** AUDIO frames whole (their 5-byte header and the packet). */
  frameBytes = 0;
  /** The same with each WebSocket frame's header: what the link carries above TCP. */
  wsBytes = 0;
  /** Called for every decoded packet's onset while set (decode: true). */
  onOnset: ((onset: Onset) => void) | null = null;
  /** Called with every decoded packet while set (decode: true): its PCM (interleaved s16le) and its time on the sound's clock. */
  onPcm: ((pcm: Buffer, at: number) => void) | null = null;
  private decoder: OpusScript | null = null;
  private lastAt: number | null = null;

  constructor(
    private readonly session: ProtoSession,
    private readonly threshold: number,
    { decode }: { decode: boolean },
  ) {
    if (decode) this.decoder = new OpusScript(RATE, CHANNELS);
    session.client.onAudio = (data, at, frameBytes) => {
      this.packets += 1;
      this.payloadBytes += data.length;
      this.frameBytes += frameBytes;
      this.wsBytes += frameBytes + wsHeaderBytes(frameBytes);
      const previousAt = this.lastAt;
      this.lastAt = at;
      if (!this.decoder) return;
      const t0 = nowNs();
      const pcm = this.decoder.decode(data);
      const decoded = nowNs();
      this.onPcm?.(pcm, at);
      const index = this.onOnset ? onsetIndex(pcm, this.threshold) : -1;
      if (index >= 0) this.onOnset?.({ at: decoded + BigInt(Math.round((index / RATE) * 1e9)), offsetMs: (index / RATE) * 1000, packetAt: at, previousAt, decodeUs: Number(decoded - t0) / 1000 });
    };
  }

  /** Asks for the session's sound, or stops it. */
  sound(on: boolean): void {
    this.session.client.send(JSON.stringify({ type: 'session.sound', on } satisfies ClientMessage));
  }

  counts() {
    return { packets: this.packets, payloadBytes: this.payloadBytes, frameBytes: this.frameBytes, wsBytes: this.wsBytes };
  }

  close(): void {
    this.session.client.onAudio = null;
    this.decoder?.delete();
    this.decoder = null;
  }
}
