// The renderer's only door to the main process: named functions, no ipcRenderer.
// Channel names are checked against the contract in shared/ipc.ts at compile time;
// only types are imported, so nothing but this file runs in the preload.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { DesktopApi, IpcChannel, IpcEvent, IpcEventPayload, IpcReply, IpcRequest } from '../shared/ipc.js';

const invoke = <C extends IpcChannel>(channel: C, ...args: IpcRequest<C>): Promise<IpcReply<C>> => ipcRenderer.invoke(channel, ...args) as Promise<IpcReply<C>>;

/** Subscribes without handing the IPC event to the page; returns the unsubscribe. */
function listen<E extends IpcEvent>(event: E, listener: (payload: IpcEventPayload<E>) => void): () => void {
  const wrapped = (_event: IpcRendererEvent, payload: IpcEventPayload<E>) => listener(payload);
  ipcRenderer.on(event, wrapped);
  return () => void ipcRenderer.removeListener(event, wrapped);
}

const api: DesktopApi = {
  getConfig: () => invoke('holdfast:config.get'),
  setSettings: (patch) => invoke('holdfast:settings.set', patch),
  loadCredential: () => invoke('holdfast:credential.load'),
  saveCredential: (credential) => invoke('holdfast:credential.save', credential),
  clearCredential: () => invoke('holdfast:credential.clear'),
  loadKioskSecret: () => invoke('holdfast:kiosk.secret.load'),
  saveKioskSecret: (secret) => invoke('holdfast:kiosk.secret.save', secret),
  kioskEscape: (secret) => invoke('holdfast:kiosk.escape', secret),
  installUpdate: () => invoke('holdfast:update.install'),
  takePendingLaunch: () => invoke('holdfast:launch.take'),
  startOidc: (handoff) => invoke('holdfast:oidc.start', handoff),
  printPdf: (bytes, name) => invoke('holdfast:print.pdf', bytes, name),
  onUpdateStatus: (listener) => listen('holdfast:update.status', listener),
  onLaunchRequested: (listener) => listen('holdfast:launch.requested', listener),
  onKioskEscapeRequested: (listener) => listen('holdfast:kiosk.escapeRequested', () => listener()),
  onOidcCode: (listener) => listen('holdfast:oidc.code', listener),
};

contextBridge.exposeInMainWorld('holdfast', api);
