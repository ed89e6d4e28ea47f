// Part 14's recording size (sharing.ts): how many bytes a recorded typing session adds
// to the node's recordings directory per minute. A person types shell commands into a
// recorded bash at a steady pace — keys on a fixed schedule, never waiting for the echo,
// with the typos and backspaces people make — and the .cast file's growth over that span
// is scaled to a minute. The file is the node's own copy (node.recordings.dir, by
// default stateDir/recordings/ID.cast), which the admin API serves unchanged.
import { existsSync, openSync, readSync, closeSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ProtoSession } from './protocol-client.js';
import { round } from './stats.js';
import { sleep, until } from './timing.js';

/**
 * What is typed, over and over: everyday commands, small outputs, a correction or two
 * (DEL, as a terminal sends backspace).
 */
const SCRIPT = ['ls -la\r', 'echo "build $((6*7)) done"\r', 'pwd\r', 'grpe\x7f\x7f\x7fep -c sh /etc/shells\r', 'date\r', 'uname -sr\r', 'ls /usr/bin | head -5\r', 'cd /tmp && ls\r', 'cd\r'].join('');

/** The recorder writes what it gathered every 100 ms (docs/operations.md "Recording"): this is past the next write. */
const FLUSHED_MS = 300;

export interface RecordingSize {
  keys: number;
  keysPerSecond: number;
  seconds: number;
  /** The file's growth over the typing, scaled to a minute. */
  bytesPerMinute: number;
  /** Of which, per minute: the output events, the input events (one per key), anything else (resizes). */
  outputBytesPerMinute: number;
  inputBytesPerMinute: number;
  otherBytesPerMinute: number;
  events: { output: number; input: number; other: number };
  /** The whole file once the session ended: header, the shell's start, the typing, the exit. */
  fileBytesAtEnd: number;
}

/**
 * Types into `session` (a recorded shell, its prompt shown) for `seconds` at
 * `keysPerSecond`, measuring the growth of its recording in `dir`; then ends the shell.
 */
export async function measureRecordingSize(session: ProtoSession, dir: string, seconds: number, keysPerSecond: number): Promise<RecordingSize> {
  const cast = join(dir, `${session.started.sessionId}.cast`);
  await until(() => existsSync(cast), 10_000, `the recording ${cast}`);
  await sleep(FLUSHED_MS);
  const before = statSync(cast).size;
  const keys = Math.round(seconds * keysPerSecond);
  const gapMs = 1000 / keysPerSecond;
  const t0 = performance.now();
  for (let i = 0; i < keys; i++) {
    // On a fixed schedule from the start, so a late timer does not slow the pace.
    const wait = t0 + i * gapMs - performance.now();
    if (wait > 0) await sleep(wait);
    session.input(Buffer.from(SCRIPT[i % SCRIPT.length]!, 'latin1'));
  }
  // The span: the keys at their pace, the last one's gap included.
  const spanS = (keys * gapMs) / 1000;
  await sleep(FLUSHED_MS);
  const after = statSync(cast).size;
  const events = countEvents(cast, before, after);
  const perMinute = (bytes: number) => Math.round((bytes / spanS) * 60);
  session.input(Buffer.from('\x15exit\r', 'latin1'));
  await session.waitExit(10_000).catch(() => {});
  await sleep(FLUSHED_MS);
  return {
    keys,
    keysPerSecond,
    seconds: round(spanS, 1),
    bytesPerMinute: perMinute(after - before),
    outputBytesPerMinute: perMinute(events.bytes.output),
    inputBytesPerMinute: perMinute(events.bytes.input),
    otherBytesPerMinute: perMinute(events.bytes.other),
    events: events.count,
    fileBytesAtEnd: statSync(cast).size,
  };
}

/** The events written between two sizes of the file (asciicast v2: one JSON array a line), by kind. */
function countEvents(file: string, from: number, to: number) {
  const buf = Buffer.alloc(to - from);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, buf, 0, buf.length, from);
  } finally {
    closeSync(fd);
  }
  const count = { output: 0, input: 0, other: 0 };
  const bytes = { output: 0, input: 0, other: 0 };
  for (const line of buf.toString('utf8').split('\n')) {
    if (!line) continue;
    const kind = (JSON.parse(line) as [number, string, string])[1];
    const k = kind === 'o' ? 'output' : kind === 'i' ? 'input' : 'other';
    count[k] += 1;
    bytes[k] += Buffer.byteLength(line) + 1;
  }
  return { count, bytes };
}
