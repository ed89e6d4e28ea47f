// The host's side of the lockstep shim (lockstep/holdfast-lockstep.c): one replica's
// "clock" file, which every process in its sandbox maps read-only. It holds the
// session's random key (the same on every replica) and the wall-clock time of the
// last log entry applied — set before the entry's bytes reach the app, so an app that
// wakes on input reads the same time on every replica — with when it was set (this
// host's monotonic clock: reads long after it are the app's timers, and see time
// pass). Layout, little-endian: [0,8) magic, [8,40) key, [40,72) two slots of {time µs,
// set ns}, [72,80) generation — the slot in use is slot[generation & 1]: the other one
// is written first, then the generation.
import { closeSync, existsSync, openSync, writeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const MAGIC = 0x325453484f4c4448n;
const SIZE = 80;
const SLOTS = 40;
const SLOT_SIZE = 16;
const GENERATION = 72;

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
  private generation = 0n;
  private last = 0;
  private readonly slot = Buffer.alloc(SLOT_SIZE);
  private readonly word = Buffer.alloc(8);

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
    for (const at of [SLOTS, SLOTS + SLOT_SIZE]) {
      initial.writeBigInt64LE(BigInt(Math.trunc(startUs)), at);
      initial.writeBigInt64LE(process.hrtime.bigint(), at + 8);
    }
    this.last = startUs;
    // Readable by the sandbox's own user (its directory is its own, mode 0700).
    this.fd = openSync(path, 'w+', 0o644);
    writeSync(this.fd, initial, 0, SIZE, 0);
  }

  /** The wall clock the app reads from now on: the applied entry's time (µs since the epoch). */
  set(timeUs: number): void {
    // Never backwards, even if the primary's clock stepped back.
    const time = Math.max(Math.trunc(timeUs), this.last);
    this.last = time;
    const next = this.generation + 1n;
    this.slot.writeBigInt64LE(BigInt(time), 0);
    // process.hrtime is CLOCK_MONOTONIC, the clock the shim measures the window on.
    this.slot.writeBigInt64LE(process.hrtime.bigint(), 8);
    writeSync(this.fd, this.slot, 0, SLOT_SIZE, SLOTS + SLOT_SIZE * Number(next & 1n));
    this.word.writeBigUInt64LE(next, 0);
    writeSync(this.fd, this.word, 0, 8, GENERATION);
    this.generation = next;
  }

  close(): void {
    try {
      closeSync(this.fd);
    } catch {
      /* closed already */
    }
  }
}
