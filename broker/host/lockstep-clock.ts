// The host's side of the lockstep shim (lockstep/holdfast-lockstep.c): one replica's
// "clock" file, which every process in its sandbox maps read-only. It holds the
// session's random key (the same on every replica) and the wall-clock time of the
// last log entry applied — set before the entry's bytes reach the app, so an app that
// wakes on input reads the same time on every replica — with when it was set (this
// host's monotonic clock: reads long after it are the app's timers, and see time
// pass). Layout, little-endian: [0,8) magic, [8,40) key, [40,64) the clock {time µs,
// set µs, check = time ^ set ^ CHECK}, written in one write(2) per entry (on the
// keystroke path: no BigInt, one system call); a reader that catches it half-written
// fails the check and reads again.
import { closeSync, existsSync, openSync, writeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const MAGIC = 0x335453484f4c4448n;
const CHECK_HI = 0x6b636f6c;
const CHECK_LO = 0x6b636f6c;
const SIZE = 64;
const CLOCK = 40;
const TWO_32 = 2 ** 32;

/** Where a sandbox finds the shim and its clock (read-only binds). */
export const LOCKSTEP_DIR = '/run/lockstep';
export const LOCKSTEP_LIBRARY = `${LOCKSTEP_DIR}/libholdfast-lockstep.so`;
export const LOCKSTEP_CLOCK = `${LOCKSTEP_DIR}/clock`;

/**
 * The built shim: beside the bundled CLI in dist/broker/, or — running from source
 * (tests) — in dist/broker/ of the checkout. Null when it was not built.
 */
export function lockstepLibrary(): string | null {
  for (const candidate of ['./holdfast-lockstep.so', '../../dist/broker/holdfast-lockstep.so']) {
    const path = fileURLToPath(new URL(candidate, import.meta.url));
    if (existsSync(path)) return path;
  }
  return null;
}

export class LockstepClock {
  private readonly fd: number;
  private last = 0;
  private readonly record = Buffer.alloc(24);

  /** Creates the clock file at `path` for a replica whose session has this key and started at `startUs`. */
  constructor(
    readonly path: string,
    key: Uint8Array,
    startUs: number,
  ) {
    if (key.length !== 32) throw new Error('a lockstep key has 32 bytes');
    const initial = Buffer.alloc(SIZE);
    initial.writeBigUInt64LE(MAGIC, 0);
    initial.set(key, 8);
    // Readable by the sandbox's own user (its directory is its own, mode 0700).
    this.fd = openSync(path, 'w+', 0o644);
    writeSync(this.fd, initial, 0, SIZE, 0);
    this.set(startUs);
  }

  /** The wall clock the app reads from now on: the applied entry's time (µs since the epoch). */
  set(timeUs: number): void {
    // Never backwards, even if the primary's clock stepped back.
    const time = Math.max(Math.trunc(timeUs), this.last);
    this.last = time;
    // process.hrtime is CLOCK_MONOTONIC, the clock the shim measures its window on.
    const [seconds, nanoseconds] = process.hrtime();
    const set = seconds * 1_000_000 + Math.trunc(nanoseconds / 1000);
    const timeHi = Math.floor(time / TWO_32);
    const timeLo = time >>> 0;
    const setHi = Math.floor(set / TWO_32);
    const setLo = set >>> 0;
    const record = this.record;
    record.writeUInt32LE(timeLo, 0);
    record.writeUInt32LE(timeHi, 4);
    record.writeUInt32LE(setLo, 8);
    record.writeUInt32LE(setHi, 12);
    record.writeUInt32LE((timeLo ^ setLo ^ CHECK_LO) >>> 0, 16);
    record.writeUInt32LE((timeHi ^ setHi ^ CHECK_HI) >>> 0, 20);
    writeSync(this.fd, record, 0, 24, CLOCK);
  }

  close(): void {
    try {
      closeSync(this.fd);
    } catch {
      /* closed already */
    }
  }
}
