// The microphone tests' app: it records its default source (the person's microphone,
// fed by the node) with parecord and says "HEARD 523 Hz" once a quarter second of it
// holds a 523 Hz tone far above other notes — the tests' own tone (test/microphone.test.ts)
// or Chromium's fake capture playing a file of it (test/e2e-microphone.test.ts).
export const HEARD = 'HEARD 523 Hz';

const SCRIPT = `
import math, struct, subprocess, sys
rec = subprocess.Popen(['parecord', '--raw', '--format=s16le', '--rate=48000', '--channels=1', '--latency-msec=50'], stdout=subprocess.PIPE)
print('LISTENING', flush=True)
def power(xs, f):
    k = 2 * math.cos(2 * math.pi * f / 48000)
    s1 = s2 = 0.0
    for x in xs:
        s1, s2 = x + k * s1 - s2, s1
    return s1 * s1 + s2 * s2 - k * s1 * s2
heard = False
while True:
    block = rec.stdout.read(24000)
    if len(block) < 24000:
        break
    xs = struct.unpack('<12000h', block)
    tone = power(xs, 523)
    if not heard and tone > 1e12 and all(tone > 30 * power(xs, f) for f in (300, 440, 660, 800)):
        print('${HEARD}', flush=True)
        heard = True
`;

/** An app of the catalog that listens to its microphone. */
export const LISTENER_APP = { id: 'listener', name: 'Listener', description: 'Hears a 523 Hz tone', command: '/usr/bin/python3', args: ['-u', '-c', SCRIPT], sound: true };

/** `seconds` of a 523 Hz tone, mono 48 kHz 16-bit, as 20 ms frames of PCM. */
export function toneFrames(seconds: number, hz = 523, amplitude = 9000): Buffer[] {
  const frames: Buffer[] = [];
  for (let f = 0; f < seconds * 50; f++) {
    const frame = Buffer.alloc(960 * 2);
    for (let i = 0; i < 960; i++) frame.writeInt16LE(Math.round(amplitude * Math.sin((2 * Math.PI * hz * (f * 960 + i)) / 48_000)), i * 2);
    frames.push(frame);
  }
  return frames;
}
