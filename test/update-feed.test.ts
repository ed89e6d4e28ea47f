// A broker node serves the desktop app's update feed from node.updatesDir, and
// electron-updater's own code reads it: its generic provider finds the channel file
// for each platform and channel and parses it, and its downloader checks the sha512
// the feed gives — a tampered installer is refused.
import { createHash } from 'node:crypto';
import { request as httpRequest, type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancellationToken, HttpExecutor, configureRequestOptions, configureRequestUrl, type DownloadOptions } from 'builder-util-runtime';
import { GenericProvider } from 'electron-updater/out/providers/GenericProvider.js';
import type { ProviderRuntimeOptions } from 'electron-updater/out/providers/Provider.js';
import { startNode, type TestNode } from '../support/harness.js';

/**
 * electron-updater's HttpExecutor over Node's http instead of Electron's net (no
 * Electron here); download() is ElectronHttpExecutor's, so the checksum check is the
 * one the app runs.
 */
class NodeExecutor extends HttpExecutor<ClientRequest> {
  createRequest(options: RequestOptions, callback: (response: IncomingMessage) => void): ClientRequest {
    return httpRequest(options, callback);
  }

  download(url: URL, destination: string, options: DownloadOptions): Promise<string> {
    return options.cancellationToken.createPromise((resolve, reject, onCancel) => {
      const requestOptions: RequestOptions & { redirect?: string } = { headers: options.headers ?? undefined, redirect: 'manual' };
      configureRequestUrl(url, requestOptions);
      configureRequestOptions(requestOptions);
      this.doDownload(requestOptions, { destination, options, onCancel, callback: (error) => (error == null ? resolve(destination) : reject(error)), responseHandler: null }, 0);
    });
  }
}

const VERSION = '0.6.0';
let t: TestNode;
let feedDir: string;
let work: string;
const executor = new NodeExecutor();

const sha512 = (bytes: Buffer) => createHash('sha512').update(bytes).digest('base64');

/** A release as electron-builder lays it out for the generic provider: the installer and its channel file. */
function publish(channelFile: string, artifact: string, bytes: Buffer, version = VERSION): void {
  writeFileSync(join(feedDir, artifact), bytes);
  const hash = sha512(bytes);
  writeFileSync(
    join(feedDir, channelFile),
    [
      `version: ${version}`,
      'files:',
      `  - url: ${artifact}`,
      `    sha512: ${hash}`,
      `    size: ${bytes.length}`,
      `path: ${artifact}`,
      `sha512: ${hash}`,
      `releaseDate: '2030-06-15T02:00:00.000Z'`,
      '',
    ].join('\n'),
  );
}

function provider(platform: ProviderRuntimeOptions['platform'], channel: string | null = null, base = `${t.url}/updates/`): GenericProvider {
  const updater = { channel, isAddNoCacheQuery: false } as unknown as ConstructorParameters<typeof GenericProvider>[1];
  return new GenericProvider({ provider: 'generic', url: base }, updater, { isUseMultipleRangeRequest: false, platform, executor: executor as unknown as ProviderRuntimeOptions['executor'] });
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'holdfast-feed-'));
  feedDir = join(work, 'updates');
  mkdirSync(feedDir);
  t = await startNode({ node: { updatesDir: feedDir } });
  publish('latest-linux.yml', `Holdfast-${VERSION}.AppImage`, Buffer.from('an AppImage, honestly '.repeat(5000)));
  publish('latest.yml', `Holdfast-Setup-${VERSION}.exe`, Buffer.from('an NSIS installer '.repeat(3000)));
  publish('latest-mac.yml', `Holdfast-${VERSION}-mac.zip`, Buffer.from('a mac zip '.repeat(3000)));
  publish('beta-linux.yml', 'Holdfast-0.7.0-beta.1.AppImage', Buffer.from('a beta AppImage '.repeat(3000)), '0.7.0-beta.1');
  writeFileSync(join(work, 'secret.txt'), 'not for download');
});
afterAll(async () => {
  await t?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('the update feed a broker node serves', () => {
  it('is read by electron-updater’s generic provider for each platform', async () => {
    for (const [platform, artifact] of [
      ['linux', `Holdfast-${VERSION}.AppImage`],
      ['win32', `Holdfast-Setup-${VERSION}.exe`],
      ['darwin', `Holdfast-${VERSION}-mac.zip`],
    ] as const) {
      const feed = provider(platform);
      const info = await feed.getLatestVersion();
      expect(info.version, platform).toBe(VERSION);
      const [file] = feed.resolveFiles(info);
      expect(file!.url.href, platform).toBe(`${t.url}/updates/${artifact}`);
      expect(file!.info.sha512, platform).toBe(sha512(readFileSync(join(feedDir, artifact))));
    }
  });

  it('serves the beta channel’s own file', async () => {
    const info = await provider('linux', 'beta').getLatestVersion();
    expect(info.version).toBe('0.7.0-beta.1');
  });

  it('an installer downloads when its sha512 matches the feed, and is refused when it does not', async () => {
    const feed = provider('linux');
    const [file] = feed.resolveFiles(await feed.getLatestVersion());
    const destination = join(work, 'download.AppImage');
    await executor.download(file!.url, destination, { cancellationToken: new CancellationToken(), sha512: file!.info.sha512 });
    expect(readFileSync(destination).equals(readFileSync(join(feedDir, `Holdfast-${VERSION}.AppImage`)))).toBe(true);

    // Someone replaces the installer on the node, but not the feed's hash.
    const artifact = join(feedDir, `Holdfast-${VERSION}.AppImage`);
    const original = readFileSync(artifact);
    writeFileSync(artifact, Buffer.concat([original.subarray(0, 100), Buffer.from('evil'), original.subarray(104)]));
    try {
      await expect(executor.download(file!.url, join(work, 'tampered.AppImage'), { cancellationToken: new CancellationToken(), sha512: file!.info.sha512 })).rejects.toThrow(/sha512 checksum mismatch/);
    } finally {
      writeFileSync(artifact, original);
    }
  });

  it('a missing channel is electron-updater’s "channel file not found", not a crash', async () => {
    await expect(provider('linux', 'nightly').getLatestVersion()).rejects.toThrow(/Cannot find channel "nightly-linux.yml"/);
  });

  it('serves nothing outside the directory, and nothing on a node without one', async () => {
    for (const path of ['../secret.txt', '%2e%2e/secret.txt', '..%2fsecret.txt', '.hidden']) {
      const response = await fetch(`${t.url}/updates/${path}`);
      expect(response.status, path).toBe(404);
    }
    // Issue 21 (7): a link in the directory must not serve what it points at — the host's
    // secrets (here a stand-in for /etc/shadow), or even another file of the feed.
    writeFileSync(join(work, 'shadow'), 'root:$y$secret:19000:0:99999:7:::\n');
    symlinkSync(join(work, 'shadow'), join(feedDir, 'alpha-mac.yml'));
    symlinkSync(join(feedDir, 'latest-linux.yml'), join(feedDir, 'alpha-linux.yml'));
    for (const name of ['alpha-mac.yml', 'alpha-linux.yml']) {
      const response = await fetch(`${t.url}/updates/${name}`);
      expect(response.status, name).toBe(404);
      expect(await response.text(), name).not.toContain('secret');
    }
    const yml = await fetch(`${t.url}/updates/latest-linux.yml`);
    expect(yml.headers.get('content-type')).toBe('text/yaml; charset=utf-8');
    expect(yml.headers.get('cache-control')).toBe('no-cache');
    const bare = await startNode();
    try {
      const response = await fetch(`${bare.url}/updates/latest-linux.yml`);
      expect(response.status).toBe(404);
      expect(await response.text()).toMatch(/serves no update feed/);
    } finally {
      await bare.stop();
    }
  });
});
