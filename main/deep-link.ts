// holdfast:// links. Only one form is understood, holdfast://launch/<appId>; anything
// else is ignored (a link is untrusted input from any web page or document).
import { z } from 'zod';

export const DEEP_LINK_SCHEME = 'holdfast';

const AppId = z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/);
const LaunchLink = z
  .string()
  .max(256)
  .regex(/^holdfast:\/\/launch\/[^/?#]+\/?([?#].*)?$/i)
  .transform((url) => /^holdfast:\/\/launch\/([^/?#]+)/i.exec(url)![1]!)
  .pipe(AppId);

export interface DeepLink {
  kind: 'launch';
  appId: string;
}

export function parseDeepLink(url: unknown): DeepLink | null {
  const parsed = LaunchLink.safeParse(url);
  return parsed.success ? { kind: 'launch', appId: parsed.data } : null;
}

/** The link among a process's arguments (Windows and Linux pass it there), if any. */
export function deepLinkFromArgv(argv: readonly string[]): DeepLink | null {
  for (const arg of argv) {
    if (!arg.toLowerCase().startsWith(`${DEEP_LINK_SCHEME}://`)) continue;
    const link = parseDeepLink(arg);
    if (link) return link;
  }
  return null;
}
