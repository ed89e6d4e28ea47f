// The updater's wiring against a fake electron-updater: where the feed is, which
// channel, what the person is told, and when a kiosk installs.
import { describe, expect, it } from 'vitest';
import { MachinePolicy } from '../shared/policy.js';
import { FakeUpdater } from '../test/fake-electron.js';
import type { UpdateStatus } from '../shared/ipc.js';
import { msUntilWindow, startUpdates, updateFeedConfig } from './updates.js';
import type { AppUpdater } from 'electron-updater';

const at = (h: number, m = 0) => new Date(2030, 5, 15, h, m);

describe('feed configuration', () => {
  it('defaults to the policy’s first broker’s /updates/, every 4 hours', () => {
    const policy = MachinePolicy.parse({ brokers: ['https://a.example.com', 'https://b.example.com'] });
    expect(updateFeedConfig(policy, 'stable')).toMatchObject({ url: 'https://a.example.com/updates/', channel: 'stable', kiosk: false, checkEveryMs: 4 * 3_600_000 });
  });

  it('never takes updates from a broker the person chose: no policy feed, no updates', () => {
    expect(updateFeedConfig(null, 'stable')).toBeNull();
    expect(updateFeedConfig(MachinePolicy.parse({}), 'stable')).toBeNull();
  });

  it('takes the policy’s feed, channel and interval; nothing when updates are off', () => {
    const policy = MachinePolicy.parse({ brokers: ['https://a.example.com'], updates: { feedUrl: 'https://updates.example.com/holdfast/', checkEveryHours: 1 } });
    expect(updateFeedConfig(policy, 'beta')).toMatchObject({ url: 'https://updates.example.com/holdfast/', channel: 'beta', checkEveryMs: 3_600_000 });
    expect(updateFeedConfig(MachinePolicy.parse({ brokers: ['https://a.example.com'], updates: { enabled: false } }), 'stable')).toBeNull();
  });
});

describe('maintenance window', () => {
  it('is 0 inside the window and the wait until it opens outside', () => {
    const window = { start: '02:00', end: '04:00' };
    expect(msUntilWindow(at(3), window)).toBe(0);
    expect(msUntilWindow(at(1, 30), window)).toBe(30 * 60_000);
    expect(msUntilWindow(at(4), window)).toBe(22 * 3_600_000);
  });

  it('may cross midnight', () => {
    const window = { start: '23:00', end: '01:00' };
    expect(msUntilWindow(at(23, 30), window)).toBe(0);
    expect(msUntilWindow(at(0, 30), window)).toBe(0);
    expect(msUntilWindow(at(22), window)).toBe(3_600_000);
  });
});

describe('updater wiring', () => {
  const start = (kiosk: boolean, channel: 'stable' | 'beta' = 'stable') => {
    const updater = new FakeUpdater();
    const sent: UpdateStatus[] = [];
    let released = 0;
    const controller = startUpdates(
      { url: 'https://a.example.com/updates/', channel, kiosk, checkEveryMs: 3_600_000, maintenanceWindow: { start: '02:00', end: '04:00' } },
      { send: (status) => sent.push(status), beforeInstall: () => (released += 1), updater: updater as unknown as AppUpdater },
    );
    return { updater, sent, controller, released: () => released };
  };

  it('uses the generic provider with the channel’s feed file, checks at once, and never downgrades', () => {
    const { updater, controller } = start(false, 'beta');
    expect(updater.feed).toEqual({ provider: 'generic', url: 'https://a.example.com/updates/', channel: 'beta' });
    expect(updater.allowDowngrade).toBe(false);
    expect(updater.autoDownload).toBe(true);
    expect(updater.checks).toBe(1);
    controller.stop();
    expect(start(false, 'stable').updater.feed).toMatchObject({ channel: 'latest' });
  });

  it('tells the person about a download and a ready update; "restart now" quits and installs', () => {
    const { updater, sent, controller, released } = start(false);
    controller.installNow();
    expect(updater.installs).toEqual([]);
    updater.emit('update-available', { version: '0.6.0' });
    updater.emit('download-progress', { percent: 42.5 });
    updater.emit('update-downloaded', { version: '0.6.0' });
    expect(sent).toEqual([
      { state: 'downloading', version: '0.6.0', percent: 0 },
      { state: 'downloading', version: '0.6.0', percent: 42.5 },
      { state: 'ready', version: '0.6.0' },
    ]);
    // "Later": nothing happens until the app quits, when electron-updater installs it.
    expect(updater.autoInstallOnAppQuit).toBe(true);
    controller.installNow();
    expect(released()).toBe(1);
    expect(updater.installs).toEqual([{ isSilent: false, forceRunAfter: true }]);
    controller.stop();
  });

  it('reports a failed check or a bad download (a sha512 mismatch) as an error', () => {
    const { updater, sent, controller } = start(false);
    updater.emit('error', new Error('sha512 checksum mismatch'));
    expect(sent).toEqual([{ state: 'error', message: 'Could not update Holdfast: sha512 checksum mismatch' }]);
    controller.stop();
  });

  it('a kiosk ignores "restart now" and does not install on quit', () => {
    const { updater, controller } = start(true);
    updater.emit('update-downloaded', { version: '0.6.0' });
    controller.installNow();
    expect(updater.installs).toEqual([]);
    expect(updater.autoInstallOnAppQuit).toBe(false);
    controller.stop();
  });
});
