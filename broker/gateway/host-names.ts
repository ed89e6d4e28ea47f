// The names a node answers to, for the WebSocket's page check: a browser sends the
// Host it asked for, and a page served by the node itself has that as its Origin. A
// page whose own name was made to resolve to the node (DNS rebinding: evil.example →
// 127.0.0.1) sends Host and Origin both evil.example; only a name the node really
// answers to may count as "its own page".
import { hostname, networkInterfaces } from 'node:os';

export interface HostNameSources {
  /** node.hostNames: names an operator adds (a DNS name the node is reached by). */
  configured: string[];
  /** The address it listens on (node.listen.host). */
  listenHost: string;
  /** URLs it is known by: its own, the advertised one, the cluster's nodes'. */
  urls: string[];
  /** The names its TLS certificate is for. */
  certificateNames: string[];
}

const UNSPECIFIED = new Set(['', '0.0.0.0', '::', '[::]']);

/** Host names (lowercase, IPv6 in brackets, no port) the node answers to. */
export function hostNames(sources: HostNameSources): Set<string> {
  const names = new Set(['localhost', '127.0.0.1', '[::1]']);
  const add = (name: string) => names.add(bracketed(name.toLowerCase()));
  for (const name of [...sources.configured, ...sources.certificateNames]) add(name);
  for (const url of sources.urls) {
    try {
      names.add(new URL(url).hostname.toLowerCase());
    } catch {
      /* not a URL: nothing to add */
    }
  }
  if (!UNSPECIFIED.has(sources.listenHost)) add(sources.listenHost);
  else {
    // Listening on every address: each of this machine's, and its name.
    add(hostname());
    for (const addresses of Object.values(networkInterfaces())) for (const address of addresses ?? []) add(address.address);
  }
  return names;
}

/** The host name in a Host header (lowercase, no port), or null when it is not one. */
export function hostOf(header: string | undefined): string | null {
  if (!header) return null;
  try {
    return new URL(`http://${header}`).hostname.toLowerCase();
  } catch {
    return null;
  }
}

function bracketed(name: string): string {
  return name.includes(':') && !name.startsWith('[') ? `[${name}]` : name;
}
