// holdfast:// links. Two forms are understood, anything else is ignored (a link is
// untrusted input from any web page or document):
//   holdfast://launch/<appId>                   launch that app (after sign-in)
//   holdfast://oidc?code=<code>&broker=<origin> the one-time code of a sign-in through the
//                                               broker's identity provider (docs/desktop.md)
import { z } from 'zod';
import { SignInCodeSchema } from '../shared/protocol/sign-in-methods.js';

export const DEEP_LINK_SCHEME = 'holdfast';

const AppId = z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/);
const LaunchLink = z
  .string()
  .max(256)
  .regex(/^holdfast:\/\/launch\/[^/?#]+\/?([?#].*)?$/i)
  .transform((url) => /^holdfast:\/\/launch\/([^/?#]+)/i.exec(url)![1]!)
  .pipe(AppId);

const OidcLink = z
  .string()
  .max(1024)
  .regex(/^holdfast:\/\/oidc\/?\?[^#]*$/i)
  .transform((url, ctx) => {
    const query = new URLSearchParams(url.slice(url.indexOf('?') + 1));
    const code = SignInCodeSchema.safeParse(query.get('code'));
    const broker = originOf(query.get('broker'));
    if (!code.success || broker === null || query.getAll('code').length !== 1) {
      ctx.addIssue({ code: 'custom', message: 'not a sign-in link' });
      return z.NEVER;
    }
    return { code: code.data, broker };
  });

export type DeepLink = { kind: 'launch'; appId: string } | { kind: 'oidc'; code: string; broker: string };

export function parseDeepLink(url: unknown): DeepLink | null {
  const launch = LaunchLink.safeParse(url);
  if (launch.success) return { kind: 'launch', appId: launch.data };
  const oidc = OidcLink.safeParse(url);
  return oidc.success ? { kind: 'oidc', ...oidc.data } : null;
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

/** scheme://host[:port] of an http(s) URL, lower case; null for anything else. */
export function originOf(url: string | null | undefined): string | null {
  if (!url) return null;
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.origin.toLowerCase() : null;
  } catch {
    return null;
  }
}
