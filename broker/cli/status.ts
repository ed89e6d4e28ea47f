// `holdfast status --broker URL [--user NAME] [--json]`: signs in as a member of the
// "admins" group and prints the cluster — nodes (name, address, pid, load, lease),
// sessions (id, user, app, epoch, primary, standbys, log index per replica) — as
// tables for people or as JSON for scripts.
import { parseArgs } from 'node:util';
import { Connection, ProtocolError } from '../../shared/core/index.js';
import type { ClusterStatus } from '../gateway/status.js';
import { nodeSocketFactory } from './connect.js';
import { readPassword } from './password-prompt.js';

export async function runStatus(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { broker: { type: 'string' }, user: { type: 'string' }, json: { type: 'boolean' }, 'password-stdin': { type: 'boolean' } },
  });
  if (!values.broker) {
    process.stderr.write('holdfast status: give --broker URL (any node of the cluster)\n');
    return 2;
  }
  const user = values.user ?? 'admin';
  const password = process.env.HOLDFAST_PASSWORD ?? (await readPassword(`Password for ${user}: `, values['password-stdin'] ?? false));
  const base = values.broker.replace(/\/+$/, '').replace(/^ws/, 'http');
  let token: string;
  const connection = new Connection({ brokerUrl: base, socketFactory: nodeSocketFactory, connectTimeoutMs: 5000 });
  try {
    await connection.open();
    token = (await connection.request({ type: 'auth.signIn', user, password }, 'auth.signedIn')).accessToken;
  } catch (error) {
    process.stderr.write(`holdfast status: ${error instanceof ProtocolError || error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  } finally {
    connection.close();
  }
  let reply: Response;
  try {
    reply = await fetch(`${base}/api/status`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(10_000) });
  } catch (error) {
    process.stderr.write(`holdfast status: ${base} did not answer: ${String(error)}\n`);
    return 1;
  }
  const body = (await reply.json().catch(() => null)) as (ClusterStatus & { message?: string }) | null;
  if (!reply.ok || !body) {
    process.stderr.write(`holdfast status: ${body?.message ?? `HTTP ${reply.status}`}\n`);
    return 1;
  }
  if (values.json) {
    process.stdout.write(JSON.stringify(body, null, 2) + '\n');
    return 0;
  }
  process.stdout.write(formatStatus(body));
  return 0;
}

export function formatStatus(status: ClusterStatus): string {
  const nodes = table(
    ['NODE', 'ADDRESS', 'PID', 'LOAD', 'ACCEPTING', 'LEASE', 'FAILOVERS', 'DIVERGENCES'],
    status.nodes.map((n) => [n.name, n.url, String(n.pid), String(n.load), n.accepting ? 'yes' : 'no', n.leaseId, String(n.counters?.failovers ?? '?'), String(n.counters?.divergences ?? '?')]),
  );
  const sessions = table(
    ['SESSION', 'USER', 'APP', 'EPOCH', 'PRIMARY', 'STANDBYS', 'LOG INDEX'],
    status.sessions.map((s) => [
      s.id.slice(0, 12),
      s.user,
      s.app,
      String(s.epoch),
      s.primary,
      s.standbys.join(',') || '-',
      Object.entries(s.logIndex)
        .map(([node, index]) => `${node}=${index}`)
        .join(' ') || '-',
    ]),
  );
  return `Nodes (${status.nodes.length}), as seen from ${status.node}:\n${nodes}\nSessions (${status.sessions.length}):\n${sessions}`;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd() + '\n';
  return line(header) + rows.map(line).join('') + (rows.length === 0 ? '(none)\n' : '');
}
