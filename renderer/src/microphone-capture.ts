// The person's microphone, captured in the page (docs/protocol.md#microphone): the
// browser's own permission prompt, then 48 kHz mono (a Web Audio context resamples
// whatever the device gives) encoded as Opus by WebCodecs' AudioEncoder in 20 ms
// packets, each handed to `packet` as it is made. Echo cancellation stays on — the
// app's own sound comes out of the same person's speakers — but noise suppression and
// automatic gain are left to the app, which knows what it records.
const RATE = 48_000;
/** Samples per callback of the capture node: ~21 ms, about one packet's worth. */
const BLOCK = 1024;
/** A voice's bit rate: Opus is transparent for speech well below this. */
const BIT_RATE = 32_000;

export class MicrophoneCapture {
  private closed = false;

  /** Whether this browser can send a microphone (media capture, Web Audio and WebCodecs' AudioEncoder). */
  static supported(): boolean {
    return typeof AudioEncoder === 'function' && typeof AudioContext === 'function' && typeof navigator.mediaDevices?.getUserMedia === 'function';
  }

  /**
   * Asks for the microphone (the browser may prompt) and starts sending. Rejects with a
   * sentence a person understands when it cannot: refused, no device, no Opus.
   */
  static async open(packet: (data: Uint8Array) => void, problem: (message: string) => void): Promise<MicrophoneCapture> {
    let media: MediaStream;
    try {
      media = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: true, noiseSuppression: false, autoGainControl: false } });
    } catch (error) {
      const name = error instanceof DOMException ? error.name : '';
      throw new Error(
        name === 'NotAllowedError'
          ? 'The browser did not let Holdfast use your microphone. Allow it in the site’s settings (the icon left of the address), then turn the microphone on again.'
          : name === 'NotFoundError'
            ? 'No microphone was found. Plug one in, then turn the microphone on again.'
            : `Your microphone could not be opened (${error instanceof Error ? error.message : String(error)}).`,
      );
    }
    const config: AudioEncoderConfig = { codec: 'opus', sampleRate: RATE, numberOfChannels: 1, bitrate: BIT_RATE };
    if (!(await AudioEncoder.isConfigSupported(config)).supported) {
      for (const track of media.getTracks()) track.stop();
      throw new Error('This browser cannot encode Opus, so it cannot send your microphone; use Chromium, Edge or the Holdfast app.');
    }
    return new MicrophoneCapture(media, config, packet, problem);
  }

  private readonly context: AudioContext;
  private readonly encoder: AudioEncoder;

  private constructor(
    private readonly media: MediaStream,
    config: AudioEncoderConfig,
    packet: (data: Uint8Array) => void,
    problem: (message: string) => void,
  ) {
    this.encoder = new AudioEncoder({
      output: (chunk) => {
        const data = new Uint8Array(chunk.byteLength);
        chunk.copyTo(data);
        packet(data);
      },
      error: (error) => problem(`Your microphone could not be encoded (${error.message}); it is off.`),
    });
    this.encoder.configure(config);
    this.context = new AudioContext({ sampleRate: RATE, latencyHint: 'interactive' });
    const input = this.context.createMediaStreamSource(media);
    // ScriptProcessorNode, not a worklet: a worklet is a module the page's CSP and bundle
    // would have to carry, for 48 k mono samples a second the main thread handles easily.
    const capture = this.context.createScriptProcessor(BLOCK, 1, 1);
    let timestamp = 0;
    capture.onaudioprocess = (event) => {
      if (this.closed || this.encoder.state !== 'configured') return;
      const samples = new Float32Array(event.inputBuffer.getChannelData(0));
      const data = new AudioData({ format: 'f32-planar', sampleRate: RATE, numberOfFrames: samples.length, numberOfChannels: 1, timestamp, data: samples });
      timestamp += (samples.length / RATE) * 1_000_000;
      this.encoder.encode(data);
      data.close();
    };
    input.connect(capture);
    // A script processor runs only while connected to the output; it writes silence there.
    capture.connect(this.context.destination);
    void this.context.resume();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const track of this.media.getTracks()) track.stop();
    if (this.encoder.state !== 'closed') this.encoder.close();
    void this.context.close();
  }
}
