// Every IPC channel between the Electron main process and the renderer, declared
// once. Channel names carry the `holdfast:` prefix; main parses every argument with
// the schema here and checks the sender frame; the preload exposes named functions.
import { z } from 'zod';

export const DesktopConfig = z.object({
  /** The broker the desktop client signs in to. */
  brokerUrl: z.string().url(),
  /** The shell's own version, for the about box and support. */
  version: z.string(),
});
export type DesktopConfig = z.infer<typeof DesktopConfig>;

export const ipcContract = {
  'holdfast:config.get': { request: z.tuple([]), reply: DesktopConfig },
} as const;
export type IpcChannel = keyof typeof ipcContract;

/** What the preload puts on window.holdfast. */
export interface DesktopApi {
  getConfig(): Promise<DesktopConfig>;
}
