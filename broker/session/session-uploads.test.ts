// How an upload shares the session's log with typing, on a simulated clock: no chunk is
// logged while a keystroke is on its way or within TYPING_GRACE_MS of the last one, a
// person who never stops typing still gets their file, while the person types the upload
// keeps to TYPING_RATE (and runs free once they stop), and no more than WINDOW chunks
// are ever unsettled. The log and the home are fakes: what reaches a real sandbox is
// test/files.test.ts's and test/files-cluster.test.ts's.
import { describe, expect, it } from 'vitest';
import type { FileOp } from '../cluster/peer-protocol.js';
import type { HomeUploads, UploadState } from '../host/home-uploads.js';
import { CHUNK_BYTES, MAX_YIELD_MS, SessionUploads, TYPING_GRACE_MS, TYPING_RATE, TYPING_SPAN_MS, WINDOW, type UploadLog } from './session-uploads.js';

const LIMITS = { maxBytes: 1 << 30 };

/** A clock that moves only when everyone waits on it. */
class Clock {
  t = 1000;
  private sleepers: Array<{ at: number; resolve: () => void }> = [];
  now = () => this.t;
  sleep = (ms: number) => new Promise<void>((resolve) => this.sleepers.push({ at: this.t + ms, resolve }));
  /** Moves to the next sleeper's time (or by `ms`), waking who is due. */
  async advance(ms?: number): Promise<void> {
    await flush();
    const next = ms === undefined ? Math.min(...this.sleepers.map((s) => s.at)) : this.t + ms;
    if (Number.isFinite(next)) this.t = Math.max(this.t, next);
    const due = this.sleepers.filter((s) => s.at <= this.t);
    this.sleepers = this.sleepers.filter((s) => s.at > this.t);
    for (const s of due) s.resolve();
    await flush();
  }
}

const flush = async () => {
  for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

class FakeLog implements UploadLog {
  entries: Array<{ op: FileOp; at: number; bytes: number }> = [];
  settled = 0;
  lastInputAt = -Infinity;
  inputUnsettled = false;
  private waiters: Array<{ index: number; resolve: () => void }> = [];
  constructor(private readonly clock: Clock) {}
  file(op: FileOp, data: Uint8Array | null = null): number {
    this.entries.push({ op, at: this.clock.t, bytes: data?.length ?? 0 });
    return this.entries.length;
  }
  whenSettled(index: number): Promise<void> {
    if (index <= this.settled) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ index, resolve }));
  }
  settleAll(): void {
    this.settled = this.entries.length;
    for (const w of this.waiters.splice(0)) w.resolve();
  }
  get unsettledChunks(): number {
    return this.entries.slice(this.settled).filter((e) => e.op.op === 'chunk').length;
  }
}

/** The home as the uploads see it: one upload, receiving, its writer always drained. */
function fakeHome(size: number): HomeUploads {
  const state: UploadState = { upload: 1, path: 'f.bin', size, key: null, received: 0, status: 'receiving', error: null, sha256: null };
  return { state: () => state, all: () => [state], drained: () => Promise.resolve(), receiving: 1 } as unknown as HomeUploads;
}

async function* body(bytes: number): AsyncIterable<Uint8Array> {
  yield new Uint8Array(bytes);
}

function uploads(clock: Clock, log: FakeLog, size: number): SessionUploads {
  log.entries.push({ op: { op: 'begin', upload: 1, path: 'f.bin', size }, at: clock.t, bytes: 0 });
  log.settled = 1;
  return new SessionUploads(log, fakeHome(size), clock.now, clock);
}

describe('an upload beside typing', () => {
  it('logs no chunk while a keystroke is unsettled or within the grace after it, then goes on', async () => {
    const clock = new Clock();
    const log = new FakeLog(clock);
    const size = 3 * CHUNK_BYTES;
    const u = uploads(clock, log, size);
    log.lastInputAt = clock.t;
    log.inputUnsettled = true;
    const writing = u.write(1, 0, body(size), false, LIMITS);
    await clock.advance(TYPING_GRACE_MS + 2);
    // Still unsettled: nothing logged, though the grace has passed.
    expect(log.entries.filter((e) => e.op.op === 'chunk')).toHaveLength(0);
    log.inputUnsettled = false;
    log.lastInputAt = clock.t;
    await clock.advance(TYPING_GRACE_MS - 1);
    expect(log.entries.filter((e) => e.op.op === 'chunk')).toHaveLength(0);
    let done = false;
    void writing.finally(() => (done = true));
    for (let i = 0; i < 100 && !done; i++) {
      await clock.advance(1);
      log.settleAll();
    }
    await writing;
    const chunks = log.entries.filter((e) => e.op.op === 'chunk');
    expect(chunks.map((c) => c.bytes)).toEqual([CHUNK_BYTES, CHUNK_BYTES, CHUNK_BYTES]);
    expect(chunks[0]!.at).toBeGreaterThanOrEqual(log.lastInputAt + TYPING_GRACE_MS);
  });

  it('still moves a chunk every MAX_YIELD_MS under a person who never stops typing', async () => {
    const clock = new Clock();
    const log = new FakeLog(clock);
    const size = 4 * CHUNK_BYTES;
    const u = uploads(clock, log, size);
    let done = false;
    const writing = u.write(1, 0, body(size), false, LIMITS).finally(() => (done = true));
    for (let i = 0; i < 10 * MAX_YIELD_MS && !done; i++) {
      log.lastInputAt = clock.t; // a keystroke every ms
      await clock.advance(1);
      log.settleAll();
    }
    await writing;
    const at = log.entries.filter((e) => e.op.op === 'chunk').map((e) => e.at);
    expect(at).toHaveLength(4);
    for (let i = 1; i < at.length; i++) expect(at[i]! - at[i - 1]!).toBeLessThanOrEqual(MAX_YIELD_MS + 1);
  });

  it('keeps to TYPING_RATE while the person types, and runs free once they stop', async () => {
    const clock = new Clock();
    const log = new FakeLog(clock);
    const size = 4096 * CHUNK_BYTES;
    const u = uploads(clock, log, size);
    let done = false;
    const writing = u.write(1, 0, body(size), false, LIMITS).finally(() => (done = true));
    // A keystroke every 100 ms for two seconds (each settled at once), then nothing.
    const typingUntil = clock.t + 2000;
    while (!done && clock.t < typingUntil + TYPING_SPAN_MS + 50) {
      if (clock.t < typingUntil && clock.t % 100 === 0) log.lastInputAt = clock.t;
      await clock.advance(1);
      log.settleAll();
    }
    const at = log.entries.filter((e) => e.op.op === 'chunk').map((e) => e.at);
    const typed = at.filter((t) => t < typingUntil);
    const bytesPerSecond = (typed.length * CHUNK_BYTES) / ((typed.at(-1)! - typed[0]!) / 1000);
    expect(typed.length).toBeGreaterThan(100); // ≥ 3 MB/s: the file still moves
    expect(bytesPerSecond).toBeLessThanOrEqual(TYPING_RATE * 1.05);
    // A second after the last keystroke the pace is off: chunks as fast as they settle.
    const free = at.filter((t) => t >= typingUntil + TYPING_SPAN_MS);
    const freePerSecond = (free.length * CHUNK_BYTES) / ((free.at(-1)! - free[0]! + 1) / 1000);
    expect(free.length).toBeGreaterThan(20);
    expect(freePerSecond).toBeGreaterThan(4 * TYPING_RATE);
    for (let i = 0; i < 10_000 && !done; i++) {
      await flush();
      log.settleAll();
    }
    await writing;
  });

  it('never has more than WINDOW chunks unsettled', async () => {
    const clock = new Clock();
    const log = new FakeLog(clock);
    const size = 5 * WINDOW * CHUNK_BYTES;
    const u = uploads(clock, log, size);
    let done = false;
    let most = 0;
    const writing = u.write(1, 0, body(size), false, LIMITS).finally(() => (done = true));
    for (let i = 0; i < 1000 && !done; i++) {
      await flush();
      most = Math.max(most, log.unsettledChunks);
      log.settleAll();
    }
    await writing;
    expect(log.entries.filter((e) => e.op.op === 'chunk')).toHaveLength(5 * WINDOW);
    expect(most).toBeLessThanOrEqual(WINDOW);
    expect(most).toBeGreaterThan(1);
  });
});
