// One fault of the failover part (failover.ts): a client attached through a chosen
// node, the fault (kill -9, SIGSTOP or a planned move of the primary), the time until
// its typed markers echo again, and the node log lines around it, read from the nodes.
import { nodeSocketFactory } from '../broker/cli/connect.js';
import type { ClusterStatus } from '../broker/gateway/admin-api.js';
import { HoldfastClient, type SessionStream } from '../shared/core/index.js';
import { waitForStatus, type ClusterNode, type TestCluster } from '../support/cluster-harness.js';

export type Kind = 'kill9' | 'sigstop' | 'move';
export type Gateway = 'standby' | 'other' | 'primary';

export interface Sample {
  kind: Kind;
  gateway: Gateway;
  /** Fault → first live output, ms (null: it did not come back within the bound). */
  ms: number | null;
  node: string;
  /** Sessions whose primary was on the faulted node (all fail over at once). */
  primariesOnNode: number;
  lostMs: number | null;
  backoffMs: number | null;
  streamingMs: number | null;
  attempts: number;
  resumedVia: string | null;
  newPrimary: string | null;
  /** From the new primary's log: how long its promotion took once it began. */
  promotionMs: number | null;
  /** From the new primary's log (wall clock, ms resolution): fault → "promoted to primary". */
  promotedAtMs: number | null;
  /** From the new primary's log: fault → "session resumed" for this client. */
  resumedAtMs: number | null;
  /** What the client said went wrong while it reconnected (distinct, in order). */
  clientErrors: string[];
  markers: { sent: number; seenOnce: number; odd: number };
  error?: string;
}

export const MARKER_EVERY_MS = 50;
/** Markers typed per fault at most (one line: the tty's line buffer holds 4095 bytes). */
export const MAX_MARKERS = 200;
/** How long a fault may take to come back before the sample counts as failed. */
export const LIVE_BOUND_MS = 20_000;

/**
 * A client as `holdfast connect` makes one: the session core with its defaults (connect
 * timeout 10 s, silence after 80 % of the node's heartbeat), not the tests' 5 s.
 */
export const client = (url: string) => new HoldfastClient({ brokerUrl: url, socketFactory: nodeSocketFactory });
export const CLIENT_CONNECT_TIMEOUT_MS = 10_000;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const sessionOf = (status: ClusterStatus, id: string) => status.sessions.find((s) => s.id === id);

export interface FaultPlan {
  i: number;
  kind: Kind;
  gateway: Gateway;
  id: string;
  target: string;
  via: ClusterNode;
  primariesOnNode: number;
  stopped: Set<string>;
  liveUrl: () => string;
  status: () => Promise<ClusterStatus>;
}

/** One fault: attach a client through `via`, fault `target`, time until output flows again, then restart `target`. */
export async function oneFault(c: TestCluster, plan: FaultPlan): Promise<Sample & { t0Wall: number; tEndWall: number }> {
  const { i, kind, id, target } = plan;
  const sample: Sample & { t0Wall: number; tEndWall: number } = {
    kind,
    gateway: plan.gateway,
    ms: null,
    node: target,
    primariesOnNode: plan.primariesOnNode,
    lostMs: null,
    backoffMs: null,
    streamingMs: null,
    attempts: 0,
    resumedVia: null,
    newPrimary: null,
    promotionMs: null,
    promotedAtMs: null,
    resumedAtMs: null,
    clientErrors: [],
    markers: { sent: 0, seenOnce: 0, odd: 0 },
    t0Wall: Date.now(),
    tEndWall: Date.now(),
  };
  let ann: HoldfastClient | null = null;
  let stream: SessionStream | null = null;
  let sender: NodeJS.Timeout | undefined;
  let faulted = false;
  try {
    ann = client(plan.via.url);
    await ann.signIn('ann', 'ann-pw');
    const summary = (await ann.listSessions()).find((s) => s.sessionId === id);
    if (!summary) throw new Error(`session ${id} is not listed`);
    stream = ann.attach(summary, 80, 24);
    // Output as it arrives: all of it (for the warm-up), and after the fault (for the markers).
    let text = '';
    let after = '';
    let t0 = 0;
    let tLive: number | null = null;
    /** A move counts only output after the link was lost: the old primary echoes until the handover. */
    let counting = kind !== 'move';
    let counted = '';
    let wake: (() => void) | null = null;
    const live = new RegExp(`m${i}\\.\\d+;`);
    stream.setSink({
      write: (data, done) => {
        const now = performance.now();
        const chunk = Buffer.from(data).toString('latin1');
        text += chunk;
        if (t0 > 0) {
          after += chunk;
          if (counting) counted += chunk;
          if (tLive === null && live.test(counted)) tLive = now;
        }
        done();
        wake?.();
      },
      reset: () => {},
    });
    const until = async (ok: () => boolean, ms: number, what: string) => {
      const deadline = performance.now() + ms;
      while (!ok()) {
        const left = deadline - performance.now();
        if (left <= 0) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(left, 50));
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = null;
      }
    };
    await stream.ready();
    // Warm up: one line through the whole path, drained (tty echo and cat's copy).
    const warm = `w${i}`;
    stream.sendInput(`${warm}\r`);
    await until(() => text.split(warm).length - 1 >= 2, 5000, 'the warm-up echo');
    await sleep(50);

    const s = stream;
    let lost: number | null = null;
    let streaming: number | null = null;
    s.subscribe((view) => {
      if (t0 === 0) return;
      const now = performance.now();
      if (view.status === 'reconnecting' && lost === null) {
        lost = now;
        counting = true;
        if (view.nextTryAt !== null) sample.backoffMs = Math.max(0, view.nextTryAt - Date.now());
      }
      if (view.status === 'streaming' && lost !== null && streaming === null) streaming = now;
      sample.attempts = Math.max(sample.attempts, view.attempt);
      if (view.lastError && !sample.clientErrors.includes(view.lastError)) sample.clientErrors.push(view.lastError);
    });
    let k = 0;
    const type = () => {
      if (k >= MAX_MARKERS) return;
      k += 1;
      s.sendInput(`m${i}.${k};`);
    };

    // The fault.
    sample.t0Wall = Date.now();
    t0 = performance.now();
    let moved: Promise<unknown> | null = null;
    if (kind === 'move') moved = c.admin('POST', `/api/sessions/${id}/move`, {}, plan.liveUrl()).catch((error: unknown) => (sample.error = `the move failed: ${String(error)}`));
    else c.signal(target, kind === 'kill9' ? 'SIGKILL' : 'SIGSTOP');
    faulted = true;
    if (kind === 'sigstop') plan.stopped.add(target);
    type();
    sender = setInterval(type, MARKER_EVERY_MS);
    try {
      await until(() => tLive !== null, LIVE_BOUND_MS, 'live output after the fault');
    } catch (error) {
      sample.error = `${error instanceof Error ? error.message : String(error)}; client status ${s.view.status}, last error ${s.view.lastError ?? '—'}`;
    } finally {
      clearInterval(sender);
      sender = undefined;
    }
    sample.tEndWall = Date.now();
    await moved;
    if (tLive !== null) sample.ms = tLive - t0;
    if (lost !== null) sample.lostMs = Math.round(((lost as number) - t0) * 10) / 10;
    if (streaming !== null) sample.streamingMs = Math.round(((streaming as number) - t0) * 10) / 10;
    const url = ann.brokers.current;
    sample.resumedVia = c.nodes.find((n) => n.url === url)?.name ?? url;

    if (tLive !== null) {
      // Every marker typed should be echoed exactly once.
      const last = `m${i}.${k};`;
      await until(() => after.includes(last), 5000, 'the last marker').catch(() => {});
      await sleep(50);
      const seen = new Map<number, number>();
      for (const m of after.matchAll(new RegExp(`m${i}\\.(\\d+);`, 'g'))) seen.set(Number(m[1]), (seen.get(Number(m[1])) ?? 0) + 1);
      sample.markers.sent = k;
      for (let n = 1; n <= k; n++) {
        if (seen.get(n) === 1) sample.markers.seenOnce += 1;
        else sample.markers.odd += 1;
      }
      // End the line (one input: cat prints it back once) and let it drain.
      const mark = after.length;
      s.sendInput('\r');
      await until(() => after.slice(mark).split(last).length - 1 >= 1, 5000, 'the marker line from cat').catch(() => {});
    }
  } catch (error) {
    sample.error ??= error instanceof Error ? error.message : String(error);
  } finally {
    clearInterval(sender);
    stream?.detach();
    ann?.signOut();
  }
  if (!faulted) return sample;

  // The new primary, and how long its promotion took by its own log.
  const promoted = await waitForStatus(c, (st) => (sessionOf(st, id)?.primary ?? target) !== target || sessionOf(st, id)?.state !== 'running', LIVE_BOUND_MS, plan.liveUrl()).catch(() => null);
  const np = promoted ? sessionOf(promoted, id) : undefined;
  sample.newPrimary = np?.primary ?? null;
  if (np) {
    const lines = (c.nodes.find((n) => n.name === np.primary)?.log ?? []).map(parse).filter((l) => l?.session === id && Date.parse(String(l.time)) >= sample.t0Wall - 50);
    const promotedLine = lines.find((l) => l?.msg === 'promoted to primary' || l?.msg === 'took over a moved session');
    const resumedLine = lines.find((l) => l?.msg === 'session resumed');
    if (promotedLine) {
      if (typeof promotedLine.ms === 'number') sample.promotionMs = promotedLine.ms;
      sample.promotedAtMs = Date.parse(String(promotedLine.time)) - sample.t0Wall;
    }
    if (resumedLine) sample.resumedAtMs = Date.parse(String(resumedLine.time)) - sample.t0Wall;
  }
  if (kind === 'sigstop') {
    // Wake the old primary after the promotion, let it find out, then end it for a clean restart.
    c.signal(target, 'SIGCONT');
    plan.stopped.delete(target);
    await sleep(1000);
    const check = await plan.status().catch(() => null);
    const now = check ? sessionOf(check, id) : undefined;
    if (np && now && now.primary !== np.primary) sample.error = `${np.primary} was promoted, but after SIGCONT of ${target} the record names ${now.primary}`;
  }
  // A move leaves every node running: nothing to restart.
  if (kind !== 'move') await c.restart(target);
  return sample;
}

/** Ends a session on purpose: attach through `url` and end it. */
export async function endSession(url: string, id: string): Promise<void> {
  const ann = client(url);
  try {
    await ann.signIn('ann', 'ann-pw');
    const summary = (await ann.listSessions()).find((s) => s.sessionId === id);
    if (!summary) return;
    const stream = ann.attach(summary, 80, 24);
    await Promise.race([stream.ready(), sleep(5000)]);
    stream.close();
    await Promise.race([stream.finished(), sleep(5000)]);
  } finally {
    ann.signOut();
  }
}

/** Every node's log lines (old processes too) that `keep` picks, by time, each labelled with its node and pid. */
function gather(history: Map<string, ClusterNode[]>, keep: (t: number, parsed: Record<string, unknown> | null) => boolean): Array<{ t: number; text: string }> {
  const lines: Array<{ t: number; text: string }> = [];
  for (const [name, processes] of history) {
    for (const p of processes) {
      for (const raw of p.log) {
        const parsed = parse(raw);
        const t = parsed ? Date.parse(String(parsed.time)) : NaN;
        if (keep(t, parsed)) lines.push({ t, text: `${name}(pid ${p.pid}) ${raw}` });
      }
    }
  }
  return lines.sort((a, b) => a.t - b.t);
}

/** Every node's log lines since `since` (less a second) that name the session, or peers and leases. */
export function sessionLog(history: Map<string, ClusterNode[]>, id: string, since: number): string[] {
  const lines = gather(history, (t, parsed) => t >= since - 1000 && (parsed?.session === id || (parsed?.session === undefined && /left the cluster|link from primary|lease|listening|unreachable/.test(String(parsed?.msg)))));
  return lines.slice(-80).map((l) => l.text);
}

function parse(line: string): Record<string, unknown> | null {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return null;
  }
}

/** Every node's log lines (old processes too) from 1 s before the fault to 1 s after its end. */
export function logAround(history: Map<string, ClusterNode[]>, sample: { t0Wall: number; tEndWall: number } & Sample, kind: Kind): string[] {
  const from = sample.t0Wall - 1000;
  const to = sample.tEndWall + (kind === 'sigstop' ? 2000 : 1000);
  return gather(history, (t) => t >= from && t <= to).slice(0, 80).map((l) => l.text);
}
