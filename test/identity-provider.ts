// A real OpenID provider for tests (panva's oidc-provider) on 127.0.0.1, port 0. Its
// own development login and consent pages stand in for a company's sign-in page: any
// login name with any password signs in as that account. PKCE is required of every
// client. Started in two steps because the client's redirect URLs (the nodes' ports)
// are known only after the nodes listen, and the nodes need the issuer first.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider, { type Configuration } from 'oidc-provider';
import { exportJWK, generateKeyPair } from 'jose';
import type { Page } from 'playwright-core';

export const CLIENT_ID = 'holdfast';
export const CLIENT_SECRET = 'test-client-secret';

/** What the provider says about each login name (anyone else: their name and no groups). */
export type Directory = Record<string, { name?: string; groups?: string[] }>;

export interface TestIdentityProvider {
  issuer: string;
  /** Registers the Holdfast client with these redirect URLs and starts answering. */
  serve(redirectUris: string[]): Promise<void>;
  stop(): Promise<void>;
}

export async function startIdentityProvider(directory: Directory): Promise<TestIdentityProvider> {
  const server: Server = createServer((_request, response) => {
    response.writeHead(503).end('not serving yet');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    issuer,
    async serve(redirectUris) {
      const { privateKey } = await generateKeyPair('RS256', { extractable: true });
      const configuration: Configuration = {
        clients: [{ client_id: CLIENT_ID, client_secret: CLIENT_SECRET, redirect_uris: redirectUris, response_types: ['code'], grant_types: ['authorization_code'], token_endpoint_auth_method: 'client_secret_basic' }],
        jwks: { keys: [{ ...(await exportJWK(privateKey)), kid: 'test-key', alg: 'RS256', use: 'sig' }] },
        cookies: { keys: ['test-cookie-key-which-is-long-enough'] },
        pkce: { required: () => true },
        claims: { openid: ['sub'], profile: ['preferred_username', 'name', 'groups'], email: ['email'] },
        features: { devInteractions: { enabled: true } },
        async findAccount(_ctx, id) {
          const entry = directory[id] ?? {};
          return {
            accountId: id,
            async claims() {
              return { sub: id, preferred_username: id, name: entry.name ?? id, groups: entry.groups ?? [], email: `${id}@example.com` };
            },
          };
        },
      };
      const provider = new Provider(issuer, configuration);
      const callback = provider.callback();
      server.removeAllListeners('request');
      server.on('request', callback);
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Signs in at the provider's development pages as `login`, and consents if asked. */
export async function signInAtProvider(page: Page, login: string): Promise<void> {
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill('any password');
  await page.getByRole('button', { name: 'Sign-in' }).click();
  const consent = page.getByRole('button', { name: 'Continue' });
  await consent.waitFor();
  await consent.click();
}
