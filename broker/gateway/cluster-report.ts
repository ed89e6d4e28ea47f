// What GET /api/status and GET /api/replicas answer: this node's own report, and the
// cluster's status assembled from every member's report (asked in parallel, each
// within a second; a member that does not answer shows no replicas) and the records.
import { requestJson } from '../tls/trust.js';
import type { AppDivergence, ClusterStatus, SessionStatus } from '../../shared/protocol/index.js';
import type { LocalReport, NodeContext } from './context.js';

interface NodeReport extends Omit<LocalReport, 'counters'> {
  node: string;
  counters: Record<string, number> | null;
}

export function localReport(ctx: NodeContext): NodeReport {
  return { node: ctx.config.node.name, ...ctx.sessions.report() };
}

export async function clusterStatus(ctx: NodeContext, token: string): Promise<ClusterStatus> {
  const service = ctx.sessions;
  const nodes = service.members().sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  // Every node's replicas, asked in parallel; a node that does not answer shows none.
  const reports = await Promise.all(
    nodes.map(async (node): Promise<NodeReport> => {
      if (node.name === service.self) return localReport(ctx);
      try {
        const reply = await requestJson(`${node.url}/api/replicas`, { headers: { authorization: `Bearer ${token}` }, timeoutMs: 1000 }, ctx.trust);
        const body = (reply.body ?? {}) as Partial<NodeReport>;
        return {
          node: node.name,
          counters: body.counters ?? null,
          replicas: Array.isArray(body.replicas) ? body.replicas : [],
          events: Array.isArray(body.events) ? body.events : [],
          apps: Array.isArray(body.apps) ? body.apps : [],
          drain: body.drain ?? null,
          sandbox: body.sandbox ?? null,
        };
      } catch {
        return { node: node.name, counters: null, replicas: [], events: [], apps: [], drain: null, sandbox: null };
      }
    }),
  );
  const records = await service.records();
  const sessions: SessionStatus[] = records
    .map((v) => v.record)
    .filter((r) => r.state === 'running')
    .map((r) => {
      const logIndex: Record<string, number> = {};
      const applied: Record<string, number> = {};
      // The primary's own last input time, live; else what its record says (to the minute).
      let lastInputAt = r.lastInputAt;
      for (const report of reports) {
        const replica = report.replicas.find((x) => x.sessionId === r.id);
        if (replica) {
          logIndex[report.node] = replica.logIndex;
          applied[report.node] = replica.appliedIndex;
          if (report.node === r.primary && typeof replica.lastInputAt === 'number') lastInputAt = replica.lastInputAt;
        }
      }
      // Lag is what a standby has yet to apply: held entries it has not applied would be
      // replayed before it could take over.
      const lag: Record<string, number> = {};
      const head = logIndex[r.primary];
      for (const standby of r.standbys) if (head !== undefined) lag[standby] = Math.max(0, head - (applied[standby] ?? 0));
      const replicas = Object.keys(logIndex).filter((node) => node !== r.primary);
      const protection = !service.clustered ? undefined : r.standbys.length > 0 ? 'protected' : replicas.length > 0 ? 'catching-up' : 'unprotected';
      return { id: r.id, user: r.owner, app: r.appId, state: 'running', epoch: r.epoch, primary: r.primary, standbys: r.standbys, attached: r.attached, startedAt: r.startedAt, holdExpiresAt: r.holdExpiresAt, ...(lastInputAt !== undefined ? { lastInputAt } : {}), ...(r.clientAddress !== undefined ? { clientAddress: r.clientAddress } : {}), logIndex, lag, ...(protection ? { protection } : {}) };
    });
  return {
    node: service.self,
    nodes: nodes.map((n) => {
      const report = reports.find((r) => r.node === n.name);
      return {
        name: n.name,
        url: n.url,
        pid: n.pid,
        version: n.version ?? null,
        load: n.load,
        accepting: n.accepting,
        draining: n.draining ?? false,
        leaseId: n.leaseId,
        counters: report?.counters ?? null,
        drain: report?.drain ?? null,
        sandbox: report?.sandbox ?? null,
      };
    }),
    sessions,
    events: reports
      .flatMap((r) => r.events)
      .sort((a, b) => b.at - a.at)
      .slice(0, 50),
    apps: appDivergences(reports, (id) => ctx.config.apps.find((app) => app.id === id)?.failover ?? null),
  };
}

/** Each app's divergences summed over the nodes that answered (sessions counted once per node they diverged on). */
function appDivergences(reports: NodeReport[], failoverOf: (app: string) => AppDivergence['failover']): AppDivergence[] {
  const byApp = new Map<string, AppDivergence>();
  for (const entry of reports.flatMap((r) => r.apps)) {
    const sum = byApp.get(entry.app) ?? { ...entry, divergences: 0, sessions: 0, unprotected: 0, failover: failoverOf(entry.app) };
    sum.divergences += entry.divergences;
    sum.sessions += entry.sessions;
    sum.unprotected += entry.unprotected;
    if (entry.lastAt >= sum.lastAt) [sum.lastAt, sum.lastDetail] = [entry.lastAt, entry.lastDetail];
    byApp.set(entry.app, sum);
  }
  return [...byApp.values()].sort((a, b) => b.divergences - a.divergences);
}
