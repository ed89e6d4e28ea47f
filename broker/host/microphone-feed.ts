// The person's microphone as one replica's app hears it (docs/protocol.md#microphone):
// each Opus packet from the session's log decoded to PCM and played into the sandbox's
// microphone sink, whose monitor is the app's default source (sandbox.ts SOUND_LAUNCH).
// `pacat` plays it, running as the sandbox's own user — the socket is the sandbox's and
// what answers on it is the app's to choose, so no root process speaks to it. Live sound:
// when the app's sound server does not take it as fast as it comes (a replica replaying
// its log, a stalled server), what does not fit is dropped, never queued.
import { spawn, type ChildProcess } from 'node:child_process';
import OpusScript from 'opusscript';
import { MICROPHONE_SINK } from './sandbox.js';
import { SOUND_RATE } from './sound-capture.js';

/** Mono: what browsers capture a voice as, and half the bytes. */
export const MICROPHONE_CHANNELS = 1;
/** PCM waiting for pacat past this (250 ms of mono 16-bit) is dropped. */
const BACKLOG_BYTES = (SOUND_RATE * 2 * MICROPHONE_CHANNELS) / 4;
/** With no packet for this long the microphone is off: pacat goes, and the app hears the sink's silence. */
const IDLE_MS = 2000;
/** The most samples (per channel) one Opus packet decodes to: 120 ms. */
const MAX_PACKET_SAMPLES = (SOUND_RATE * 120) / 1000;

export interface MicrophoneFeedOptions {
  /** Host path of the session's sound server socket. */
  socket: string;
  /** The sandbox's own user (null: the node's). */
  uid: number | null;
  log: (message: string, fields: Record<string, unknown>) => void;
}

export class MicrophoneFeed {
  private decoder: OpusScript | null = null;
  private player: ChildProcess | null = null;
  private idleTimer: NodeJS.Timeout | undefined;
  /** Packets that did not decode since the last warning (a client sending garbage is logged, not per packet). */
  private bad = 0;
  private closed = false;

  constructor(private readonly options: MicrophoneFeedOptions) {}

  /** One Opus packet of the microphone: played into the app's microphone now, or dropped. */
  packet(data: Uint8Array): void {
    if (this.closed) return;
    this.decoder ??= new OpusScript(SOUND_RATE, MICROPHONE_CHANNELS, OpusScript.Application.VOIP);
    let pcm: Buffer;
    try {
      pcm = this.decoder.decode(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    } catch (error) {
      if (this.bad++ === 0) this.options.log('a microphone packet did not decode; dropped', { error: error instanceof Error ? error.message : String(error) });
      return;
    }
    if (pcm.length === 0 || pcm.length > MAX_PACKET_SAMPLES * 2 * MICROPHONE_CHANNELS) return;
    const player = this.start();
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.stopPlayer(), IDLE_MS);
    if (player.stdin!.writableLength <= BACKLOG_BYTES) player.stdin!.write(pcm);
  }

  close(): void {
    this.closed = true;
    this.stopPlayer();
    this.decoder?.delete();
    this.decoder = null;
  }

  private start(): ChildProcess {
    if (this.player) return this.player;
    const child = spawn('pacat', ['--playback', `--server=unix:${this.options.socket}`, '-d', MICROPHONE_SINK, '--raw', '--format=s16le', `--rate=${SOUND_RATE}`, `--channels=${MICROPHONE_CHANNELS}`, '--latency-msec=40'], {
      stdio: ['pipe', 'ignore', 'ignore'],
      ...(this.options.uid !== null ? { uid: this.options.uid, gid: this.options.uid } : {}),
    });
    this.player = child;
    // A sound server gone (restarting) closes the pipe: the next packet starts a new pacat.
    child.stdin!.on('error', () => {});
    child.on('error', (error) => this.options.log('the microphone could not be played to the app', { error: error.message }));
    child.on('exit', () => {
      if (this.player === child) this.player = null;
    });
    return child;
  }

  private stopPlayer(): void {
    clearTimeout(this.idleTimer);
    this.player?.stdin?.end();
    this.player?.kill();
    this.player = null;
  }
}
