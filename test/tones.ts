// The sound tests' apps: a tone, stereo, played over and over through the session's own
// sound server (paplay), once it has printed TONE-READY. Two seconds of it at 48 kHz
// hold whole cycles of any whole frequency, so the loop has no click.

/** The script of an app that plays `hz`. */
export function toneScript(hz: number): string {
  return [
    `python3 -c "import math,struct,sys; sys.stdout.buffer.write(b''.join(struct.pack('<hh', v, v) for v in (int(9000*math.sin(2*math.pi*${hz}*i/48000)) for i in range(96000))))" > $HOME/tone.raw`,
    'echo TONE-READY',
    // As a real player would, it waits before trying again when the sound server is gone
    // (a test kills it) rather than respawning paplay as fast as the sandbox's CPU allows.
    'while true; do paplay --raw --format=s16le --rate=48000 --channels=2 $HOME/tone.raw || sleep 0.2; done',
  ].join('\n');
}

/** An app of the catalog that plays a `hz` tone. */
export const toneApp = (id: string, name: string, hz: number) => ({ id, name, description: `A ${hz} Hz tone`, command: '/bin/bash', args: ['-c', toneScript(hz)], sound: true });

export const TONE_SCRIPT = toneScript(440);

/** The tone most tests hear: 440 Hz. */
export const TONE_APP = toneApp('tone', 'Tone', 440);

/** Another, for a second session whose sound must not reach the first. */
export const HIGH_TONE_APP = toneApp('high-tone', 'High tone', 660);
