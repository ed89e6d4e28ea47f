// Liveness of a session's link (session-stream.ts). Browsers cannot see WebSocket
// pings, so it is checked with our own: a ping every third of the period keeps a
// healthy link talking, and silence for 80 % of it (checked every twelfth) counts as
// lost — so a dead path is found within the period. Silence counts only while this page
// was awake: after a freeze (a busy main thread, a laptop asleep) what the broker sent
// meanwhile waits in the task queue behind the check, and is not silence. Only an isolated
// freeze is forgiven: on a loaded machine every tick comes late, and a page that forgave
// each of them would never find a dead path.

export interface SilenceWatchOptions {
  /** The link counts as lost after this long without a word (the node's heartbeat period). */
  deadAfterMs: number;
  ping(): void;
  lost(reason: string): void;
  now?: () => number;
  setInterval?: (run: () => void, ms: number) => unknown;
  clearInterval?: (timer: unknown) => void;
}

/** Starts watching; `heard()` on every frame; `stop()` when the link is let go. */
export function watchSilence(options: SilenceWatchOptions): { heard(): void; stop(): void } {
  const now = options.now ?? Date.now;
  const every = options.setInterval ?? ((run: () => void, ms: number) => setInterval(run, ms));
  const cancel = options.clearInterval ?? ((timer: unknown) => clearInterval(timer as ReturnType<typeof setInterval>));
  const deadAfter = options.deadAfterMs;
  const tick = Math.max(50, Math.floor(deadAfter / 12));
  let lastHeard = now();
  let lastTick = now();
  let wasLate = false;
  let sincePing = 0;
  let done = false;
  const timer = every(() => {
    if (done) return;
    const at = now();
    const late = at - lastTick - tick > deadAfter / 3;
    // An isolated freeze is forgiven whole (the answers wait behind this tick); when ticks
    // keep coming late the machine is busy, not asleep, and silence counts as it passes.
    if (late && !wasLate) lastHeard = Math.max(lastHeard, at - tick);
    wasLate = late;
    lastTick = at;
    if (at - lastHeard > deadAfter * 0.8) {
      done = true;
      cancel(timer);
      return options.lost(`no answer from the broker for ${Math.round(deadAfter / 1000)} s`);
    }
    sincePing += tick;
    if (sincePing >= deadAfter / 3) {
      sincePing = 0;
      options.ping();
    }
  }, tick);
  return {
    heard: () => void (lastHeard = now()),
    stop: () => {
      done = true;
      cancel(timer);
    },
  };
}
