// The broker's admin API (docs/protocol.md#admin-api) as the admin page uses it: the
// signed-in administrator's access token as a bearer header, every answer parsed as
// unknown with the schemas in shared/.
import { AdminErrorSchema, ClusterStatusSchema, type ClusterStatus } from '../../shared/protocol/index.js';
import type { HoldfastClient } from '../../shared/core/index.js';

export class AdminApi {
  constructor(private readonly client: HoldfastClient) {}

  private base(): string {
    return this.client.brokerUrl.replace(/^ws/, 'http').replace(/\/+$/, '');
  }

  private async call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
    const token = this.client.apiToken;
    if (!token) throw new Error('You are signed out; sign in again.');
    let reply: Response;
    try {
      reply = await fetch(this.base() + path, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store',
      });
    } catch {
      throw new Error('The broker did not answer; is the connection up?');
    }
    const answer: unknown = await reply.json().catch(() => null);
    if (!reply.ok) {
      const error = AdminErrorSchema.safeParse(answer);
      throw new Error(error.success ? error.data.message : `The broker answered HTTP ${reply.status}.`);
    }
    return answer;
  }

  async status(): Promise<ClusterStatus> {
    const parsed = ClusterStatusSchema.safeParse(await this.call('GET', '/api/status'));
    if (!parsed.success) throw new Error('The broker sent a status this client does not understand; is it another version?');
    return parsed.data;
  }

  drain(node: string): Promise<unknown> {
    return this.call('POST', `/api/nodes/${encodeURIComponent(node)}/drain`, {});
  }

  undrain(node: string): Promise<unknown> {
    return this.call('POST', `/api/nodes/${encodeURIComponent(node)}/undrain`, {});
  }

  move(session: string, to: string | null): Promise<unknown> {
    return this.call('POST', `/api/sessions/${encodeURIComponent(session)}/move`, to ? { to } : {});
  }

  end(session: string): Promise<unknown> {
    return this.call('POST', `/api/sessions/${encodeURIComponent(session)}/end`, {});
  }
}
