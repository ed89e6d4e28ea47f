// Part 15's latency loop (sound.ts): a key to the click app, the click found in the
// sound that comes back, one click at a time. The same loop times a Holdfast session
// (the click decoded from its AUDIO frames) and the floor (sound-floor.ts: the click in
// the raw PCM parec reads), so the two compare.
//
// Per click, on one clock (CLOCK_MONOTONIC: the app prints its own times, and the bench's
// process.hrtime reads the same clock on the same machine):
//   key → app     the byte's way to the app (the bench's send → the app's read)
//   app's wait    the app's read → its write of the click (it writes a block when the
//                 pipe to pacat has room: up to ~5 ms)
//   write → out   the app's write → the click's first loud sample as a player would play
//                 it: the packet decoded (or the floor's read) plus the onset's offset in it
//                 — the "app's write to the client's decoded output"
//   key → out     all of it
import type { Onset } from './sound-listener.js';
import { parseClickLine } from './sound-apps.js';
import { nowNs, sleep } from './timing.js';

/** Something to click and hear: a session of the click app, or the floor. */
export interface ClickPath {
  press(bytes: string): void;
  onLine: ((line: string) => void) | null;
  onOnset: ((onset: Onset) => void) | null;
}

export interface Click {
  keyToAppMs: number;
  appWaitMs: number;
  writeToOutputMs: number;
  keyToOutputMs: number;
  /** Bytes in the pipe to pacat as the click was written. */
  pipeBytes: number;
  onsetOffsetMs: number;
  /** The onset's packet came after a gap on the sound's clock (after silence not sent), ms; 0: right after the previous packet. */
  gapBeforeMs: number | null;
  decodeUs: number;
}

/** How long to wait for a click to come back before counting it lost. */
const LOST_MS = 1000;

/**
 * Clicks `count` times, a random 120–200 ms apart (after the previous click came back),
 * so keys fall at every phase of the app's blocks and of the node's packets.
 */
export async function clickRun(path: ClickPath, count: number, into: Click[]): Promise<{ lost: number }> {
  let lost = 0;
  for (let i = 0; i < count; i++) {
    const click = await clickOnce(path);
    if (click) into.push(click);
    else lost += 1;
    await sleep(120 + Math.random() * 80);
  }
  return { lost };
}

async function clickOnce(path: ClickPath): Promise<Click | null> {
  const got: { app: ReturnType<typeof parseClickLine>; onset: Onset | null } = { app: null, onset: null };
  let timer: NodeJS.Timeout | undefined;
  const done = new Promise<void>((resolve) => {
    const check = () => got.app && got.onset && resolve();
    path.onLine = (line) => {
      got.app ??= parseClickLine(line);
      check();
    };
    path.onOnset = (onset) => {
      got.onset ??= onset;
      check();
    };
    timer = setTimeout(resolve, LOST_MS);
  });
  const sent = nowNs();
  path.press('x');
  await done;
  clearTimeout(timer);
  path.onLine = null;
  path.onOnset = null;
  const { app, onset } = got;
  if (!app || !onset) return null;
  const ms = (from: bigint, to: bigint) => Number(to - from) / 1e6;
  return {
    keyToAppMs: ms(sent, app.arrived),
    appWaitMs: ms(app.arrived, app.written),
    writeToOutputMs: ms(app.written, onset.at),
    keyToOutputMs: ms(sent, onset.at),
    pipeBytes: app.queuedBytes,
    onsetOffsetMs: onset.offsetMs,
    gapBeforeMs: onset.previousAt === null ? null : onset.packetAt - onset.previousAt - 20,
    decodeUs: onset.decodeUs,
  };
}
