// The operators' view over HTTP: GET /api/status (the cluster: nodes, sessions and
// every replica's log index) and GET /api/replicas (this node's replicas, which
// /api/status gathers from each node). Both need an access token of a user in the
// "admins" group, as `Authorization: Bearer <token>`; `holdfast status` signs in and
// asks for it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SECURITY_HEADERS } from './static-files.js';
import type { NodeContext } from './context.js';

export const ADMIN_GROUP = 'admins';

export interface ReplicaStatus {
  sessionId: string;
  role: string;
  epoch: number;
  logIndex: number;
  appliedIndex: number;
}

export interface ClusterStatus {
  node: string;
  nodes: Array<{ name: string; url: string; pid: number; load: number; accepting: boolean; leaseId: string; counters: Record<string, number> | null }>;
  sessions: Array<{
    id: string;
    user: string;
    app: string;
    state: string;
    epoch: number;
    primary: string;
    standbys: string[];
    attached: boolean;
    logIndex: Record<string, number>;
  }>;
}

function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
  response.end(JSON.stringify(body) + '\n');
}

export async function statusHandler(ctx: NodeContext, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const header = request.headers.authorization ?? '';
  const token = header.startsWith('Bearer ') ? header.slice(7) : '';
  const claims = token ? await ctx.tokens.verify(token) : null;
  if (!claims) return json(response, 401, { error: 'unauthenticated', message: 'Send an access token: Authorization: Bearer <token>.' });
  if (!ctx.catalog.user(claims.user)?.groups.includes(ADMIN_GROUP)) {
    return json(response, 403, { error: 'forbidden', message: `Only members of the "${ADMIN_GROUP}" group may see the cluster's status.` });
  }
  const path = (request.url ?? '').split('?')[0];
  try {
    if (path === '/api/replicas') return json(response, 200, { node: ctx.config.node.name, counters: ctx.sessions.counters, replicas: ctx.sessions.localReplicas() });
    if (path === '/api/status') return json(response, 200, await clusterStatus(ctx, token));
  } catch (error) {
    return json(response, 503, { error: 'unavailable', message: `The control plane did not answer: ${String(error)}` });
  }
  json(response, 404, { error: 'not_found', message: 'Try /api/status.' });
}

async function clusterStatus(ctx: NodeContext, token: string): Promise<ClusterStatus> {
  const cluster = ctx.sessions.cluster;
  const names = new Set([cluster.name, ...cluster.nodes.keys()]);
  const nodes = [...names].sort().map((name) => cluster.node(name)!).filter(Boolean);
  // Every node's replicas, asked in parallel; a node that does not answer shows none.
  const replicas = await Promise.all(
    nodes.map(async (node) => {
      if (node.name === cluster.name) return { node: node.name, counters: { ...ctx.sessions.counters } as Record<string, number>, replicas: ctx.sessions.localReplicas() };
      try {
        const reply = await fetch(`${node.url}/api/replicas`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(1000) });
        const body = (await reply.json()) as { counters?: Record<string, number>; replicas?: ReplicaStatus[] };
        return { node: node.name, counters: body.counters ?? null, replicas: Array.isArray(body.replicas) ? body.replicas : [] };
      } catch {
        return { node: node.name, counters: null, replicas: [] as ReplicaStatus[] };
      }
    }),
  );
  const records = await cluster.listSessions();
  return {
    node: cluster.name,
    nodes: nodes.map((n) => ({ name: n.name, url: n.url, pid: n.pid, load: n.load, accepting: n.accepting, leaseId: n.leaseId, counters: replicas.find((r) => r.node === n.name)?.counters ?? null })),
    sessions: records
      .map((v) => v.record)
      .filter((r) => r.state === 'running')
      .map((r) => {
        const logIndex: Record<string, number> = {};
        for (const at of replicas) {
          const replica = at.replicas.find((x) => x.sessionId === r.id);
          if (replica) logIndex[at.node] = replica.logIndex;
        }
        return { id: r.id, user: r.owner, app: r.appId, state: r.state, epoch: r.epoch, primary: r.primary, standbys: r.standbys, attached: r.attached, logIndex };
      }),
  };
}
