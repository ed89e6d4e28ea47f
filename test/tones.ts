// The sound tests' app: a 440 Hz tone, stereo, played over and over through the
// session's own sound server (paplay), once it has printed TONE-READY.
export const TONE_SCRIPT = [
  'python3 -c "import math,struct,sys; sys.stdout.buffer.write(b\'\'.join(struct.pack(\'<hh\', v, v) for v in (int(9000*math.sin(2*math.pi*440*i/48000)) for i in range(96000))))" > $HOME/tone.raw',
  'echo TONE-READY',
  'while true; do paplay --raw --format=s16le --rate=48000 --channels=2 $HOME/tone.raw; done',
].join('\n');

/** An app of the catalog that plays the tone. */
export const TONE_APP = { id: 'tone', name: 'Tone', description: 'A 440 Hz tone', command: '/bin/bash', args: ['-c', TONE_SCRIPT], sound: true };
