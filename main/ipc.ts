// IPC in main: every handler's arguments are parsed by the channel's schema in
// shared/ipc.ts, its reply too, and a request is served only when it comes from the
// Holdfast window's own top frame showing Holdfast's own page.
import { ipcMain, type BrowserWindow, type IpcMainInvokeEvent, type WebContents } from 'electron';
import { ipcContract, ipcEvents, type IpcChannel, type IpcEvent, type IpcEventPayload, type IpcReply, type IpcRequest } from '../shared/ipc.js';
import { describeIssues } from '../shared/policy.js';
import { APP_ORIGIN } from './app-protocol.js';

/** True only for the main frame of `window`, showing a holdfast-app:// page. */
export function isFromWindow(window: BrowserWindow | null, event: IpcMainInvokeEvent): boolean {
  if (!window || window.isDestroyed()) return false;
  const frame = event.senderFrame;
  return event.sender === window.webContents && frame !== null && frame === window.webContents.mainFrame && frame.url.startsWith(`${APP_ORIGIN}/`);
}

export function handleIpc<C extends IpcChannel>(
  channel: C,
  trusted: (event: IpcMainInvokeEvent) => boolean,
  handler: (...args: IpcRequest<C>) => IpcReply<C> | Promise<IpcReply<C>>,
): void {
  const contract = ipcContract[channel];
  ipcMain.handle(channel, async (event: IpcMainInvokeEvent, ...args: unknown[]) => {
    if (!trusted(event)) throw new Error(`${channel}: refused, not from the Holdfast window`);
    const parsed = contract.request.safeParse(args);
    if (!parsed.success) throw new Error(`${channel}: refused, ${describeIssues(parsed.error).join('; ')}`);
    const reply = await handler(...(parsed.data as IpcRequest<C>));
    return contract.reply.parse(reply);
  });
}

/** Sends a notification the contract declares, checked against its schema on the way out. */
export function sendEvent<E extends IpcEvent>(contents: WebContents | undefined, event: E, payload: IpcEventPayload<E>): void {
  if (!contents || contents.isDestroyed()) return;
  contents.send(event, ipcEvents[event].parse(payload));
}
