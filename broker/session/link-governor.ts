// The image quality of a graphical session's stream, chosen for the link its client is
// on (issue 26), the way TigerVNC's viewer auto-selects but on the node, so every client
// gets it — noVNC, the desktop app, anything speaking the protocol. Once a second it
// looks at the link (link-meter.ts): seen full, it takes at once the tier the link's
// capacity carries — on a fast link what noVNC asks for itself, then JPEG of falling
// quality with chroma subsampling and more zlib effort as the link narrows; not full for
// a few seconds, it tries one tier better (and after a step down, not for 15 s: a
// borderline link does not see-saw). A quiet app never makes it step down. More zlib
// effort costs Xvnc CPU, so it is spent only where the link, not the CPU, holds the
// frames back. Xvnc does the rest with its own congestion control (continuous updates
// and fences) and its lossless refresh of a still screen. Only output changes: the input
// log and lockstep do not see this.
import type { ImageQuality } from '../../shared/protocol/index.js';
import { LinkMeter } from './link-meter.js';

export interface QualityTier {
  name: string;
  /** The least capacity (bits/s) this tier is chosen at. */
  minBitsPerSecond: number;
  quality: ImageQuality;
}

/**
 * Best first. The first is noVNC's own default (quality level 6: JPEG 79 without
 * subsampling, compression 2): on a fast link a person gets what they would without
 * Holdfast. Not lossless even there: moving pictures as exact pixels cost Xvnc several
 * times the CPU and bytes of JPEG (measured: a third of the frame rate on a LAN), and a
 * still screen becomes exact anyway — Xvnc refreshes the JPEG'd areas losslessly once
 * they stop changing (TigerVNC's lossless refresh). Text and flat areas are never JPEG.
 */
export const QUALITY_TIERS: readonly QualityTier[] = [
  { name: 'fast', minBitsPerSecond: 25e6, quality: { jpeg: 79, subsampling: 'none', compress: 2 } },
  { name: 'high', minBitsPerSecond: 12e6, quality: { jpeg: 60, subsampling: '420', compress: 2 } },
  { name: 'medium', minBitsPerSecond: 4e6, quality: { jpeg: 40, subsampling: '420', compress: 6 } },
  { name: 'low', minBitsPerSecond: 0, quality: { jpeg: 20, subsampling: '420', compress: 9 } },
];

/** Where a stream starts, before anything is measured: what noVNC would ask for; a slow link is found within a second or two. */
const START_TIER = 0;
/** The link must carry the tier with this much room to spare. */
const HEADROOM = 0.8;
/** Evaluations in a row without a full link before a better tier is tried. */
const UP_AFTER = 3;
/** After stepping down, how long before a better tier is tried again: a borderline link does not see-saw every few seconds. */
const CALM_MS = 15_000;
export const GOVERN_EVERY_MS = 1000;

export interface LinkGovernorOptions {
  /** The tier's quality for the viewer's stream, whenever it changes (and at start). */
  apply(quality: ImageQuality, tier: string): void;
  now?: () => number;
  setInterval?: (run: () => void, ms: number) => NodeJS.Timeout;
  clearInterval?: (timer: NodeJS.Timeout) => void;
}

export class LinkGovernor {
  private meter = new LinkMeter();
  private tier = START_TIER;
  private roomFor = 0;
  private calmUntil = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly now: () => number;

  constructor(private readonly options: LinkGovernorOptions) {
    this.now = options.now ?? (() => performance.now());
  }

  /** The tier in use now. */
  get current(): QualityTier {
    return QUALITY_TIERS[this.tier]!;
  }

  /** A client's stream starts: measured afresh (it may be on another link than the last one). */
  start(): void {
    this.stop();
    this.meter = new LinkMeter();
    this.tier = START_TIER;
    this.roomFor = 0;
    this.calmUntil = 0;
    this.options.apply(this.current.quality, this.current.name);
    this.timer = (this.options.setInterval ?? setInterval)(() => this.govern(), GOVERN_EVERY_MS);
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer) (this.options.clearInterval ?? clearInterval)(this.timer);
    this.timer = null;
  }

  sentThrough(offset: number): void {
    this.meter.sentThrough(offset, this.now());
  }

  ackedThrough(offset: number): void {
    this.meter.ackedThrough(offset, this.now());
  }

  /** Once a second: the tier the link can carry now. */
  govern(): void {
    const now = this.now();
    const filled = this.meter.capacity(now);
    if (filled !== null) {
      // Seen full: the tier it carries, at once if that is lower — and no trying higher for a while.
      const fits = QUALITY_TIERS.findIndex((tier) => tier.minBitsPerSecond <= filled * HEADROOM);
      this.roomFor = 0;
      if (fits > this.tier) {
        this.set(fits);
        this.calmUntil = now + CALM_MS;
      }
      return;
    }
    // Not full for the last few seconds: try one tier better, now and then (a quiet app costs nothing either way).
    if (this.tier === 0 || now < this.calmUntil) return;
    if (++this.roomFor >= UP_AFTER) {
      this.roomFor = 0;
      this.set(this.tier - 1);
    }
  }

  private set(tier: number): void {
    this.tier = tier;
    this.options.apply(this.current.quality, this.current.name);
  }
}
