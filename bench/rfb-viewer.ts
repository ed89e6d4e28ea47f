// The bench's RFB viewer, speaking as noVNC does over any transport: the handshake,
// update requests (or continuous updates, answering fences), key presses, and waits
// for the next update; one ServerStream counts what arrives.
import { keyEvent, updateRequest } from '../shared/protocol/rfb.js';
import { ENCODINGS, ENCODINGS_CONTINUOUS, FENCE_ECHOED_FLAGS, FENCE_REQUEST, clientFence, enableContinuousUpdates } from './rfb-messages.js';
import { ServerStream, type UpdateInfo } from './rfb-stream.js';
import { sleep } from './timing.js';

export const UPDATE_TIMEOUT_MS = 5000;

/** The bench's RFB viewer: one ServerStream over a transport, with waits for updates. */
export class Viewer {
  readonly stream: ServerStream;
  updates = 0;
  /** An update request is outstanding (sent, its update not yet fully here). */
  outstanding = false;
  /** performance.now() when the last update request was sent. */
  requestedAt = 0;
  lastUpdate: UpdateInfo | null = null;
  onUpdate: ((info: UpdateInfo) => void) | null = null;
  error: Error | null = null;
  readonly ready: Promise<void>;
  /** Continuous mode: EndOfContinuousUpdates seen so far, and fences answered. */
  endsOfContinuous = 0;
  fences = 0;
  /** WebSocket messages received: one per read of the display's socket by either relay. */
  messages = 0;
  private waiters: Array<{ resolve: (info: UpdateInfo) => void; reject: (error: Error) => void }> = [];
  private endWaiters: Array<() => void> = [];
  private resolveReady!: () => void;
  private rejectReady!: (error: Error) => void;

  constructor(
    readonly path: 'holdfast' | 'reference',
    private readonly transport: { viewer(bytes: Uint8Array): void; input(bytes: Uint8Array): void },
    readonly continuous = false,
  ) {
    this.ready = new Promise((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.ready.catch(() => {});
    this.stream = new ServerStream({
      send: (bytes) => transport.viewer(bytes),
      ready: () => this.resolveReady(),
      update: (info) => {
        this.updates += 1;
        this.outstanding = false;
        this.lastUpdate = info;
        this.onUpdate?.(info);
        for (const w of this.waiters.splice(0)) w.resolve(info);
      },
      error: (error) => this.fail(error),
      endOfContinuous: () => {
        this.endsOfContinuous += 1;
        for (const resolve of this.endWaiters.splice(0)) resolve();
      },
      // As noVNC answers a fence request: the same payload, only the flags it knows.
      fence: (flags, payload) => {
        if (!(flags & FENCE_REQUEST)) return;
        this.fences += 1;
        transport.viewer(clientFence(flags & FENCE_ECHOED_FLAGS, payload));
      },
    }, continuous ? ENCODINGS_CONTINUOUS : ENCODINGS);
  }

  /**
   * Turns continuous updates on for the whole screen (Xvnc then sends as the screen
   * changes, unasked) or off; off resolves once the server has said so (its
   * EndOfContinuousUpdates comes after the last update it sent), or after `ms`.
   */
  setContinuous(enable: boolean, ms = UPDATE_TIMEOUT_MS): Promise<boolean> {
    const ended = enable
      ? Promise.resolve(true)
      : Promise.race([new Promise<boolean>((resolve) => this.endWaiters.push(() => resolve(true))), sleep(ms).then(() => false)]);
    this.transport.viewer(enableContinuousUpdates(enable, 0, 0, this.stream.width, this.stream.height));
    return ended;
  }

  fail(error: Error): void {
    if (this.error) return;
    this.error = error;
    this.rejectReady(error);
    for (const w of this.waiters.splice(0)) w.reject(error);
  }

  request(incremental: boolean): void {
    this.outstanding = true;
    this.requestedAt = performance.now();
    this.transport.viewer(updateRequest(incremental, 0, 0, this.stream.width, this.stream.height));
  }

  key(keysym: number, down: boolean): void {
    this.transport.input(keyEvent(down, keysym));
  }

  /** The next update to fully arrive. */
  nextUpdate(ms = UPDATE_TIMEOUT_MS): Promise<UpdateInfo> {
    if (this.error) return Promise.reject(this.error);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(new Error(`${this.path}: no update within ${ms} ms`));
      }, ms);
      const done = (info: UpdateInfo) => {
        clearTimeout(timer);
        resolve(info);
      };
      this.waiters.push({
        resolve: done,
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
    });
  }

  /** One message of the relay's stream. */
  received(data: Uint8Array): void {
    this.messages += 1;
    this.stream.push(data);
  }

  /** Waits for the outstanding request's update, if any (bounded). */
  async settle(ms = UPDATE_TIMEOUT_MS): Promise<boolean> {
    if (!this.outstanding) return true;
    try {
      await this.nextUpdate(ms);
      return true;
    } catch {
      return false;
    }
  }
}

/** Asks for the whole screen (non-incremental) and returns its update. */
export async function fullFrame(v: Viewer): Promise<UpdateInfo> {
  await v.settle();
  const next = v.nextUpdate();
  v.request(false);
  return next;
}
