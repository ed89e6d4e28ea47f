// A running session's thumbnail (docs/protocol.md#session-thumbnails), as the launcher
// asks for it: the signed-in person's access token as a bearer header, the answer
// parsed as unknown with the schema in shared/. Any failure is null: the launcher then
// shows the app's icon, as it would without thumbnails.
import { ThumbnailSchema, type Thumbnail } from '../../shared/protocol/index.js';
import type { HoldfastClient } from '../../shared/core/index.js';

export async function fetchThumbnail(client: HoldfastClient, sessionId: string, signal: AbortSignal): Promise<Thumbnail | null> {
  const token = client.apiToken;
  if (!token) return null;
  const base = client.brokerUrl.replace(/^ws/, 'http').replace(/\/+$/, '');
  try {
    const reply = await fetch(`${base}/api/sessions/${encodeURIComponent(sessionId)}/thumbnail`, { headers: { authorization: `Bearer ${token}` }, cache: 'no-store', signal });
    if (!reply.ok) return null;
    const parsed = ThumbnailSchema.safeParse(await reply.json());
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
