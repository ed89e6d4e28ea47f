// Part "gui-networks" (issue 26): graphical sessions over the links people have, not
// loopback. The bench's RFB viewer (rfb-viewer.ts, continuous updates and fences as
// noVNC runs against TigerVNC) watches the same Xvnc two ways, each through its own
// shaping proxy (support/shaping-proxy.ts) set to the same link profile:
//   holdfast:  the session's WebSocket through the node, whose link governor chooses the
//              stream's image quality for the link it measures (broker/session/link-governor.ts);
//   reference: Debian's websockify with noVNC's default settings (quality 6, compression 2),
//              what noVNC talks to.
// For each profile (lan, broadband, vpn, mobile) and workload (gui-scroll: xterm scrolling
// text; gui-animation: a photo-like animation, every pixel changing 25 times a second):
// updates/s, bytes per update and the node's CPU per update, in ABBA blocks after a
// warm-up in which the governor finds the link; and key → frame on an idle xterm.
import type { LinkProfile } from '../support/shaping-proxy.js';
import { fpsBlockContinuous, fpsOf, keyBlock, QUIET_MS, r, type FpsBlock } from './rfb-measure.js';
import { openPair, type PairSetup } from './rfb-reference.js';
import { roundStats, stats } from './stats.js';

export interface GuiNetworksOptions extends PairSetup {
  profiles: LinkProfile[];
  /** Sets both paths' proxies to `profile`. */
  setLink(profile: LinkProfile): void;
  blocks: number;
  blockMs: number;
  /** Each path runs this long before its blocks: the governor finds the link. */
  warmupMs: number;
  keyPresses: number;
  progress?(line: string): void;
}

export const WORKLOADS = ['gui-scroll', 'gui-animation'] as const;
/** The budget (issue 26), on broadband, vpn and mobile, for the fast-changing workload. */
export const BUDGET = { updatesPerSecondAtLeast: 1.5, bytesPerUpdateAtMost: 0.7, keyToFrameP50AtMost: 1.0 };

export async function run(options: GuiNetworksOptions): Promise<Record<string, unknown>> {
  const progress = options.progress ?? (() => {});
  const cleanup: Array<() => Promise<unknown>> = [];
  const closeAll = async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => {});
  };
  const ratio = (a: number | null | undefined, b: number | null | undefined) => (a != null && b != null && b !== 0 ? r(a / b, 2) : null);
  const profiles: Record<string, unknown> = {};
  const verdicts: Record<string, boolean> = {};
  const failures: string[] = [];
  /** One workload on one profile: a warm-up per path, then ABBA blocks of continuous updates. */
  const measure = async (app: string) => {
    const pair = await openPair(app, options, cleanup, true);
    await fpsBlockContinuous(pair.holdfast, options.warmupMs);
    await fpsBlockContinuous(pair.reference, options.warmupMs);
    const blocks: FpsBlock[] = [];
    for (let b = 0; b < options.blocks; b++) {
      const order = b % 2 === 0 ? [pair.holdfast, pair.reference] : [pair.reference, pair.holdfast];
      for (const v of order) blocks.push(await fpsBlockContinuous(v, options.blockMs, pair.relayPids[v.path]));
    }
    const holdfast = fpsOf(blocks, 'holdfast', pair);
    const reference = fpsOf(blocks, 'reference', pair);
    return {
      holdfast,
      reference,
      ratioUpdatesPerSecond: ratio(holdfast.updatesPerSecond, reference.updatesPerSecond),
      ratioBytesPerUpdate: ratio(holdfast.bytesPerUpdate, reference.bytesPerUpdate),
      referenceRetries: pair.referenceRetries,
    };
  };
  const keyToFrame = async (quietMs: number) => {
    const echo = await openPair('gui-echo', options, cleanup);
    const counter = { n: 0 };
    await keyBlock(echo.holdfast, 5, counter, [], quietMs);
    await echo.holdfast.settle();
    await keyBlock(echo.reference, 5, counter, [], quietMs);
    await echo.reference.settle();
    const ms: Record<'holdfast' | 'reference', number[]> = { holdfast: [], reference: [] };
    const per = Math.ceil(options.keyPresses / 4);
    for (let b = 0; b < 4; b++) {
      for (const v of b % 2 === 0 ? [echo.holdfast, echo.reference] : [echo.reference, echo.holdfast]) {
        await keyBlock(v, per, counter, ms[v.path], quietMs);
        await v.settle();
      }
    }
    return ms;
  };
  try {
    for (const profile of options.profiles) {
      options.setLink(profile);
      const workloads: Record<string, unknown> = {};
      for (const app of WORKLOADS) {
        // A pair that fails is opened again once (counted): Xvnc has been seen closing the
        // node's connections under the animation ("the display closed the connection").
        let result: Awaited<ReturnType<typeof measure>> | null = null;
        for (let attempt = 1; !result; attempt++) {
          try {
            result = await measure(app);
          } catch (error) {
            await closeAll();
            if (attempt >= 2) throw error;
            failures.push(`${profile.name} ${app}: ${error instanceof Error ? error.message : String(error)}`);
            progress(`${profile.name} ${app} failed, measured again: ${failures.at(-1)}`);
          }
        }
        workloads[app] = result;
        progress(`${profile.name} ${app}: holdfast ${result.holdfast.updatesPerSecond}/s ${Math.round((result.holdfast.bytesPerUpdate ?? 0) / 1024)} KiB, reference ${result.reference.updatesPerSecond}/s ${Math.round((result.reference.bytesPerUpdate ?? 0) / 1024)} KiB (${result.ratioUpdatesPerSecond}× updates/s, ${result.ratioBytesPerUpdate}× bytes/update)`);
        await closeAll();
      }
      // Key → frame on an idle xterm: one update request outstanding, as rfb.ts measures
      // it, quiet for longer than the link's round trip before each press. Measured again
      // once if the pair fails (see above).
      const quietMs = Math.max(QUIET_MS, profile.rttMs + profile.jitterMs * 2 + 40);
      let ms: Record<'holdfast' | 'reference', number[]> | null = null;
      for (let attempt = 1; !ms; attempt++) {
        try {
          ms = await keyToFrame(quietMs);
        } catch (error) {
          await closeAll();
          if (attempt >= 2) throw error;
          failures.push(`${profile.name} gui-echo: ${error instanceof Error ? error.message : String(error)}`);
          progress(`${profile.name} gui-echo failed, measured again: ${failures.at(-1)}`);
        }
      }
      await closeAll();
      const [lh, lr] = [stats(ms.holdfast), stats(ms.reference)];
      const keyToFrameMs = { holdfast: roundStats(lh, 1), reference: roundStats(lr, 1), ratioP50: ratio(lh.p50, lr.p50), ratioP99: ratio(lh.p99, lr.p99) };
      progress(`${profile.name} key → frame p50: holdfast ${lh.p50?.toFixed(1)} ms, reference ${lr.p50?.toFixed(1)} ms`);
      profiles[profile.name] = { link: profile, workloads, keyToFrameMs };
      const animation = workloads['gui-animation'] as { ratioUpdatesPerSecond: number | null; ratioBytesPerUpdate: number | null };
      verdicts[profile.name] =
        profile.name === 'lan'
          ? (animation.ratioUpdatesPerSecond ?? 0) >= 0.95 && (keyToFrameMs.ratioP50 ?? Infinity) <= 1.1
          : (animation.ratioUpdatesPerSecond ?? 0) >= BUDGET.updatesPerSecondAtLeast && (animation.ratioBytesPerUpdate ?? Infinity) <= BUDGET.bytesPerUpdateAtMost && (keyToFrameMs.ratioP50 ?? Infinity) <= BUDGET.keyToFrameP50AtMost;
    }
    return {
      method:
        'the bench RFB viewer (continuous updates and fences, as noVNC) on the same Xvnc two ways, each through its own shaping proxy (support/shaping-proxy.ts) at the profile: holdfast = the session WebSocket through the node (its link governor picks the image quality), reference = websockify with noVNC defaults (quality 6, compression 2). Per profile and workload: a warm-up per path, then ABBA blocks of continuous updates; key → frame on an idle xterm, one request outstanding, ABBA.',
      budget: { rule: 'on broadband, vpn and mobile, gui-animation: holdfast updates/s ≥ 1.5× the reference AND bytes/update ≤ 0.7× AND key → frame p50 ≤ 1.0×; on lan, updates/s ≥ 0.95× and key → frame p50 ≤ 1.1× (no worse than parity)', ...BUDGET },
      profiles,
      withinBudget: Object.values(verdicts).every(Boolean),
      verdicts,
      /** Pairs that failed and were measured again, and why. */
      failures,
      settings: { blocks: options.blocks, blockMs: options.blockMs, warmupMs: options.warmupMs, keyPresses: options.keyPresses },
    };
  } finally {
    await closeAll();
  }
}
