// The renderer's only door to the main process: named functions, no ipcRenderer.
import { contextBridge, ipcRenderer } from 'electron';
import type { DesktopApi, DesktopConfig } from '../shared/ipc.js';

const api: DesktopApi = {
  getConfig: () => ipcRenderer.invoke('holdfast:config.get') as Promise<DesktopConfig>,
};

contextBridge.exposeInMainWorld('holdfast', api);
