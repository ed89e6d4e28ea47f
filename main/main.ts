// Electron main process: one secure window showing the same renderer bundle the
// broker serves to browsers. OS integration only; no sockets, no session logic.
import { app, BrowserWindow, ipcMain, type IpcMainInvokeEvent } from 'electron';
import { join } from 'node:path';
import { DesktopConfig, ipcContract, type IpcChannel } from '../shared/ipc.js';
import { lockDownWebContents, secureWindowOptions } from './windows.js';

const rendererIndex = join(__dirname, '..', 'renderer', 'index.html');
let mainWindow: BrowserWindow | null = null;

function brokerUrl(): string {
  const flag = process.argv.find((arg) => arg.startsWith('--broker='));
  return flag?.slice('--broker='.length) ?? process.env.HOLDFAST_BROKER ?? 'http://127.0.0.1:8080';
}

/** Registers a handler whose arguments are parsed by the channel's schema and whose sender must be our window. */
function handle<C extends IpcChannel>(channel: C, handler: () => unknown): void {
  ipcMain.handle(channel, (event: IpcMainInvokeEvent, ...args: unknown[]) => {
    if (!mainWindow || event.sender !== mainWindow.webContents || event.senderFrame !== mainWindow.webContents.mainFrame) {
      throw new Error(`${channel}: refused, not from the Holdfast window`);
    }
    ipcContract[channel].request.parse(args);
    return ipcContract[channel].reply.parse(handler());
  });
}

function createWindow(): void {
  mainWindow = new BrowserWindow({ ...secureWindowOptions(), title: 'Holdfast' });
  mainWindow.once('ready-to-show', () => mainWindow?.show());
  mainWindow.on('closed', () => (mainWindow = null));
  void mainWindow.loadFile(rendererIndex);
}

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('second-instance', () => {
    if (mainWindow?.isMinimized()) mainWindow.restore();
    mainWindow?.focus();
  });
  app.whenReady().then(() => {
    lockDownWebContents();
    handle('holdfast:config.get', () => DesktopConfig.parse({ brokerUrl: brokerUrl(), version: app.getVersion() }));
    createWindow();
  });
  app.on('window-all-closed', () => app.quit());
}
