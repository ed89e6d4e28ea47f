// The image quality of a graphical session's stream, chosen for the link its client is
// on (issue 26), the way TigerVNC's viewer auto-selects but on the node, so every client
// gets it — noVNC, the desktop app, anything speaking the protocol. Once a second the
// link's measured capacity (link-meter.ts) picks a tier: on a fast link what noVNC asks
// for itself, then JPEG of falling quality with chroma subsampling and more zlib effort
// as the link narrows. It
// steps down at once when the link, filled, cannot carry the tier — never because the
// app is quiet — and up only after a few seconds of room: a burst of good acks is not a
// better link. More zlib effort costs Xvnc CPU, so it is spent only where the link, not
// the CPU, is what holds the frames back. Xvnc does the rest with
// its own congestion control (continuous updates and fences) and its lossless refresh
// of a still screen. Only output changes: the input log and lockstep do not see this.
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
/** Evaluations in a row with room for a better tier before it is taken. */
const UP_AFTER = 3;
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
    const floor = Math.max(filled ?? 0, this.meter.delivered(now) ?? 0);
    if (filled === null && floor === 0) return (this.roomFor = 0), undefined;
    const fits = QUALITY_TIERS.findIndex((tier) => tier.minBitsPerSecond <= floor * HEADROOM);
    if (fits > this.tier) {
      // Down only on a link seen full: a quiet app proves nothing against the link.
      if (filled === null) return (this.roomFor = 0), undefined;
      this.roomFor = 0;
      this.set(fits);
    } else if (fits < this.tier) {
      if (++this.roomFor >= UP_AFTER) {
        this.roomFor = 0;
        this.set(this.tier - 1);
      }
    } else this.roomFor = 0;
  }

  private set(tier: number): void {
    this.tier = tier;
    this.options.apply(this.current.quality, this.current.name);
  }
}
