// `holdfast status --broker URL [--user NAME] [--json]`: signs in as a member of the
// "admins" group and prints the cluster — nodes (name, address, pid, load, lease),
// sessions (id, user, app, epoch, primary, standbys, log index per replica) — as
// tables for people or as JSON for scripts.
import { parseArgs } from 'node:util';
import { Connection, ProtocolError } from '../../shared/core/index.js';
import { ClusterStatusSchema, type AppDivergence, type ClusterStatus } from '../../shared/protocol/index.js';
import { nodeSocketFactoryWith } from './connect.js';
import { TRUST_OPTIONS, trustFrom } from './trust-options.js';
import type { IncomingMessage } from 'node:http';
import { requestJson, requestStream, type JsonReply, type Trust } from '../tls/trust.js';
import { readPassword } from './password-prompt.js';

export const adminOptions = { broker: { type: 'string' }, user: { type: 'string' }, 'password-stdin': { type: 'boolean' }, ...TRUST_OPTIONS } as const;

/** Signs in as an administrator and calls the admin API; throws with a message for people. */
export class AdminClient {
  private constructor(
    readonly base: string,
    private readonly token: string,
    private readonly trust: Trust,
  ) {}

  static async signIn(values: { broker?: string; user?: string; 'password-stdin'?: boolean; ca?: string[]; pin?: string[] }): Promise<AdminClient> {
    if (!values.broker) throw new Error(`give --broker URL (any node of the cluster)`);
    const trust = trustFrom(values);
    const user = values.user ?? 'admin';
    const password = process.env.HOLDFAST_PASSWORD ?? (await readPassword(`Password for ${user}: `, values['password-stdin'] ?? false));
    const base = values.broker.replace(/\/+$/, '').replace(/^ws/, 'http');
    const connection = new Connection({ brokerUrl: base, socketFactory: nodeSocketFactoryWith(trust), connectTimeoutMs: 5000 });
    try {
      await connection.open();
      return new AdminClient(base, (await connection.request({ type: 'auth.signIn', user, password }, 'auth.signedIn')).accessToken, trust);
    } catch (error) {
      throw new Error(error instanceof ProtocolError || error instanceof Error ? error.message : String(error));
    } finally {
      connection.close();
    }
  }

  async call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
    let reply: JsonReply;
    try {
      reply = await requestJson(`${this.base}${path}`, { method, headers: { authorization: `Bearer ${this.token}` }, body, timeoutMs: 60_000 }, this.trust);
    } catch (error) {
      throw new Error(`${this.base} did not answer: ${error instanceof Error ? error.message : String(error)}`);
    }
    const answer = reply.body as { message?: unknown } | null;
    if (!reply.ok || answer === null) throw new Error(typeof answer?.message === 'string' ? answer.message : `HTTP ${reply.status}`);
    return answer;
  }

  /** A GET whose answer is a file, streamed (not JSON); throws with the node's message when it is not there. */
  async download(path: string): Promise<IncomingMessage> {
    let reply: IncomingMessage;
    try {
      reply = await requestStream(`${this.base}${path}`, { headers: { authorization: `Bearer ${this.token}` }, timeoutMs: 60_000, idleMs: 60_000 }, this.trust);
    } catch (error) {
      throw new Error(`${this.base} did not answer: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (reply.statusCode === 200) return reply;
    let text = '';
    for await (const chunk of reply as AsyncIterable<Buffer>) text += chunk.toString();
    let message = `HTTP ${reply.statusCode}`;
    try {
      const answer = JSON.parse(text) as { message?: unknown };
      if (typeof answer.message === 'string') message = answer.message;
    } catch {
      /* not JSON */
    }
    throw new Error(message);
  }

  async status(): Promise<ClusterStatus> {
    const parsed = ClusterStatusSchema.safeParse(await this.call('GET', '/api/status'));
    if (!parsed.success) throw new Error(`${this.base} answered with a status this holdfast does not understand (${parsed.error.issues[0]?.message}); is it another version?`);
    return parsed.data;
  }
}

export async function runStatus(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { ...adminOptions, json: { type: 'boolean' } } });
  let body: ClusterStatus;
  try {
    body = await (await AdminClient.signIn(values)).status();
  } catch (error) {
    process.stderr.write(`holdfast status: ${(error as Error).message}\n`);
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
    ['NODE', 'ADDRESS', 'PID', 'VERSION', 'LOAD', 'ACCEPTING', 'LEASE', 'FAILOVERS', 'DIVERGENCES'],
    status.nodes.map((n) => [
      n.name,
      n.url,
      String(n.pid),
      n.version ?? '?',
      String(n.load),
      n.draining ? 'draining' : n.accepting ? 'yes' : 'no',
      n.leaseId,
      String(n.counters?.failovers ?? '?'),
      String(n.counters?.divergences ?? '?'),
    ]),
  );
  const sessions = table(
    ['SESSION', 'USER', 'APP', 'EPOCH', 'PRIMARY', 'STANDBYS', 'PROTECTION', 'LOG INDEX'],
    status.sessions.map((s) => [
      s.id.slice(0, 12),
      s.user,
      s.app,
      String(s.epoch),
      s.primary,
      s.standbys.join(',') || '-',
      s.protection ?? '-',
      Object.entries(s.logIndex)
        .map(([node, index]) => `${node}=${index}`)
        .join(' ') || '-',
    ]),
  );
  const sandboxes = table(
    ['NODE', 'LIMITS', 'SECCOMP', 'RUNS AS', 'TERMINALS', 'HOMES'],
    status.nodes.map((n) => [n.name, n.sandbox?.limits ?? '?', n.sandbox?.seccomp ?? '?', n.sandbox?.users ?? '?', n.sandbox?.terminals ?? '?', n.sandbox?.homes ?? '?']),
  );
  return `Nodes (${status.nodes.length}), as seen from ${status.node}:\n${nodes}\nSandboxes:\n${sandboxes}\nSessions (${status.sessions.length}):\n${sessions}${formatDivergingApps(status.apps ?? [])}`;
}

/**
 * Apps whose standbys diverged, with what to do: lockstep cannot keep them (docs/cluster.md),
 * so their catalog entry should say `failover: restart` (or none).
 */
export function formatDivergingApps(apps: AppDivergence[]): string {
  if (apps.length === 0) return '';
  const rows = table(
    ['APP', 'FAILOVER', 'DIVERGENCES', 'SESSIONS', 'UNPROTECTED', 'LAST'],
    apps.map((a) => [a.app, a.failover ?? '(not in the catalog)', String(a.divergences), String(a.sessions), String(a.unprotected), a.lastDetail]),
  );
  const advice = apps
    .filter((a) => a.failover === 'lockstep')
    .map((a) => `  ${a.app}: its replicas do not stay in step; set "failover: restart" for it in the catalog (apps[]) so a failover restarts it with its files, or find what it reads that differs (docs/cluster.md).\n`)
    .join('');
  return `Apps whose standbys diverged (since each node started):\n${rows}${advice}`;
}

export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd() + '\n';
  return line(header) + rows.map(line).join('') + (rows.length === 0 ? '(none)\n' : '');
}

/**
 * `holdfast node drain NAME`: the node stops taking sessions and moves each primary to
 * a standby (its person sees the reconnect overlay for a moment); waits until it is
 * done unless --no-wait, then says what stays (apps that are not replicated).
 */
export async function runDrain(action: 'drain' | 'undrain', args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { ...adminOptions, 'no-wait': { type: 'boolean' } } });
  const name = positionals[0];
  if (!name || positionals.length > 1) {
    process.stderr.write(`holdfast node ${action}: give one node name, e.g. holdfast node ${action} node-1 --broker URL\n`);
    return 2;
  }
  try {
    const admin = await AdminClient.signIn(values);
    await admin.call('POST', `/api/nodes/${encodeURIComponent(name)}/${action}`, {});
    if (action === 'undrain') {
      process.stdout.write(`${name} takes new sessions again.\n`);
      return 0;
    }
    process.stdout.write(`${name} is draining: no new sessions there; moving its sessions to their standbys…\n`);
    if (values['no-wait']) return 0;
    const deadline = Date.now() + 10 * 60_000;
    for (;;) {
      const node = (await admin.status()).nodes.find((n) => n.name === name);
      const drain = node?.drain;
      if (!node) throw new Error(`${name} left the cluster during the drain`);
      if (drain?.finishedAt) {
        process.stdout.write(`${name} is drained: ${drain.moved} session${drain.moved === 1 ? '' : 's'} moved.\n`);
        for (const stay of drain.staying) process.stdout.write(`  stays: ${stay.app} (${stay.session.slice(0, 12)}): ${stay.reason}\n`);
        if (drain.staying.length > 0) process.stdout.write(`Those end when ${name} stops; wait for them to end, or stop ${name} anyway.\n`);
        return 0;
      }
      if (Date.now() > deadline) throw new Error(`${name} is still draining after 10 minutes; see holdfast status`);
      await new Promise((r) => setTimeout(r, 500));
    }
  } catch (error) {
    process.stderr.write(`holdfast node ${action}: ${(error as Error).message}\n`);
    return 1;
  }
}

/**
 * `holdfast user VERB NAME --broker URL`: one admin API call about one person, and
 * what came of it in words (from `describe`, given the API's answer).
 */
async function userCommand(verb: string, args: string[], call: (name: string) => string, describe: (name: string, answer: unknown) => string): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: adminOptions });
  const name = positionals[0];
  if (!name || positionals.length > 1) {
    process.stderr.write(`holdfast user ${verb}: give one user name, e.g. holdfast user ${verb} ann --broker URL\n`);
    return 2;
  }
  try {
    const admin = await AdminClient.signIn(values);
    process.stdout.write(describe(name, await admin.call('POST', call(encodeURIComponent(name)), {})) + '\n');
    return 0;
  } catch (error) {
    process.stderr.write(`holdfast user ${verb}: ${(error as Error).message}\n`);
    return 1;
  }
}

/** `holdfast user revoke NAME`: every token NAME holds stops working on every node, and their connections close. */
export const runRevoke = (args: string[]) =>
  userCommand('revoke', args, (name) => `/api/users/${name}/revoke`, (name) => `${name}'s sign-ins are revoked on every node; they must sign in again. Their sessions wait for them.`);

/** `holdfast user reset-totp NAME`: NAME's lost second factor is turned off; they set it up again. */
export const runResetSecondFactor = (args: string[]) =>
  userCommand('reset-totp', args, (name) => `/api/users/${name}/second-factor/reset`, (name, answer) =>
    (answer as { reset?: boolean }).reset
      ? `${name}'s two-step sign-in is off: they sign in with their password alone, and can set it up again from the launcher.`
      : `${name} had no two-step sign-in; nothing changed.`,
  );
