// A session's sound as the node takes it (docs/protocol.md#sound): PCM from its sound
// server's null sink (sandbox.ts SOUND_LAUNCH), read by `parec` running as the sandbox's
// own user — the socket is the sandbox's, and what answers on it is the app's to
// choose, so no root process speaks to it — and encoded as Opus in 20 ms packets
// (libopus 1.4 compiled to WebAssembly, opusscript: no native build on a fresh machine).
// Silence is not sent: a sink nobody plays into costs a read and a compare, no encoding.
// But the first silent packet after sound is: Opus gives out what it was given 6.5 ms
// late (its lookahead), so the end of a sound that stops dead is in the packet after
// it, and without that packet the end would be lost — and come out of the encoder at
// the start of the next sound instead, seconds later (bench part 15's bursts).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import OpusScript from 'opusscript';
import { SOUND_SINK } from './sandbox.js';

export const SOUND_RATE = 48_000;
export const SOUND_CHANNELS = 2;
/** Samples per channel in one packet: 20 ms. */
export const SOUND_FRAME = 960;
const FRAME_BYTES = SOUND_FRAME * SOUND_CHANNELS * 2;
/** Opus's bit rate for a session's stereo: music-grade, well under the 128 kbit/s budget. */
const BIT_RATE = 96_000;
/** A sample this close to zero is silence (dither, rounding). */
const SILENT = 2;
/** How long the capture waits for the sound server's socket, looking every SOCKET_POLL_MS. */
const SOCKET_WAIT_MS = 10_000;
const SOCKET_POLL_MS = 100;
/** After parec ends while the sound is still wanted (the app's sound server died and its keeper starts it again), it is started again after this. */
const RESTART_MS = 300;

export interface SoundCaptureOptions {
  /** Host path of the session's sound server socket. */
  socket: string;
  /** The sandbox's own user (null: the node's, where sandboxes run without their own uids). */
  uid: number | null;
  /** One Opus packet of 20 ms; `at`: ms since the capture started, by the samples read. */
  packet: (data: Uint8Array, at: number) => void;
  log: (message: string, fields: Record<string, unknown>) => void;
}

export class SoundCapture {
  private process: ChildProcess | null = null;
  private encoder: OpusScript | null = null;
  private pending = Buffer.alloc(0);
  /** Samples (per channel) read so far: the packets' clock. */
  private samples = 0;
  /** The frame before was sound: a silent one now is still sent (see above). */
  private sounding = false;
  private stopped = false;
  private waitTimer: NodeJS.Timeout | undefined;
  /** The sound server went away and has not been heard from since (said once, not at every retry). */
  private away = false;

  constructor(private readonly options: SoundCaptureOptions) {}

  start(): void {
    let deadline = Date.now() + SOCKET_WAIT_MS;
    const begin = () => {
      if (this.stopped) return;
      if (!existsSync(this.options.socket)) {
        if (Date.now() > deadline) return this.options.log('the session has no sound: its sound server did not start', { socket: this.options.socket });
        this.waitTimer = setTimeout(begin, SOCKET_POLL_MS);
        return;
      }
      if (!this.encoder) {
        this.encoder = new OpusScript(SOUND_RATE, SOUND_CHANNELS, OpusScript.Application.AUDIO);
        this.encoder.setBitrate(BIT_RATE);
      }
      const child = spawn('parec', [`--server=unix:${this.options.socket}`, '-d', `${SOUND_SINK}.monitor`, '--raw', '--format=s16le', `--rate=${SOUND_RATE}`, `--channels=${SOUND_CHANNELS}`, '--latency-msec=20'], {
        stdio: ['ignore', 'pipe', 'ignore'],
        ...(this.options.uid !== null ? { uid: this.options.uid, gid: this.options.uid } : {}),
      });
      this.process = child;
      child.stdout!.on('data', (chunk: Buffer) => this.read(chunk));
      child.on('error', (error) => this.options.log('the session\'s sound could not be read', { error: error.message }));
      child.on('exit', () => {
        if (this.process !== child) return;
        this.process = null;
        this.pending = Buffer.alloc(0);
        if (this.stopped) return;
        if (!this.away) this.options.log('the session\'s sound server went away; reading it again once it is back', { socket: this.options.socket });
        this.away = true;
        deadline = Date.now() + SOCKET_WAIT_MS;
        this.waitTimer = setTimeout(begin, RESTART_MS);
      });
    };
    begin();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.waitTimer);
    this.process?.kill();
    this.process = null;
    this.encoder?.delete();
    this.encoder = null;
  }

  private read(chunk: Buffer): void {
    this.away = false;
    let data = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    while (data.length >= FRAME_BYTES && this.encoder) {
      const frame = data.subarray(0, FRAME_BYTES);
      data = data.subarray(FRAME_BYTES);
      const at = Math.round((this.samples / SOUND_RATE) * 1000);
      this.samples += SOUND_FRAME;
      const quiet = silent(frame);
      if (quiet && !this.sounding) continue;
      this.sounding = !quiet;
      this.options.packet(new Uint8Array(this.encoder.encode(frame, SOUND_FRAME)), at);
    }
    this.pending = Buffer.from(data);
  }
}

function silent(frame: Buffer): boolean {
  for (let i = 0; i < frame.length; i += 2) {
    const sample = frame.readInt16LE(i);
    if (sample > SILENT || sample < -SILENT) return false;
  }
  return true;
}
