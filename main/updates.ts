// Auto-update with electron-updater's generic provider: a broker node serves the feed
// (latest.yml family and installers) from a directory. electron-updater checks each
// download's sha512 from the feed, and on Windows the installer's signature against
// the publisher in app-update.yml, before anything is installed. On a desktop the
// person is told and restarts now or later; a kiosk installs in its maintenance window.
import { autoUpdater, type AppUpdater } from 'electron-updater';
import { z } from 'zod';
import type { UpdateStatus } from '../shared/ipc.js';
import { MaintenanceWindow, UpdateChannel, type MachinePolicy } from '../shared/policy.js';

/** What the updater is configured with, parsed like every other boundary. */
export const UpdateFeedConfig = z
  .object({
    url: z.string().url().regex(/^https?:\/\//),
    channel: UpdateChannel,
    kiosk: z.boolean(),
    checkEveryMs: z.number().int().min(60_000),
    maintenanceWindow: MaintenanceWindow,
  })
  .strict();
export type UpdateFeedConfig = z.infer<typeof UpdateFeedConfig>;

/**
 * The feed a policy names: updates.feedUrl, else its first broker's /updates/. Null when
 * updates are off or there is no policy: a broker a person typed in never becomes the
 * source of code this machine installs (a .deb or .rpm update installs as root).
 */
export function updateFeedConfig(policy: MachinePolicy | null, channel: UpdateChannel): UpdateFeedConfig | null {
  if (!policy || !policy.updates.enabled) return null;
  const { updates } = policy;
  const url = updates.feedUrl ?? (policy.brokers ? `${policy.brokers[0]}/updates/` : null);
  if (!url) return null;
  return UpdateFeedConfig.parse({
    url,
    channel,
    kiosk: policy.kiosk !== undefined,
    checkEveryMs: Math.round(updates.checkEveryHours * 3_600_000),
    maintenanceWindow: updates.maintenanceWindow,
  });
}

const minutesOf = (clock: string): number => Number(clock.slice(0, 2)) * 60 + Number(clock.slice(3, 5));

/** 0 inside the window (local time; it may cross midnight), else milliseconds until it opens. */
export function msUntilWindow(now: Date, window: MaintenanceWindow): number {
  const start = minutesOf(window.start);
  const end = minutesOf(window.end);
  const minute = now.getHours() * 60 + now.getMinutes();
  const inside = start <= end ? minute >= start && minute < end : minute >= start || minute < end;
  if (inside) return 0;
  const opens = new Date(now);
  opens.setHours(Math.floor(start / 60), start % 60, 0, 0);
  if (opens.getTime() <= now.getTime()) opens.setDate(opens.getDate() + 1);
  return opens.getTime() - now.getTime();
}

export interface UpdateController {
  /** Quit and install the downloaded update now (the person chose "Restart now"). */
  installNow(): void;
  stop(): void;
}

export interface UpdateHooks {
  send(status: UpdateStatus): void;
  /** Called just before the app quits to install (a kiosk releases its guard here). */
  beforeInstall(): void;
  now?: () => Date;
  updater?: AppUpdater;
}

export function startUpdates(config: UpdateFeedConfig, hooks: UpdateHooks): UpdateController {
  const updater = hooks.updater ?? autoUpdater;
  const now = hooks.now ?? (() => new Date());
  updater.autoDownload = true;
  // A desktop that chose "Later" gets the update when it quits; a kiosk waits for its window.
  updater.autoInstallOnAppQuit = !config.kiosk;
  // The feed server answers whole files only; a differential download would fall back anyway.
  updater.disableDifferentialDownload = true;
  updater.setFeedURL({ provider: 'generic', url: config.url, channel: config.channel === 'beta' ? 'beta' : 'latest' });
  // Setting a channel turns downgrades on; a machine moved from beta to stable keeps its
  // version until stable passes it, rather than installing an older build.
  updater.allowDowngrade = false;

  let available = '';
  let downloaded: string | null = null;
  let installTimer: NodeJS.Timeout | undefined;
  const install = () => {
    if (!downloaded) return;
    hooks.beforeInstall();
    updater.quitAndInstall(config.kiosk, true);
  };
  const scheduleKioskInstall = () => {
    clearTimeout(installTimer);
    installTimer = setTimeout(install, msUntilWindow(now(), config.maintenanceWindow));
  };

  updater.on('update-available', (info) => {
    available = info.version;
    hooks.send({ state: 'downloading', version: available, percent: 0 });
  });
  updater.on('download-progress', (progress) => {
    if (!downloaded) hooks.send({ state: 'downloading', version: available, percent: Math.max(0, Math.min(100, progress.percent)) });
  });
  updater.on('update-not-available', () => {
    if (!downloaded) hooks.send({ state: 'idle' });
  });
  updater.on('update-downloaded', (event) => {
    downloaded = event.version;
    if (config.kiosk) scheduleKioskInstall();
    else hooks.send({ state: 'ready', version: event.version });
  });
  updater.on('error', (error) => hooks.send({ state: 'error', message: `Could not update Holdfast: ${error.message}` }));

  const check = () => void updater.checkForUpdates().catch(() => {});
  check();
  const timer = setInterval(check, config.checkEveryMs);
  timer.unref?.();
  return {
    installNow: () => {
      if (!config.kiosk) install();
    },
    stop: () => {
      clearInterval(timer);
      clearTimeout(installTimer);
    },
  };
}
