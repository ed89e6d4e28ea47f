// The broker's APIs from a page of another origin, as the desktop app's renderer
// (holdfast-app://renderer) calls them: in Debian's Chromium, a page served from another
// port of this machine — allowed in node.allowedOrigins — lists a session's files,
// uploads one (POST, then PATCH with Upload-Offset: a preflight each) and reads the
// headers a resume needs; a page of an origin nobody allowed cannot read any answer.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Screen, client, launch, sh, startNode, type TestNode } from '../support/harness.js';
import type { SessionStream } from '../shared/core/index.js';
import { launchChromium } from './page.js';

let node: TestNode;
let browser: Browser;
let stream: SessionStream;
let screen: Screen;
let token = '';
const pages: Server[] = [];

/** A server of one empty page: another origin than the node's. */
async function pageServer(): Promise<string> {
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'Content-Type': 'text/html' });
    response.end('<!doctype html><title>elsewhere</title>');
  });
  pages.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

let allowed = '';
let other = '';

beforeAll(async () => {
  allowed = await pageServer();
  other = await pageServer();
  node = await startNode({ node: { allowedOrigins: [allowed] } });
  const ann = client(node.url);
  await ann.signIn('ann', 'ann-pw');
  token = ann.apiToken!;
  stream = await launch(ann, 'shell');
  screen = new Screen(stream);
  await screen.waitFor('$ ');
  await sh(stream, screen, 'echo hello > hello.txt');
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close().catch(() => {});
  stream?.close();
  await node?.stop();
  for (const server of pages) server.close();
});

/** Runs the calls from a page at `origin`: what it could read of each answer. */
async function fromPage(origin: string) {
  const page = await browser.newPage();
  await page.goto(origin);
  const result = await page.evaluate(
    async ({ broker, id, bearer }) => {
      const auth = { authorization: `Bearer ${bearer}` };
      const tryRead = async (run: () => Promise<Response>) => {
        try {
          const reply = await run();
          return { status: reply.status, body: await reply.text(), etag: reply.headers.get('etag'), length: reply.headers.get('content-length') };
        } catch (error) {
          return { error: String(error) };
        }
      };
      const base = `${broker}/api/sessions/${id}`;
      const listing = await tryRead(() => fetch(`${base}/files?path=`, { headers: auth }));
      const content = await tryRead(() => fetch(`${base}/files/content?path=hello.txt`, { headers: auth }));
      const begun = await tryRead(() => fetch(`${base}/uploads`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ path: 'from-page.txt', size: 5 }) }));
      const upload = 'body' in begun ? (JSON.parse(begun.body ?? '{}') as { upload?: number }).upload : undefined;
      const sent = upload ? await tryRead(() => fetch(`${base}/uploads/${upload}`, { method: 'PATCH', headers: { ...auth, 'upload-offset': '0' }, body: 'page!' })) : null;
      return { listing, content, begun, sent };
    },
    { broker: node.url, id: stream.sessionId!, bearer: token },
  );
  await page.close();
  return result;
}

describe('the APIs from a page of another origin', () => {
  it('answer an allowed origin (as the desktop app’s pages are): files, a resume’s headers, an upload with its preflights', async () => {
    const result = await fromPage(allowed);
    expect(result.listing).toMatchObject({ status: 200 });
    expect(result.content).toMatchObject({ status: 200, body: 'hello\n', length: '6' });
    expect(result.content).toHaveProperty('etag', expect.stringMatching(/^".+"$/));
    expect(result.begun).toMatchObject({ status: 201 });
    expect(result.sent).toMatchObject({ status: 200 });
    expect(JSON.parse((result.sent as { body: string }).body)).toMatchObject({ status: 'done', path: 'from-page.txt' });
    expect((await sh(stream, screen, 'cat from-page.txt; echo')).output).toContain('page!');
  }, 30_000);

  it('let no other origin read an answer', async () => {
    const result = await fromPage(other);
    for (const call of [result.listing, result.content, result.begun]) expect(call).toMatchObject({ error: expect.stringContaining('Failed to fetch') });
    expect(result.sent).toBeNull();
  }, 30_000);
});
