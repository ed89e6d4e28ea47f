// Part 15's floor for the click latency (sound.ts): the same click app on the same sound
// server, read the way the node reads it, with nothing of Holdfast between. The sandbox's
// own launcher (SOUND_LAUNCH: PulseAudio with its null sink, then the app) runs here
// outside any sandbox, its directory a temporary one; `parec` reads the sink's monitor
// with the node's flags (broker/host/sound-capture.ts), and the click's onset is found in
// the raw PCM as it is read. Its PulseAudio is kept to the sandbox's scheduling (no
// raised nice level, no real-time thread: a sandbox cannot have them, and as root here
// it would take both). What Holdfast adds on top — a whole 20 ms packet before it
// is encoded, Opus, the node, the WebSocket, decoding — is the session's figure less this.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { SOUND_DIR, SOUND_LAUNCH, SOUND_SINK, SOUND_SOCKET } from '../broker/host/sandbox.js';
import { descendants } from './proc.js';
import { noteDescendants, track, untrack } from './processes.js';
import { CLICK_SCRIPT } from './sound-apps.js';
import type { ClickPath } from './sound-clicks.js';
import { onsetIndex, RATE, type Onset } from './sound-listener.js';
import { nowNs, sleep, until } from './timing.js';

/** The node's parec flags (sound-capture.ts), but for the server: the sink's monitor, raw s16le stereo at 48 kHz, 20 ms latency. */
const PAREC_FLAGS = ['-d', `${SOUND_SINK}.monitor`, '--raw', '--format=s16le', `--rate=${RATE}`, '--channels=2', '--latency-msec=20'];

export class SoundFloor implements ClickPath {
  onLine: ((line: string) => void) | null = null;
  onOnset: ((onset: Onset) => void) | null = null;
  private readonly children: ChildProcess[] = [];

  private constructor(
    private readonly app: ChildProcess,
    private readonly threshold: number,
  ) {}

  /** Starts the sound server and the click app in `dir`, and parec on its sink once the app is ready. */
  static async start(dir: string, threshold: number): Promise<SoundFloor> {
    mkdirSync(join(dir, 'pulse'), { recursive: true, mode: 0o700 });
    const socket = join(dir, SOUND_SOCKET);
    // As sandbox.ts sets it up for the app: the server's files in the sound directory, none in a home.
    const env = {
      ...process.env,
      HOME: dir,
      PULSE_SERVER: `unix:${socket}`,
      XDG_RUNTIME_DIR: dir,
      PULSE_CONFIG_PATH: join(dir, 'pulse'),
      PULSE_STATE_PATH: join(dir, 'pulse'),
      PULSE_RUNTIME_PATH: join(dir, 'pulse'),
      PULSE_COOKIE: join(dir, 'pulse', 'cookie'),
    };
    const launcher = SOUND_LAUNCH.replaceAll(SOUND_DIR, dir).replace('pulseaudio -n ', 'pulseaudio -n --high-priority=no --realtime=no ');
    if (!launcher.includes('--realtime=no')) throw new Error('SOUND_LAUNCH no longer starts `pulseaudio -n`: the floor cannot follow it');
    const app = spawn('/bin/bash', ['-c', launcher, 'holdfast-sound', '/usr/bin/python3', '-c', CLICK_SCRIPT], { env, stdio: ['pipe', 'pipe', 'ignore'] });
    const floor = new SoundFloor(app, threshold);
    floor.own(app, 'sound floor: click app');
    let text = '';
    let ready = false;
    app.stdout!.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n')) {
        const line = text.slice(0, i).replace(/\r$/, '');
        text = text.slice(i + 1);
        if (line === 'CLICK-READY') ready = true;
        floor.onLine?.(line);
      }
    });
    await until(() => ready, 15_000, 'the floor\'s click app');
    noteDescendants(app.pid!);
    const parec = spawn('parec', [`--server=unix:${socket}`, ...PAREC_FLAGS], { env, stdio: ['ignore', 'pipe', 'ignore'] });
    floor.own(parec, 'sound floor: parec');
    let pending = Buffer.alloc(0);
    parec.stdout!.on('data', (chunk: Buffer) => {
      const read = nowNs();
      // Whole sample frames only: a read can end inside one.
      const data = pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk;
      const whole = data.length - (data.length % 4);
      pending = Buffer.from(data.subarray(whole));
      if (!floor.onOnset) return;
      const index = onsetIndex(data.subarray(0, whole), floor.threshold);
      if (index >= 0) floor.onOnset({ at: read + BigInt(Math.round((index / RATE) * 1e9)), offsetMs: (index / RATE) * 1000, packetAt: 0, previousAt: null, decodeUs: 0 });
    });
    return floor;
  }

  press(bytes: string): void {
    this.app.stdin!.write(bytes);
  }

  /** The sound server's processes (PulseAudio, pacat), for their CPU. */
  serverPids(): number[] {
    return descendants(this.app.pid!).map((p) => p.pid);
  }

  private own(child: ChildProcess, label: string): void {
    this.children.push(child);
    track(child.pid!, label, (signal) => child.kill(signal));
    child.once('exit', () => untrack(child.pid!));
  }

  async stop(): Promise<void> {
    noteDescendants(this.app.pid!);
    const server = descendants(this.app.pid!);
    for (const child of this.children) child.kill('SIGTERM');
    for (const p of server) {
      try {
        process.kill(p.pid, 'SIGTERM');
      } catch {
        /* gone */
      }
    }
    await sleep(200);
  }
}
