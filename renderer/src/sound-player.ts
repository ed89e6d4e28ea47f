// Plays a session's sound (docs/protocol.md#sound) in the page: each Opus packet decoded
// by WebCodecs' AudioDecoder and scheduled on a Web Audio clock a little ahead of now (a
// small jitter buffer), through a gain (the volume and mute) and an analyser (what the
// tab's "playing" mark and its level read). After a gap — a dropped link, a packet lost,
// silence the node did not send — playback starts again just ahead of now: nothing late
// piles up, and nothing is played twice. While the browser keeps the audio clock
// suspended (no click on the page yet) packets are dropped: they would come out late.
import type { SoundSink } from '../../shared/core/index.js';
import { resumeOnGesture } from './resume-on-gesture.js';

/** How far ahead of the audio clock a packet is scheduled: covers the network's jitter between packets. */
export const JITTER_S = 0.06;
/** Sound scheduled further ahead than this is from a backlog (a tab in the background, a stall): dropped, not queued. */
const MAX_AHEAD_S = 0.3;
const RATE = 48_000;
const CHANNELS = 2;

export class SoundPlayer implements SoundSink {
  readonly context: AudioContext;
  readonly analyser: AnalyserNode;
  private readonly gain: GainNode;
  private readonly decoder: AudioDecoder;
  /** Where the next packet's sound starts, on the audio clock. */
  private next = 0;
  /** Seconds of sound scheduled since the start: never more than the time it covers (test/e2e-sound.test.ts reads it). */
  private scheduled = 0;
  private closed = false;
  private readonly stopWaking: () => void;

  /** Whether this browser can play Holdfast's sound (WebCodecs with Opus, and Web Audio). */
  static supported(): boolean {
    return typeof AudioDecoder === 'function' && typeof AudioContext === 'function';
  }

  constructor(private readonly problem: (message: string) => void) {
    this.context = new AudioContext({ sampleRate: RATE, latencyHint: 'interactive' });
    this.gain = this.context.createGain();
    this.analyser = this.context.createAnalyser();
    this.analyser.fftSize = 4096;
    this.gain.connect(this.analyser).connect(this.context.destination);
    this.decoder = new AudioDecoder({
      output: (data) => this.play(data),
      error: (error) => this.problem(`The sound could not be decoded (${error.message}); it is off.`),
    });
    this.decoder.configure({ codec: 'opus', sampleRate: RATE, numberOfChannels: CHANNELS });
    // Made without a click on the page (a tab whose sound was left on, after a reload): the next one starts it.
    void this.context.resume().catch(() => {});
    this.stopWaking = resumeOnGesture(this.context, window);
  }

  /** Whether sound comes out now; false while the browser waits for a click or a key on the page. */
  get running(): boolean {
    return this.context.state === 'running';
  }

  /** Seconds of sound scheduled so far, in all. */
  get scheduledSeconds(): number {
    return this.scheduled;
  }

  /** Calls `then` once the audio clock runs (at once if it does); returns the way to stop waiting. */
  whenRunning(then: () => void): () => void {
    if (this.running) {
      then();
      return () => {};
    }
    const changed = () => {
      if (!this.running) return;
      this.context.removeEventListener('statechange', changed);
      then();
    };
    this.context.addEventListener('statechange', changed);
    return () => this.context.removeEventListener('statechange', changed);
  }

  set volume(value: number) {
    this.gain.gain.value = value;
  }

  /** The node will not send the sound: the person is told why, and the tab's sound goes off. */
  refused(message: string): void {
    this.problem(message);
  }

  packet(at: number, data: Uint8Array): void {
    if (this.closed || this.decoder.state !== 'configured') return;
    this.decoder.decode(new EncodedAudioChunk({ type: 'key', timestamp: at * 1000, data }));
  }

  /** The loudest frequency now (Hz), and how loud it is (dB); null when nothing plays. */
  peak(): { hz: number; db: number } | null {
    const bins = new Float32Array(this.analyser.frequencyBinCount);
    this.analyser.getFloatFrequencyData(bins);
    let best = 0;
    for (let i = 1; i < bins.length; i++) if (bins[i]! > bins[best]!) best = i;
    const db = bins[best]!;
    return db > -70 ? { hz: (best * this.context.sampleRate) / this.analyser.fftSize, db } : null;
  }

  close(): void {
    this.closed = true;
    this.stopWaking();
    if (this.decoder.state !== 'closed') this.decoder.close();
    void this.context.close();
  }

  private play(data: AudioData): void {
    if (this.closed || !this.running) return data.close();
    const buffer = this.context.createBuffer(CHANNELS, data.numberOfFrames, RATE);
    for (let channel = 0; channel < CHANNELS; channel++) data.copyTo(buffer.getChannelData(channel), { planeIndex: channel, format: 'f32-planar' });
    data.close();
    const now = this.context.currentTime;
    // Behind (a gap): start again just ahead of now. Too far ahead (a backlog): drop this packet.
    if (this.next < now) this.next = now + JITTER_S;
    else if (this.next > now + MAX_AHEAD_S) return;
    const source = this.context.createBufferSource();
    source.buffer = buffer;
    source.connect(this.gain);
    source.start(this.next);
    this.next += buffer.duration;
    this.scheduled += buffer.duration;
  }
}
