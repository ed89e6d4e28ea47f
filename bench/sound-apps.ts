// Part 15's apps (sound.ts), each with `sound: true`: a sound server of its own in its
// sandbox (broker/host/sandbox.ts SOUND_LAUNCH), which they play into unconfigured.
//
// - sound-click: plays silence, and a click for every byte typed (the latency marker).
// - sound-tone and sound-noise: loop 2 s of a 440 Hz tone (the sound tests' signal,
//   test/tones.ts) or of white noise (the hardest to encode: Opus spends the most on it)
//   through paplay: the bit rate and the node's CPU while a session plays.
// - sound-quiet: a sound server nobody plays into (the node's CPU for a silent sink).
// - sound-bursts: 100 ms of 1 kHz that stop dead, every 500 ms: is each decoded whole,
//   with nothing of the one before it (sound-bursts.ts)?
//
// The click app is also run outside any sandbox, for the floor (sound-floor.ts): the
// same interpreter, the same script, the same sound server.

/** The click: 5 ms of a loud 2 kHz square wave, then the same decaying to nothing over 20 ms. */
export const CLICK_PEAK = 20_000;
/**
 * A decoded sample this loud is the click's onset. Half the peak: Opus's pre-echo and
 * the encoder's left-over lookahead after a silence stay far below it (the click's tail,
 * the last thing before a silence, has decayed to < 1 % of the peak by its end).
 */
export const CLICK_THRESHOLD = CLICK_PEAK / 2;
/** The pacat stream's requested latency: what an app that cares about latency (a game, a call) asks for. */
export const CLICK_STREAM_LATENCY_MS = 10;

/**
 * The click app (Python, the system's /usr/bin/python3). It keeps a `pacat` playback
 * stream fed with silence the way an audio callback does: a 5 ms block whenever the pipe
 * to pacat holds less than one (FIONREAD), so at most ~5 ms of sound waits in the pipe and
 * no backlog can build up (paced by a clock instead, a stall of pacat's — 1.5 s while a
 * null sink finishes its first long cycle — left 340 ms queued in the pipe for good).
 * A byte on its terminal (raw mode: no line discipline) makes the next block the click;
 * it prints when the byte arrived and when the click was written (CLOCK_MONOTONIC, ns:
 * the bench's own clock, process.hrtime, on the same machine), and the pipe's backlog
 * then: `K <arrived> W <written> Q <bytes>`. `i` prints the sound server's latencies
 * instead (`I {json}`: pactl's "Latency: N usec[, configured M usec]" of the sinks,
 * sources and the streams on them, as [N, M or -1]).
 */
export const CLICK_SCRIPT = String.raw`
import fcntl, json, os, re, select, struct, subprocess, sys, termios, time, tty
RATE = 48000
BLOCK = RATE // 200 * 4
def click():
    out = bytearray()
    for i in range(RATE * 25 // 1000):
        amp = ${CLICK_PEAK} if i < 240 else int(${CLICK_PEAK} * 2.718281828 ** (-(i - 240) / 110))
        v = amp if (i // 12) % 2 == 0 else -amp
        out += struct.pack('<hh', v, v)
    return bytes(out)
CLICK = click()
SILENCE = bytes(BLOCK)
if os.isatty(0):
    tty.setraw(0)
pacat = subprocess.Popen(['pacat', '--raw', '--format=s16le', '--rate=48000', '--channels=2', '--latency-msec=${CLICK_STREAM_LATENCY_MS}', '--stream-name=click'], stdin=subprocess.PIPE, bufsize=0)
fd = pacat.stdin.fileno()
def queued():
    return struct.unpack('i', fcntl.ioctl(fd, termios.FIONREAD, b'\0\0\0\0'))[0]
def info():
    out = {}
    for kind in ['sinks', 'sink-inputs', 'sources', 'source-outputs']:
        text = subprocess.run(['pactl', 'list', kind], capture_output=True, text=True).stdout
        out[kind] = [[int(x or -1) for x in m] for m in re.findall(r'Latency: (\d+) usec(?:, configured (\d+) usec)?', text)]
    return json.dumps(out)
def say(line):
    sys.stdout.write(line + '\r\n')
    sys.stdout.flush()
say('CLICK-READY')
queue = b''
keys = []
while True:
    ready, _, _ = select.select([0], [], [], 0.002)
    if ready:
        now = time.monotonic_ns()
        data = os.read(0, 64)
        if not data:
            break
        for byte in data:
            if byte == ord('i'):
                say('I ' + info())
            else:
                keys.append(now)
    if queued() >= BLOCK:
        continue
    if not queue and keys:
        arrived = keys.pop(0)
        queue = CLICK
        written = time.monotonic_ns()
        say('K %d W %d Q %d' % (arrived, written, queued()))
    block = queue[:BLOCK] if queue else SILENCE
    queue = queue[BLOCK:]
    os.write(fd, block)
`;

/** `K <arrived> W <written> Q <bytes>` from the click app. */
export function parseClickLine(line: string): { arrived: bigint; written: bigint; queuedBytes: number } | null {
  const m = /^K (\d+) W (\d+) Q (\d+)/.exec(line);
  return m ? { arrived: BigInt(m[1]!), written: BigInt(m[2]!), queuedBytes: Number(m[3]) } : null;
}

/** A raw 2 s loop of s16le stereo made by `generator` (Python writing to stdout), played over and over by paplay once it is ready. */
const loop = (name: string, generator: string) =>
  [`python3 -c "${generator}" > $HOME/${name}.raw`, `echo ${name.toUpperCase()}-READY`, `while true; do paplay --raw --format=s16le --rate=48000 --channels=2 $HOME/${name}.raw; done`].join('\n');

/** 440 Hz at 9000 of 32767, both channels alike: test/tones.ts's signal. */
const TONE = "import math,struct,sys; sys.stdout.buffer.write(b''.join(struct.pack('<hh', v, v) for v in (int(9000*math.sin(2*math.pi*440*i/48000)) for i in range(96000))))";
/** Uniform white noise to ±12000, each channel its own (a fixed seed: every run plays the same). */
const NOISE = "import random,struct,sys; r=random.Random(25); sys.stdout.buffer.write(struct.pack('<192000h', *(r.randint(-12000, 12000) for _ in range(192000))))";

/** sound-bursts' bursts: their length and loudness (a 1 kHz sine at this peak). */
export const BURST_MS = 100;
export const BURST_PEAK = 10_000;
/**
 * 1 kHz at BURST_PEAK for BURST_MS from 250 ms into every 500 ms, starting at phase 0 and
 * cut off mid-wave; silence between. Not from the file's start: paplay's stream starting
 * can cut the first milliseconds.
 */
const BURSTS = `import math,struct,sys; sys.stdout.buffer.write(b''.join(struct.pack('<hh', v, v) for v in (int(${BURST_PEAK}*math.sin(2*math.pi*1000*i/48000)) if (i - 12000) % 24000 < ${48 * BURST_MS} else 0 for i in range(96000))))`;

export const SOUND_APPS = [
  { id: 'sound-click', name: 'Clicks on a key (sound)', command: '/usr/bin/python3', args: ['-c', CLICK_SCRIPT], sound: true },
  { id: 'sound-tone', name: '440 Hz tone (sound)', command: '/bin/bash', args: ['-c', loop('tone', TONE)], sound: true },
  { id: 'sound-noise', name: 'White noise (sound)', command: '/bin/bash', args: ['-c', loop('noise', NOISE)], sound: true },
  { id: 'sound-quiet', name: 'A silent sound server', command: '/bin/cat', sound: true },
  { id: 'sound-bursts', name: 'Tone bursts (sound)', command: '/bin/bash', args: ['-c', loop('bursts', BURSTS)], sound: true },
];
