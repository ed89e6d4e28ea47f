// Electron main process entry: one instance per user, the app scheme registered before
// ready, deep links routed to the shell. Everything else is in shell.ts.
import { app } from 'electron';
import { join } from 'node:path';
import { registerAppScheme } from './app-protocol.js';
import { DEEP_LINK_SCHEME } from './deep-link.js';
import { policyPath } from './policy.js';
import { Shell } from './shell.js';

function fallbackBroker(): string {
  const flag = process.argv.find((arg) => arg.startsWith('--broker='));
  return flag?.slice('--broker='.length) ?? process.env.HOLDFAST_BROKER ?? 'http://127.0.0.1:8080';
}

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  registerAppScheme();
  // Tests give each run its own profile; an installed app always uses the OS default.
  if (!app.isPackaged && process.env.HOLDFAST_USER_DATA) app.setPath('userData', process.env.HOLDFAST_USER_DATA);
  if (app.isPackaged) app.setAsDefaultProtocolClient(DEEP_LINK_SCHEME);
  let shell: Shell | null = null;
  const early: string[] = [];
  // macOS delivers links as events, possibly before ready.
  app.on('open-url', (event, url) => {
    event.preventDefault();
    if (shell) shell.onOpenUrl(url);
    else early.push(url);
  });
  app.on('second-instance', (_event, argv) => shell?.onSecondInstance(argv));
  app.whenReady().then(() => {
    shell = new Shell({
      rendererRoot: join(__dirname, '..', 'renderer'),
      policyFile: policyPath(process.platform, process.env, app.isPackaged),
      userData: app.getPath('userData'),
      fallbackBroker: fallbackBroker(),
      argv: [...process.argv, ...early],
    });
    shell.start();
  });
}
