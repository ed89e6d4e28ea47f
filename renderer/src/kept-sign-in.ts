// The web client's sign-in across a reload (docs/protocol.md "Kept sign-in"): the node
// keeps a refresh token in an HttpOnly cookie this page cannot read, and trades it for a
// one-time sign-in code after a reload. And the tabs that were open, kept for this
// browser tab only (sessionStorage), to open again once signed in.
import { KEEP_CLIENT_HEADER, KEEP_END_PATH, KEEP_PATH, KEEP_RENEW_PATH } from '../../shared/protocol/index.js';
import type { SessionSummary } from '../../shared/protocol/index.js';

const TABS_KEY = 'holdfast.tabs';
const headers = { [KEEP_CLIENT_HEADER]: 'web' };

/** After a sign-in: the node keeps it for the next reload. Best effort: without it, a reload asks for the password. */
export async function keepSignIn(brokerUrl: string, accessToken: string): Promise<void> {
  await fetch(brokerUrl + KEEP_PATH, { method: 'POST', headers: { ...headers, Authorization: `Bearer ${accessToken}` }, credentials: 'same-origin' }).catch(() => {});
}

/** After a reload: a one-time sign-in code and the handoff it is for, or null (nothing kept, or no longer good). */
export async function renewSignIn(brokerUrl: string): Promise<{ code: string; handoff: string } | null> {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  const handoff = btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  try {
    const reply = await fetch(brokerUrl + KEEP_RENEW_PATH, { method: 'POST', headers: { ...headers, 'Content-Type': 'application/json' }, credentials: 'same-origin', body: JSON.stringify({ handoff }) });
    if (!reply.ok) return null;
    const { code } = (await reply.json()) as { code?: unknown };
    return typeof code === 'string' ? { code, handoff } : null;
  } catch {
    return null;
  }
}

/** At sign-out: the kept sign-in ends on the node too. */
export async function endKeptSignIn(brokerUrl: string): Promise<void> {
  sessionStorage.removeItem(TABS_KEY);
  await fetch(brokerUrl + KEEP_END_PATH, { method: 'POST', headers, credentials: 'same-origin' }).catch(() => {});
}

/** The sessions open in tabs now, to open again after a reload. */
export function rememberTabs(sessions: Array<Pick<SessionSummary, 'sessionId' | 'appId' | 'appName'>>): void {
  try {
    sessionStorage.setItem(TABS_KEY, JSON.stringify(sessions));
  } catch {
    /* storage refused: a reload opens none */
  }
}

/** The sessions that were open in tabs before the reload (once). */
export function takeRememberedTabs(): string[] {
  try {
    const raw: unknown = JSON.parse(sessionStorage.getItem(TABS_KEY) ?? '[]');
    return Array.isArray(raw) ? raw.flatMap((entry: { sessionId?: unknown }) => (typeof entry?.sessionId === 'string' ? [entry.sessionId] : [])) : [];
  } catch {
    return [];
  }
}
