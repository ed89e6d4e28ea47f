// The GUI part's measurements, one block at a time on one viewer: updates/s and bytes
// per update (one request at a time, or continuous updates), key → frame latency on an
// idle screen, and what the relay (broker node or websockify) spends meanwhile.
import { cpuSeconds, ioCalls } from './proc.js';
import type { Pair } from './rfb-reference.js';
import type { UpdateInfo } from './rfb-stream.js';
import { UPDATE_TIMEOUT_MS, fullFrame, type Viewer } from './rfb-viewer.js';
import { sleep } from './timing.js';

const KEY_A = 0x61;
const KEY_RETURN = 0xff0d;
export const QUIET_MS = 40;
export const RETURN_EVERY = 40;

export const fullFrames = async (pair: Pair) => ({ holdfast: (await fullFrame(pair.holdfast)).bytes, reference: (await fullFrame(pair.reference)).bytes });

export interface FpsBlock {
  path: string;
  updates: number;
  bytes: number;
  pixels: number;
  /** Sums over the counted updates: request sent → first byte, first byte → fully here (ms). */
  waitMs: number;
  transferMs: number;
  relayCpuSeconds: number;
  /** The part of it spent in the kernel (system calls, the loopback's TCP). */
  relaySystemSeconds: number;
  /** Messages the viewer received meanwhile: each relay sends one per read of the display's socket. */
  relayMessages: number;
  /** CPU this process (the viewers, and the bench around them) used meanwhile. */
  viewerCpuSeconds: number;
  /** Read and write system calls the relay made meanwhile (/proc/PID/io syscr, syscw). */
  relayReads: number;
  relayWrites: number;
  seconds: number;
  drainBytes: number;
  settled: boolean;
}

/** What one block counts of its updates, and what the relay spent meanwhile (from now until `stop`). */
export function blockTally(v: Viewer, relay: () => number[]) {
  const pids = relay();
  const cpu0 = cpuSeconds(pids);
  const io0 = ioCalls(pids);
  const messages0 = v.messages;
  const viewer0 = process.cpuUsage();
  const counts = { updates: 0, bytes: 0, pixels: 0, waitMs: 0, transferMs: 0 };
  return {
    counts,
    count(info: UpdateInfo, waitedMs: number): void {
      counts.updates += 1;
      counts.bytes += info.bytes;
      counts.pixels += info.pixels;
      counts.waitMs += waitedMs;
      counts.transferMs += info.at - info.startedAt;
    },
    stop() {
      const io = ioCalls(pids);
      const cpu = cpuSeconds(pids);
      const viewer = process.cpuUsage(viewer0);
      return { viewerCpuSeconds: (viewer.user + viewer.system) / 1e6, relayMessages: v.messages - messages0, relayCpuSeconds: cpu.total - cpu0.total, relaySystemSeconds: cpu.system - cpu0.system, relayReads: io.reads - io0.reads, relayWrites: io.writes - io0.writes };
    },
  };
}

/** One block: a request always outstanding for `ms`; the first update (idle damage) not counted. */
export async function fpsBlock(v: Viewer, ms: number, relay: () => number[] = () => []): Promise<FpsBlock> {
  const first = v.nextUpdate();
  v.request(true);
  const drain = await first;
  const tally = blockTally(v, relay);
  const end = performance.now() + ms;
  let finished!: () => void;
  const done = new Promise<void>((resolve) => (finished = resolve));
  v.onUpdate = (info) => {
    if (info.at <= end) {
      tally.count(info, info.startedAt - v.requestedAt);
      if (performance.now() < end) {
        v.request(true);
        return;
      }
    }
    finished();
  };
  v.request(true);
  await Promise.race([done, sleep(ms + UPDATE_TIMEOUT_MS)]);
  v.onUpdate = null;
  const spent = tally.stop();
  const settled = await v.settle();
  if (v.error) throw v.error;
  return { path: v.path, ...tally.counts, ...spent, seconds: ms / 1000, drainBytes: drain.bytes, settled };
}

/**
 * One block as noVNC runs against TigerVNC: continuous updates on for `ms` (none asked
 * for; Xvnc sends as the screen changes, paced by its frame rate and its congestion
 * control), the first update (the damage piled up while this viewer was off) not
 * counted, then off again, waiting for Xvnc's EndOfContinuousUpdates. `waitMs` here is
 * the gap from an update's last byte to the next one's first.
 */
export async function fpsBlockContinuous(v: Viewer, ms: number, relay: () => number[] = () => []): Promise<FpsBlock> {
  const first = v.nextUpdate();
  await v.setContinuous(true);
  const drain = await first;
  const tally = blockTally(v, relay);
  let lastAt = drain.at;
  const end = performance.now() + ms;
  v.onUpdate = (info) => {
    if (info.at > end) return;
    tally.count(info, Math.max(0, info.startedAt - lastAt));
    lastAt = info.at;
  };
  await sleep(ms);
  v.onUpdate = null;
  const spent = tally.stop();
  const settled = await v.setContinuous(false);
  if (v.error) throw v.error;
  return { path: v.path, ...tally.counts, ...spent, seconds: ms / 1000, drainBytes: drain.bytes, settled };
}

/** updates/s, bytes, CPU and timings of one path over its blocks. */
export function fpsOf(blocks: FpsBlock[], path: string, pair: Pair) {
  const mine = blocks.filter((x) => x.path === path);
  const updates = mine.reduce((s, x) => s + x.updates, 0);
  const bytes = mine.reduce((s, x) => s + x.bytes, 0);
  const seconds = mine.reduce((s, x) => s + x.seconds, 0);
  const pixels = mine.reduce((s, x) => s + x.pixels, 0);
  const cpu = mine.reduce((s, x) => s + x.relayCpuSeconds, 0);
  const system = mine.reduce((s, x) => s + x.relaySystemSeconds, 0);
  const messages = mine.reduce((s, x) => s + x.relayMessages, 0);
  const viewerCpu = mine.reduce((s, x) => s + x.viewerCpuSeconds, 0);
  const relayReads = mine.reduce((s, x) => s + x.relayReads, 0);
  const relayWrites = mine.reduce((s, x) => s + x.relayWrites, 0);
  const waitMs = mine.reduce((s, x) => s + x.waitMs, 0);
  const transferMs = mine.reduce((s, x) => s + x.transferMs, 0);
  return {
    updatesPerSecond: r(updates / seconds, 2),
    bytesPerUpdate: r(bytes / Math.max(1, updates), 0),
    MBs: r(bytes / seconds / 2 ** 20, 2),
    /** Mean share of the screen an update covers (its rects' area / the screen's). */
    screenPerUpdate: r(pixels / Math.max(1, updates) / (pair.holdfast.stream.width * pair.holdfast.stream.height), 3),
    /** CPU the relay used (broker node / websockify), as a share of one core, while this path was measured. */
    relayCpuShare: r(cpu / seconds, 3),
    /**
     * The relay's read and write system calls per update (null where none were counted:
     * /proc/PID/io counts read/write/readv/writev, which the node uses, but not the
     * recvfrom/sendto of websockify's Python sockets), and its CPU per update (µs).
     */
    relayReadsPerUpdate: relayReads > 0 ? r(relayReads / Math.max(1, updates), 1) : null,
    relayWritesPerUpdate: relayWrites > 0 ? r(relayWrites / Math.max(1, updates), 1) : null,
    relayCpuUsPerUpdate: r((cpu * 1e6) / Math.max(1, updates), 0),
    /** The kernel's part of relayCpuUsPerUpdate (the rest is the relay's own code, in user space). */
    relaySystemUsPerUpdate: r((system * 1e6) / Math.max(1, updates), 0),
    /**
     * Messages relayed per update (each relay sends one per read of the display's
     * socket, so this counts websockify's reads too), and the relay's CPU per message:
     * what one wake-up of the relay costs, whatever the updates' sizes.
     */
    relayMessagesPerUpdate: r(messages / Math.max(1, updates), 1),
    relayCpuUsPerMessage: r((cpu * 1e6) / Math.max(1, messages), 1),
    /** The viewer's own CPU per update (this process: the holdfast path parses and acknowledges OUTPUT frames too). */
    viewerCpuUsPerUpdate: r((viewerCpu * 1e6) / Math.max(1, updates), 0),
    /** Mean time from sending the request (continuous mode: from the last update's last byte) to the update's first byte, and from its first byte to its last. */
    requestToFirstByteMs: r(waitMs / Math.max(1, updates), 2),
    firstToLastByteMs: r(transferMs / Math.max(1, updates), 2),
    updates,
    bytes,
    seconds,
    perBlock: mine.map((x) => ({ relayCpuShare: r(x.relayCpuSeconds / x.seconds, 3), updatesPerSecond: r(x.updates / x.seconds, 2), bytesPerUpdate: r(x.bytes / Math.max(1, x.updates), 0), skippedFirstUpdateBytes: x.drainBytes, settled: x.settled })),
  };
}

/** Waits until the viewer's outstanding request has gone unanswered for QUIET_MS (bounded). */
export async function quiet(v: Viewer, quietMs = QUIET_MS): Promise<boolean> {
  const deadline = performance.now() + 3000 + 4 * quietMs;
  while (performance.now() < deadline) {
    if (!v.outstanding) v.request(true);
    const seen = v.updates;
    await sleep(quietMs);
    if (v.updates === seen) return true;
  }
  return false;
}

/** `quietMs`: how long the screen must stay quiet before a press — over a slow link, longer than its round trip (else an update already on its way is taken for the key's). */
export async function keyBlock(v: Viewer, presses: number, counter: { n: number }, samples: number[], quietMs = QUIET_MS): Promise<{ notQuiet: number; lost: number }> {
  let notQuiet = 0;
  let lost = 0;
  for (let i = 0; i < presses; i++) {
    counter.n += 1;
    if (counter.n % RETURN_EVERY === 0) {
      v.key(KEY_RETURN, true);
      v.key(KEY_RETURN, false);
      await sleep(quietMs);
    }
    if (!(await quiet(v, quietMs))) notQuiet += 1;
    const keysym = KEY_A + (counter.n % 26);
    const next = v.nextUpdate(2000);
    const t0 = performance.now();
    v.key(keysym, true);
    v.key(keysym, false);
    try {
      const info = await next;
      samples.push(info.at - t0);
    } catch {
      if (v.error) throw v.error;
      lost += 1;
    }
  }
  return { notQuiet, lost };
}

export const r = (v: number, d = 1) => (Number.isFinite(v) ? Math.round(v * 10 ** d) / 10 ** d : null);

export type EncodingReport = ReturnType<typeof encodingReport>;

/** What was sent between two reports (counts only grow). */
export function encodingDiff(after: EncodingReport, before: EncodingReport): EncodingReport {
  const sub = (a: Record<string, number>, b: Record<string, number>) => Object.fromEntries(Object.entries(a).map(([k, v]) => [k, v - (b[k] ?? 0)]));
  return {
    rects: sub(after.rects, before.rects),
    bytes: sub(after.bytes, before.bytes),
    tight: sub(after.tight, before.tight) as EncodingReport['tight'],
    bells: after.bells - before.bells,
    cutTexts: after.cutTexts - before.cutTexts,
    colourMaps: after.colourMaps - before.colourMaps,
  };
}

export function encodingReport(v: Viewer) {
  const s = v.stream;
  return { rects: { ...s.rectsByEncoding }, bytes: { ...s.bytesByEncoding }, tight: { ...s.tightKinds }, bells: s.bells, cutTexts: s.cutTexts, colourMaps: s.colourMaps };
}
