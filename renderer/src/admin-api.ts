// The broker's admin API (docs/protocol.md#admin-api) as the admin page uses it: the
// signed-in administrator's access token as a bearer header, every answer parsed as
// unknown with the schemas in shared/.
import {
  AdminErrorSchema,
  ClusterStatusSchema,
  RecordingListSchema,
  RecordingSearchSchema,
  type ClusterStatus,
  type RecordingCopy,
  type RecordingSearch,
} from '../../shared/protocol/index.js';
import type { HoldfastClient } from '../../shared/core/index.js';

export class AdminApi {
  constructor(private readonly client: HoldfastClient) {}

  /** The broker whose API this is (a player that fetches a recording itself needs it), and the token to show it. */
  get brokerUrl(): string {
    return this.client.brokerUrl;
  }

  readonly token = (): string | null => this.client.apiToken;

  private base(): string {
    return this.client.brokerUrl.replace(/^ws/, 'http').replace(/\/+$/, '');
  }

  private async call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
    const reply = await this.send(method, path, body);
    return reply.json().catch(() => null) as Promise<unknown>;
  }

  /** The reply to a call that went well; a thrown Error with the broker's words otherwise. */
  private async send(method: 'GET' | 'POST', path: string, body?: unknown): Promise<Response> {
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
    if (!reply.ok) {
      const error = AdminErrorSchema.safeParse(await reply.json().catch(() => null));
      throw new Error(error.success ? error.data.message : `The broker answered HTTP ${reply.status}.`);
    }
    return reply;
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

  /** Recorded sessions, cluster-wide, newest first (docs/protocol.md#recordings). */
  async recordings(): Promise<RecordingCopy[]> {
    const parsed = RecordingListSchema.safeParse(await this.call('GET', '/api/recordings'));
    if (!parsed.success) throw new Error('The broker sent a list of recordings this client does not understand; is it another version?');
    return [...parsed.data.recordings].sort((a, b) => b.startedAt - a.startedAt);
  }

  /** One recording's asciicast file, as text (the player parses it). */
  async recording(id: string): Promise<string> {
    const reply = await this.send('GET', `/api/recordings/${encodeURIComponent(id)}`);
    return reply.text().catch(() => {
      throw new Error('The recording stopped coming part way; is the connection up?');
    });
  }

  /** Key search: the recorded times at which the typed input contains `query`. */
  async searchRecording(id: string, query: string): Promise<RecordingSearch> {
    const parsed = RecordingSearchSchema.safeParse(await this.call('GET', `/api/recordings/${encodeURIComponent(id)}/search?q=${encodeURIComponent(query)}`));
    if (!parsed.success) throw new Error('The broker sent search results this client does not understand; is it another version?');
    return parsed.data;
  }
}
