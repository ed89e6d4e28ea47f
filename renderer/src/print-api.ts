// A PDF a session's app printed (issue 23, printing), fetched with the signed-in person's
// access token from GET /api/sessions/ID/print/JOB; refusals in the broker's words, or
// ours with a next step. No React here.
import { FilesErrorSchema } from '../../shared/protocol/index.js';
import type { HoldfastClient } from '../../shared/core/index.js';

export async function fetchPrintedPdf(client: HoldfastClient, sessionId: string, jobId: string): Promise<Blob> {
  const token = client.apiToken;
  if (!token) throw new Error('You are signed out; sign in again to get the document.');
  const base = client.brokerUrl.replace(/^ws/, 'http').replace(/\/+$/, '');
  let reply: Response;
  try {
    reply = await fetch(`${base}/api/sessions/${encodeURIComponent(sessionId)}/print/${encodeURIComponent(jobId)}`, { headers: { authorization: `Bearer ${token}` }, cache: 'no-store' });
  } catch {
    throw new Error('The broker did not answer; check the connection and try again.');
  }
  if (!reply.ok) {
    const refusal = FilesErrorSchema.safeParse(await reply.json().catch(() => null));
    if (refusal.success) throw new Error(refusal.data.message);
    throw new Error(`The broker answered HTTP ${reply.status}; try again in a moment.`);
  }
  // Typed as a PDF whatever the answer said, so the browser's own viewer opens it.
  return new Blob([await reply.arrayBuffer()], { type: 'application/pdf' });
}
