// Sharing a session (docs/protocol.md#sharing-a-session): the link its owner hands
// out, and what the owner and the people watching are told. A link is
// `<session>.<share>.<secret>`: the session's id says where to route it, the share's id
// which of the session's shares it is, and the secret (never stored: the broker keeps
// its sha256) proves it was handed out. Parsed as unknown, like everything a client sends.
import { z } from 'zod';

/** What someone who opens a link may do: watch, or also type into the app. */
export const ShareMode = z.enum(['view', 'type']);
export type ShareMode = z.infer<typeof ShareMode>;

const ID = /^[A-Za-z0-9_-]{1,64}$/;
const SECRET = /^[A-Za-z0-9_-]{16,64}$/;

/** The parts of a share link, or null when it is not one. */
export function parseShareLink(link: string): { sessionId: string; shareId: string; secret: string } | null {
  // A pasted URL carries the link in its fragment: https://host/#join=LINK
  const at = link.lastIndexOf('join=');
  const token = (at >= 0 ? link.slice(at + 5) : link).trim();
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  const [sessionId, shareId, secret] = parts as [string, string, string];
  if (!ID.test(sessionId) || !ID.test(shareId) || !SECRET.test(secret)) return null;
  return { sessionId, shareId, secret };
}

export function formatShareLink(sessionId: string, shareId: string, secret: string): string {
  return `${sessionId}.${shareId}.${secret}`;
}

/** The name a guest gives (a link that lets people in without signing in): printable, short. */
export const GuestName = z
  .string()
  .trim()
  .min(1)
  .max(40)
  .regex(/^[^\p{C}]+$/u, 'a name without control characters');

/** One of a session's shares, as its owner sees it. */
export const ShareInfo = z.object({
  id: z.string().max(64),
  mode: ShareMode,
  /** When the link stops working (ms since the epoch). */
  expiresAt: z.number(),
  /** Anyone with it may watch without signing in, giving a name. */
  guests: z.boolean().optional(),
  /** The link itself: only in the answer that made it (the broker keeps only its hash). */
  link: z.string().max(256).optional(),
});
export type ShareInfo = z.infer<typeof ShareInfo>;

/** Someone watching a session through one of its shares. */
export const WatcherInfo = z.object({
  id: z.string().max(64),
  /** Who: the person's name and the name they show. */
  user: z.string().max(64),
  displayName: z.string().max(128),
  shareId: z.string().max(64),
  mode: ShareMode,
  /** Since when (ms since the epoch). */
  since: z.number(),
  /** An administrator viewing with the owner's consent (shadowing), not through a link. */
  shadow: z.boolean().optional(),
  /** Came in without signing in (a guest link): `displayName` is the name they gave. */
  guest: z.boolean().optional(),
});
export type WatcherInfo = z.infer<typeof WatcherInfo>;
