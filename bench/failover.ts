// Failover benchmark: how long a person's session is dead when the node running its
// primary fails, on a real 3-node cluster (1-member etcd, real node processes from the
// bench's copy of dist/). Run by the bench's runner (`--only=failover`); one fault
// at a time is failover-fault.ts.
//
// Beside the faults, the planned counterpart, interleaved in the same run: an
// administrator's move of the session to its standby (POST /api/sessions/ID/move, what
// a drain does for each primary). Start: the request is sent. End: the first echo of
// a marker that comes after the client lost its link (until the handover the old
// primary keeps echoing, so earlier echoes say nothing). For every kind the samples
// also give "link lost → live": what the person sees as the reconnect overlay.
//
// Two kinds of fault, interleaved: kill -9 of the primary's node process, and SIGSTOP
// of it (a silent failure: its sockets stay open, nothing answers; the standby finds its
// link silent after cluster.peerSilenceMs, or at the latest its etcd lease runs out after
// leaseTtlMs, and is promoted then; the stopped node is SIGCONTed after the promotion,
// then killed and restarted).
//
// What one sample is, exactly:
//   start = the moment this process sends the signal (performance.now() just before
//           process.kill(pid, signal)).
//   end   = the moment the client's SessionStream hands its sink the first output
//           bytes, after the fault, that are the echo of input typed after the fault.
//   Method: a fresh client (the session core, HoldfastClient, configured as `holdfast
//   connect` and the web client configure it) signs in at a chosen node and attaches
//   to a `cat` session; a warm-up line is echoed and drained so nothing from before
//   the fault is in flight.
//   From the fault on, the client types a unique marker ("m<fault>.<k>;") at once and
//   then every 50 ms (at most 200). Typed input is kept by the session core until the
//   host acknowledges it and resent right after a resume, so the first marker bytes
//   the sink sees are output produced by the new primary the moment the session
//   streams again — the typing period does not limit the resolution, the resend does
//   (typing on is a backstop, and what a person would be doing). Markers carry no
//   newline, so their output is the tty's echo alone; the line is ended after the
//   sample. (Marker lines — echoed by the tty and copied by cat — come back from a
//   resume as a burst, and after that the standby's screen was seen to differ from
//   the primary's: a divergence, and the session loses its standby.)
//   A resume's snapshot (sink.reset) is not output and never ends a sample; the dead
//   primary cannot echo anything typed after the fault. So the figure covers the
//   client noticing (socket close, or silence for 80 % of the node's heartbeatMs), its
//   reconnect backoff (the first retry waits 0–100 ms, jittered: the client's own
//   schedule, not hurried here), promotion, the resume, and one echo round trip.
//   Each sample also records when the client saw the link lost, when it streamed
//   again, the backoff it scheduled, and whether every marker was echoed exactly
//   once — a marker seen more or fewer times is lost or doubled input.
//
// Where the client is: the main figures have the client on a node that is NOT the
// primary's (alternately the standby's node — the session becomes local there — and
// the third node, which tunnels to the new primary). A few extra faults put the
// client on the primary's own node, reported apart ("client on the primary").
//
// Between faults: the killed node is restarted under the same name and the bench waits
// until every session has a primary and one joined standby on live nodes; a session
// that does not get there within 20 s is a finding (kept with its log lines), and is
// ended and replaced. Several sessions are kept so primaries sit on different nodes;
// each fault hits the node that has gone longest without one (among those hosting a
// primary), and a new session is launched when a node hosts none (placement is
// least-loaded first). A session whose log passed 150 entries is retired after its
// fault: a new standby replays the log paced, so long logs slow every later refill.
import type { ClusterStatus } from '../broker/gateway/admin-api.js';
import { startCluster, waitForStatus, type ClusterNode } from '../support/cluster-harness.js';
import { CLIENT_CONNECT_TIMEOUT_MS, LIVE_BOUND_MS, MARKER_EVERY_MS, client, endSession, logAround, oneFault, sessionLog, sessionOf, sleep, type Gateway, type Kind, type Sample } from './failover-fault.js';
import { roundStats, stats } from './stats.js';

export interface FailoverOptions {
  /** Faults of each kind with the client on a non-primary node. */
  faults: number;
  /** Extra faults of each kind with the client on the primary's node. */
  onPrimaryFaults: number;
  /** The holdfast CLI the nodes run. */
  cli: string;
  progress?: (line: string) => void;
  /** Keeps every node's log when the part fails; returns where. */
  saveLogs?: (text: string) => string;
}

interface Anomaly {
  /** The fault it followed (its index in the samples). */
  fault: number;
  kind: Kind;
  gateway: Gateway;
  node: string;
  what: string;
  ms: number | null;
  session?: string;
  log: string[];
}
/** Pinned (the cluster harness's default has since become 2000): the client calls a link dead after 80 % of it. */
const HEARTBEAT_MS = 1000;
const LEASE_TTL_MS = 2000;
const KEEP_ALIVE_MS = 500;
/**
 * A session whose log grew past this many entries is ended and replaced after its
 * fault: a new standby replays the log paced (each entry once its app has produced the
 * output the primary's had then), so a long log makes every later replenishment slower.
 */
const RETIRE_LOG_INDEX = 150;
const MIN_SESSIONS = 3;
/** How long a faulted node may take to be back in the cluster. */
const NODE_BACK_MS = 30_000;
/** How long a session may take to have a primary and one joined standby again. */
const WHOLE_BOUND_MS = 20_000;
/** A kill -9 sample this slow gets its log lines kept (twice the p50 budget). */
const SLOW_KILL_MS = 1000;
const MAX_SESSIONS = 6;
const BUDGET = { kill9P50Ms: 500, kill9P99Ms: 1500, sigstopP99Ms: LEASE_TTL_MS + 1000 };

export async function run(options: FailoverOptions): Promise<Record<string, unknown>> {
  const say = options.progress ?? (() => {});
  const c = await startCluster({ nodes: 3, etcdMembers: 1, cli: options.cli, node: { heartbeatMs: HEARTBEAT_MS }, cluster: { leaseTtlMs: LEASE_TTL_MS, keepAliveMs: KEEP_ALIVE_MS, peerSilenceMs: 800 } });
  /** Every process a node name has had (a restart replaces it), for their logs. */
  const history = new Map<string, ClusterNode[]>(c.nodes.map((n) => [n.name, [n]]));
  const noteNodes = () => {
    for (const n of c.nodes) {
      const list = history.get(n.name)!;
      if (!list.includes(n)) list.push(n);
    }
  };
  /** Writes every node process's log (options.saveLogs); the file's name, if it was written. */
  const saveNodeLogs = (): string | undefined => {
    noteNodes();
    const text = [...history].flatMap(([name, processes]) => processes.flatMap((p) => p.log.map((line) => `${name}(pid ${p.pid}) ${line}`))).join('\n');
    return options.saveLogs?.(text + '\n');
  };
  const stopped = new Set<string>();
  const liveUrl = () => c.nodes.find((n) => n.alive && !stopped.has(n.name))!.url;
  const status = () => c.status(liveUrl());
  const pool: string[] = [];
  const lastUsed = new Map<string, number>();
  const lastFaulted = new Map<string, number>();
  const samples: Sample[] = [];
  const anomalies: Anomaly[] = [];
  const t0Run = Date.now();

  const whole = (s: ClusterStatus, id: string) => {
    const x = sessionOf(s, id);
    return x !== undefined && x.state === 'running' && x.standbys.length === 1 && s.nodes.some((n) => n.name === x.primary) && s.nodes.some((n) => n.name === x.standbys[0]);
  };
  const allWhole = (s: ClusterStatus) => s.nodes.length === c.nodes.length && pool.every((id) => whole(s, id));
  /**
   * Waits until every node is back and every session whole. A session that does not get
   * whole in time is a finding, not a reason to stop: it is noted (with its log lines),
   * ended, and replaced.
   */
  const waitWhole = async (after: { i: number; kind: Kind; gateway: Gateway; node: string; since: number } | null) => {
    await waitForStatus(c, (s) => s.nodes.length === c.nodes.length, NODE_BACK_MS, liveUrl());
    try {
      return await waitForStatus(c, allWhole, WHOLE_BOUND_MS, liveUrl());
    } catch {
      const s = await status();
      for (const id of pool.filter((sid) => !whole(s, sid))) {
        noteNodes();
        const x = sessionOf(s, id);
        anomalies.push({
          fault: after?.i ?? -1,
          kind: after?.kind ?? 'kill9',
          gateway: after?.gateway ?? 'other',
          node: after?.node ?? '',
          session: id,
          ms: null,
          what: `session not whole ${WHOLE_BOUND_MS / 1000} s after the cluster was back: ${x ? `state ${x.state}, epoch ${x.epoch}, primary ${x.primary}, standbys [${x.standbys.join(', ')}], log index ${JSON.stringify(x.logIndex)}` : 'no record'}; ended and replaced`,
          log: sessionLog(history, id, after?.since ?? t0Run),
        });
        pool.splice(pool.indexOf(id), 1);
        await endSession(c.node(x?.primary ?? c.nodes[0]!.name).url, id).catch(() => {});
      }
      return waitForStatus(c, allWhole, WHOLE_BOUND_MS, liveUrl());
    }
  };

  /** Launches a `cat` session through `via` (placement decides its primary) and leaves it running, detached. */
  const launchVia = async (via: ClusterNode) => {
    const ann = client(via.url);
    try {
      await ann.signIn('ann', 'ann-pw');
      const stream = ann.launch('cat', 80, 24);
      await stream.ready();
      const id = stream.sessionId!;
      stream.detach();
      pool.push(id);
      await waitWhole(null);
      // Let the new load figures reach every node before the next placement.
      await sleep(300);
      return id;
    } finally {
      ann.signOut();
    }
  };

  try {
    for (const node of c.nodes) await launchVia(node);
    const schedule: Array<{ kind: Kind; onPrimary: boolean }> = [];
    const every = Math.max(1, Math.floor(options.faults / Math.max(1, options.onPrimaryFaults)));
    let extra = 0;
    for (let j = 0; j < options.faults; j++) {
      schedule.push({ kind: 'kill9', onPrimary: false }, { kind: 'sigstop', onPrimary: false }, { kind: 'move', onPrimary: false });
      if ((j + 1) % every === 0 && extra < options.onPrimaryFaults) {
        extra += 1;
        schedule.push({ kind: 'kill9', onPrimary: true }, { kind: 'sigstop', onPrimary: true });
      }
    }
    const gatewayTurn: Record<Kind, number> = { kill9: 0, sigstop: 0, move: 0 };
    let retired = 0;
    let consecutiveFailures = 0;

    for (let i = 0; i < schedule.length; i++) {
      const { kind, onPrimary } = schedule[i]!;
      if (pool.length === 0) await launchVia(c.nodes[0]!);
      const before = await waitWhole(null);
      // The target: the node hosting a primary that has gone longest without a fault.
      const primaries = new Map<string, string[]>();
      for (const id of pool) {
        const p = sessionOf(before, id)!.primary;
        primaries.set(p, [...(primaries.get(p) ?? []), id]);
      }
      const target = [...primaries.keys()].sort((a, b) => (lastFaulted.get(a) ?? -1) - (lastFaulted.get(b) ?? -1) || a.localeCompare(b))[0]!;
      const id = primaries.get(target)!.sort((a, b) => (lastUsed.get(a) ?? -1) - (lastUsed.get(b) ?? -1))[0]!;
      lastUsed.set(id, i);
      lastFaulted.set(target, i);
      const record = sessionOf(before, id)!;
      const standby = record.standbys[0]!;
      const other = c.nodes.map((n) => n.name).find((n) => n !== target && n !== standby)!;
      const gateway: Gateway = onPrimary ? 'primary' : gatewayTurn[kind]++ % 2 === 0 ? 'standby' : 'other';
      const via = c.node(gateway === 'primary' ? target : gateway === 'standby' ? standby : other);
      noteNodes();
      const sample = await oneFault(c, { i, kind, gateway, id, target, via, primariesOnNode: primaries.get(target)!.length, stopped, liveUrl, status });
      samples.push(sample);
      noteNodes();
      const slow = kind === 'sigstop' ? BUDGET.sigstopP99Ms : SLOW_KILL_MS;
      const what =
        sample.ms === null ? `no live output within ${LIVE_BOUND_MS / 1000} s${sample.error ? `: ${sample.error}` : ''}` :
        sample.markers.odd > 0 ? `${sample.markers.odd} of ${sample.markers.sent} markers not echoed exactly once (lost or doubled input)` :
        sample.error ? sample.error :
        sample.ms > slow ? `${Math.round(sample.ms)} ms (kept above ${slow} ms); client errors: ${sample.clientErrors.join(' | ') || '—'}` : null;
      if (what) anomalies.push({ fault: i, kind, gateway, node: target, session: id, what, ms: sample.ms, log: logAround(history, sample, kind) });
      say(`failover ${i + 1}/${schedule.length}: ${kind} ${target} (client via ${gateway}) → ${sample.ms === null ? 'FAILED' : `${Math.round(sample.ms)} ms`}`);
      consecutiveFailures = sample.ms === null ? consecutiveFailures + 1 : 0;
      if (consecutiveFailures >= 3) throw new Error(`three failovers in a row did not come back (last: ${sample.error ?? 'no live output'})`);

      // The cluster whole again: the faulted node back, every session replicated.
      await waitWhole({ i, kind, gateway, node: target, since: sample.t0Wall });
      // Sessions with long logs are retired; a node with no primary gets a new session
      // (placement puts it on the least loaded), and there are always a few.
      let now = await status();
      for (const sid of pool.filter((x) => Math.max(0, ...Object.values(sessionOf(now, x)?.logIndex ?? {})) > RETIRE_LOG_INDEX)) {
        pool.splice(pool.indexOf(sid), 1);
        retired += 1;
        await endSession(c.node(sessionOf(now, sid)!.primary).url, sid).catch(() => {});
      }
      for (let n = 0; n < MAX_SESSIONS; n++) {
        now = await status();
        const hosting = new Set(pool.map((sid) => sessionOf(now, sid)?.primary));
        const idle = c.nodes.find((x) => !hosting.has(x.name));
        if (pool.length >= MAX_SESSIONS || (pool.length >= MIN_SESSIONS && !idle)) break;
        await launchVia(idle ?? c.nodes[n % c.nodes.length]!);
      }
    }

    const pick = (kind: Kind, gateways: Gateway[]) => samples.filter((s) => s.kind === kind && gateways.includes(s.gateway));
    const summary = (list: Sample[]) => {
      const ok = list.filter((s) => s.ms !== null).map((s) => s.ms!);
      const part = (f: (s: Sample) => number | null) => roundStats(stats(list.map(f).filter((v): v is number => v !== null)), 1);
      return {
        faults: list.length,
        failed: list.length - ok.length,
        ms: roundStats(stats(ok), 1),
        faultToLinkLostMs: part((s) => s.lostMs),
        linkLostToLiveMs: part((s) => (s.ms !== null && s.lostMs !== null ? s.ms - s.lostMs : null)),
        backoffScheduledMs: part((s) => s.backoffMs),
        faultToStreamingMs: part((s) => s.streamingMs),
        promotionMs: part((s) => s.promotionMs),
        faultToPromotedMs: part((s) => s.promotedAtMs),
        faultToResumedOnHostMs: part((s) => s.resumedAtMs),
      };
    };
    const kill9 = summary(pick('kill9', ['standby', 'other']));
    const sigstop = summary(pick('sigstop', ['standby', 'other']));
    const move = summary(pick('move', ['standby', 'other']));
    return {
      method:
        'start: this process sends the signal to the primary\'s node; end: the client\'s sink receives the first output, after the fault, that is the echo of a marker typed after the fault (one at once, then every 20 ms; the session core resends unacknowledged input on resume). Client: HoldfastClient (session core) attached to a `cat` session through a node other than the primary\'s (alternately the standby\'s node and the third node); the client\'s own reconnect backoff is included. Between faults the node is restarted and every session is whole again (primary + one joined standby).',
      settings: {
        nodes: 3,
        etcdMembers: 1,
        heartbeatMs: HEARTBEAT_MS,
        clientSilenceMs: HEARTBEAT_MS * 0.8,
        leaseTtlMs: LEASE_TTL_MS,
        keepAliveMs: KEEP_ALIVE_MS,
        clientConnectTimeoutMs: CLIENT_CONNECT_TIMEOUT_MS,
        markerEveryMs: MARKER_EVERY_MS,
        faultsPerKind: options.faults,
        onPrimaryFaultsPerKind: options.onPrimaryFaults,
      },
      kill9: { ...kill9, byGateway: { standby: summary(pick('kill9', ['standby'])).ms, other: summary(pick('kill9', ['other'])).ms } },
      sigstop: { ...sigstop, byGateway: { standby: summary(pick('sigstop', ['standby'])).ms, other: summary(pick('sigstop', ['other'])).ms } },
      move: { ...move, byGateway: { standby: summary(pick('move', ['standby'])).ms, other: summary(pick('move', ['other'])).ms } },
      moveVsKill9P50: move.ms.p50 !== undefined && kill9.ms.p50 ? Math.round((move.ms.p50 / kill9.ms.p50) * 100) / 100 : null,
      clientOnPrimary: { kill9: summary(pick('kill9', ['primary'])), sigstop: summary(pick('sigstop', ['primary'])) },
      sessionsRetired: retired,
      sessionsNotWholeAgain: anomalies.filter((a) => a.what.startsWith('session not whole')).length,
      faultedNodes: Object.fromEntries(c.nodes.map((n) => [n.name, samples.filter((s) => s.node === n.name).length])),
      budget: BUDGET,
      withinBudget: {
        kill9P50: (kill9.ms.p50 ?? Infinity) <= BUDGET.kill9P50Ms,
        kill9P99: (kill9.ms.p99 ?? Infinity) <= BUDGET.kill9P99Ms && kill9.failed === 0,
        sigstopP99: (sigstop.ms.p99 ?? Infinity) <= BUDGET.sigstopP99Ms && sigstop.failed === 0,
      },
      anomalies,
      // Every node's log, so a slow sample can be traced through them (its t0Wall).
      nodeLogs: saveNodeLogs() ?? null,
      samples: samples.map((s) => ({ ...s, ms: s.ms === null ? null : Math.round(s.ms * 10) / 10 })),
      seconds: Math.round((Date.now() - t0Run) / 100) / 10,
    };
  } catch (error) {
    const file = saveNodeLogs();
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`${message}${file ? ` (every node's log: ${file})` : ''}; after ${samples.length} faults`);
  } finally {
    await c.stop();
  }
}
