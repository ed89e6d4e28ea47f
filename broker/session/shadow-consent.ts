// Asking a session's person whether an administrator may view it (shadowing,
// docs/protocol.md#shadowing): the question goes to the client attached now, and the
// answer comes back on its connection — the session is where the administrator's
// request and the person's answer meet. A question nobody answers in time ends as
// `timeout`; with nobody attached there is nobody to ask (`nobody`): what then happens is
// the session policy's to say, not this module's.
import type { SessionPeer, ShadowAsk } from './peer.js';

export type ShadowAnswer = 'allowed' | 'denied' | 'timeout' | 'nobody';

export class ShadowConsent {
  private readonly pending = new Map<string, { peer: SessionPeer; settle: (answer: ShadowAnswer) => void }>();

  constructor(
    /** The client attached now, if any. */
    private readonly attached: () => SessionPeer | null,
    private readonly setTimer: (fn: () => void, ms: number) => unknown = (fn, ms) => setTimeout(fn, ms),
    private readonly clearTimer: (timer: unknown) => void = (timer) => clearTimeout(timer as NodeJS.Timeout),
  ) {}

  /** Asks the person; resolves with their answer, or why there is none. */
  ask(ask: ShadowAsk): Promise<ShadowAnswer> {
    const peer = this.attached();
    if (!peer?.shadowRequest) return Promise.resolve('nobody');
    return new Promise((resolve) => {
      const timer = this.setTimer(() => this.close(ask.requestId, 'timeout'), ask.msLeft);
      this.pending.set(ask.requestId, {
        peer,
        settle: (answer) => {
          this.clearTimer(timer);
          resolve(answer);
        },
      });
      peer.shadowRequest!(ask);
    });
  }

  /** The person answered (from the client that was asked); false if nothing waits for it. */
  answer(requestId: string, peer: SessionPeer, allow: boolean): boolean {
    const waiting = this.pending.get(requestId);
    if (!waiting || waiting.peer !== peer) return false;
    this.close(requestId, allow ? 'allowed' : 'denied');
    return true;
  }

  /** The session ended, or its client went: every question still open is over. */
  closeAll(answer: ShadowAnswer): void {
    for (const requestId of [...this.pending.keys()]) this.close(requestId, answer);
  }

  private close(requestId: string, answer: ShadowAnswer): void {
    const waiting = this.pending.get(requestId);
    if (!waiting) return;
    this.pending.delete(requestId);
    waiting.peer.shadowClosed?.(requestId);
    waiting.settle(answer);
  }
}
