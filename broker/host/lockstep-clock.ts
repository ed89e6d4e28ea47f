// The host's side of the lockstep shim (lockstep/holdfast-lockstep.c): one replica's
// "clock" file, which every process in its sandbox maps read-only, and its process
// table, which they map read-write.
//
// The clock holds the session's random key and start (the same on every replica), the
// app's terminal (its device, so the shim knows which reads are the person's input),
// and the log entries applied: for each, its time — stamped by the primary — and where
// its bytes end in the terminal's input (cumulative). A process that reads n bytes of
// the terminal takes the time of the entry those bytes came from, wherever the
// replica's timing put them: the shim counts the bytes every process has read (in the
// process table) and looks the count up here. Entries are published before their
// bytes are written, so a read never outruns them.
//
// Layout, little-endian: [0,8) magic, [8,40) key, [40,48) start µs, [48,56) terminal
// st_dev, [56,64) terminal st_rdev, [64,72) a hint (an entry number at or below the
// last, every HINT_EVERY entries), [96,…) a ring of RING entries {end, time µs, seq,
// check = end ^ time ^ seq ^ CHECK}, entry `seq` at slot (seq - 1) % RING. One
// write(2) of 32 bytes per entry (on the keystroke path: no BigInt); the shim finds the
// last entry by following the ring from the hint, and a slot caught half-written fails
// its check (not there yet). [72,80) says whether the replica fast-forwards, and after
// the ring come the primary's process clocks it fast-forwards to (TARGET_SLOTS slots
// {pid, clock µs}, a pid's at pid % TARGET_SLOTS). The process table
// (PROC_TABLE_BYTES, zeroed: slots {pid, clock µs, reads, -}, a pid's at pid %
// PROC_SLOTS; slot 0 {-, terminal bytes read, terminal mode changes, -}) is written by
// the shim; a primary's host reads it for its standbys, every host its mode changes.
import { closeSync, existsSync, openSync, readSync, writeSync, ftruncateSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAGIC = 0x365453484f4c4448n;
const CHECK_HI = 0x6b636f6c;
const CHECK_LO = 0x6b636f6c;
const START = 40;
const TERMINAL = 48;
const HINT = 64;
const FAST_FORWARD = 72;
const RING_AT = 96;
const SLOT = 32;
/** How often the hint moves on: the shim follows at most this many slots from it. */
const HINT_EVERY = 256;
/**
 * Entries the shim can look back over (RING in the shim): 1 MiB of /dev/shm at most,
 * allocated as entries are written. A process 65,536 entries behind its input (or that
 * many bytes erased in cooked mode, which no read counts) takes the oldest's time.
 */
export const RING = 65536;
const TARGET_SLOTS = 65536;
const TARGETS_AT = RING_AT + RING * SLOT;
const SIZE = TARGETS_AT + TARGET_SLOTS * 16;
const TWO_32 = 2 ** 32;
const PROC_SLOTS = 65536;
/** 65,536 slots of 32 bytes (PROC_SLOTS in the shim); sparse: a slot's page is only allocated once a pid uses it. */
export const PROC_TABLE_BYTES = PROC_SLOTS * 32;
/** Slot 0's third word: the terminal's mode changes. */
const MODES_AT = 16;
/**
 * Slots past the highest pid seen that a read of the process table also looks at (new
 * processes; pids are handed out in order, and a burst of more is found by the next
 * reads). A primary reads the table before every entry it applies, on the keystroke's
 * path: 256 slots are 8 KB, about 3 µs (1,024 took 4.7; micro-benchmark, an empty table).
 */
const PROC_READ_AHEAD = 256;

/** Where a sandbox finds the shim and its clock (read-only binds). */
export const LOCKSTEP_DIR = '/run/lockstep';
export const LOCKSTEP_LIBRARY = `${LOCKSTEP_DIR}/libholdfast-lockstep.so`;
export const LOCKSTEP_CLOCK = `${LOCKSTEP_DIR}/clock`;
export const LOCKSTEP_PROCS = `${LOCKSTEP_DIR}/procs`;

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

/** What a session does with its replica's process clocks: a primary reads them for its standbys, a replica catching up follows them. */
export interface ProcessClocks {
  /** The session's start (µs): what the app's first processes' clocks begin at. */
  readonly startUs: number;
  readClocks(): Map<number, number>;
  readModes(): number;
  fastForward(on: boolean): void;
  raise(clocks: Iterable<readonly [number, number]>): void;
}

export class LockstepClock implements ProcessClocks {
  /** The clock file, and the process table (host paths). */
  readonly path: string;
  readonly procsPath: string;
  readonly startUs: number;
  private readonly fd: number;
  private last = 0;
  /** Bytes written to the app's terminal through the last entry, and entries published. */
  private end = 0;
  private seq = 0;
  private readonly slot = Buffer.alloc(SLOT);
  private readonly hint = Buffer.alloc(8);
  /** The targets written (pid → µs): they only rise. */
  private readonly targets = new Map<number, number>();
  /** For reading the process table: its descriptor, a buffer, and the highest pid seen in it. */
  private procsFd: number | null = null;
  private table = Buffer.alloc(0);
  /** A word of the process table, read on its own (readModes). */
  private readonly word = Buffer.alloc(8);
  private highestPid = 0;

  /** Creates the clock and process table in `dir` for a replica whose session has this key and started at `startUs`. */
  constructor(dir: string, key: Uint8Array, startUs: number) {
    if (key.length !== 32) throw new Error('a lockstep key has 32 bytes');
    this.path = join(dir, 'clock');
    this.procsPath = join(dir, 'procs');
    const initial = Buffer.alloc(RING_AT);
    initial.writeBigUInt64LE(MAGIC, 0);
    initial.set(key, 8);
    initial.writeBigInt64LE(BigInt(Math.trunc(startUs)), START);
    // Readable by the sandbox's own user (its directory is its own, mode 0700). Sparse:
    // the ring's pages are allocated as entries fill them.
    this.fd = openSync(this.path, 'w+', 0o644);
    ftruncateSync(this.fd, SIZE);
    writeSync(this.fd, initial, 0, RING_AT, 0);
    // Written by the sandbox's processes (the caller gives it to the sandbox's user).
    const procs = openSync(this.procsPath, 'w+', 0o600);
    ftruncateSync(procs, PROC_TABLE_BYTES);
    closeSync(procs);
    this.last = this.startUs = Math.trunc(startUs);
  }

  /** The app's terminal, as stat(2) of its device gives it: reads of it are the person's input. */
  setTerminal(dev: number, rdev: number): void {
    const ids = Buffer.alloc(16);
    ids.writeBigUInt64LE(BigInt(dev), 0);
    ids.writeBigUInt64LE(BigInt(rdev), 8);
    writeSync(this.fd, ids, 0, 16, TERMINAL);
  }

  /**
   * An entry is applied: its time (µs since the epoch), and how many bytes of it are
   * about to be written to the app's terminal (0 for a resize, or input that goes elsewhere).
   */
  set(timeUs: number, terminalBytes = 0): void {
    // Never backwards, even if the primary's clock stepped back.
    const time = (this.last = Math.max(Math.trunc(timeUs), this.last));
    const end = (this.end += terminalBytes);
    const seq = (this.seq += 1);
    const slot = this.slot;
    writeUint64(slot, 0, end);
    writeUint64(slot, 8, time);
    writeUint64(slot, 16, seq);
    const lo = (end >>> 0) ^ (time >>> 0) ^ (seq >>> 0) ^ CHECK_LO;
    const hi = Math.floor(end / TWO_32) ^ Math.floor(time / TWO_32) ^ Math.floor(seq / TWO_32) ^ CHECK_HI;
    slot.writeUInt32LE(lo >>> 0, 24);
    slot.writeUInt32LE(hi >>> 0, 28);
    writeSync(this.fd, slot, 0, SLOT, RING_AT + ((seq - 1) % RING) * SLOT);
    if (seq % HINT_EVERY === 0) {
      writeUint64(this.hint, 0, seq);
      writeSync(this.fd, this.hint, 0, 8, HINT);
    }
  }

  /**
   * A replica that starts after its session fast-forwards its app's timers to the
   * primary's process clocks (raise); off once it is promoted (its timers run in real time).
   */
  fastForward(on: boolean): void {
    const flag = Buffer.alloc(8);
    flag[0] = on ? 1 : 0;
    writeSync(this.fd, flag, 0, 8, FAST_FORWARD);
  }

  /** The primary's process clocks (pid → µs) at a log entry this replica has applied: its processes may catch up to them. */
  raise(clocks: Iterable<readonly [number, number]>): void {
    const slot = Buffer.alloc(16);
    for (const [pid, clock] of clocks) {
      if (!(pid > 0) || clock <= (this.targets.get(pid) ?? 0)) continue;
      this.targets.set(pid, clock);
      // Clock first, pid last: the shim reads a slot whose pid is not yet its own as "no target".
      writeUint64(slot, 0, pid);
      writeUint64(slot, 8, clock);
      writeSync(this.fd, slot, 8, 8, TARGETS_AT + (pid % TARGET_SLOTS) * 16 + 8);
      writeSync(this.fd, slot, 0, 8, TARGETS_AT + (pid % TARGET_SLOTS) * 16);
    }
  }

  /**
   * Every process's clock as the shim published it (pid → µs), read from the process
   * table up to a little past the highest pid seen (a sandbox's pids start at 1 and grow).
   */
  readClocks(): Map<number, number> {
    const clocks = new Map<number, number>();
    const slots = Math.min(PROC_SLOTS, this.highestPid + PROC_READ_AHEAD);
    if (this.procsFd === null) this.procsFd = openSync(this.procsPath, 'r');
    if (this.table.length < slots * 32) this.table = Buffer.alloc(slots * 32);
    const read = readSync(this.procsFd, this.table, 0, slots * 32, 0);
    const words = new Uint32Array(this.table.buffer, this.table.byteOffset, read >>> 2);
    // Slot 0 counts terminal bytes read (no pid is 0).
    for (let i = 8; i + 3 < words.length; i += 8) {
      const pid = words[i]!;
      if (pid === 0) continue;
      clocks.set(pid, words[i + 2]! + words[i + 3]! * TWO_32);
      if (pid > this.highestPid) this.highestPid = pid;
    }
    return clocks;
  }

  /**
   * How many times the app has set its terminal's mode (tcsetattr): a point in its run
   * that input is paced by (input-log.ts), as the shim counts it in the process table.
   */
  readModes(): number {
    if (this.procsFd === null) this.procsFd = openSync(this.procsPath, 'r');
    readSync(this.procsFd, this.word, 0, 8, MODES_AT);
    return this.word.readUInt32LE(0) + this.word.readUInt32LE(4) * TWO_32;
  }

  close(): void {
    for (const fd of [this.fd, this.procsFd]) {
      try {
        if (fd !== null) closeSync(fd);
      } catch {
        /* closed already */
      }
    }
  }
}

/** A non-negative integer below 2^53 as a little-endian uint64, without BigInt. */
function writeUint64(buffer: Buffer, at: number, value: number): void {
  buffer.writeUInt32LE(value >>> 0, at);
  buffer.writeUInt32LE(Math.floor(value / TWO_32), at + 4);
}
