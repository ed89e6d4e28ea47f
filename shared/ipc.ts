// Every IPC channel between the Electron main process and the renderer, declared
// once. Channel names carry the `holdfast:` prefix; main parses every argument with
// the schema here and checks the sender frame; the preload exposes named functions.
import { z } from 'zod';
import { BrokerUrl, UpdateChannel, SETTING_NAMES, SoundPolicy } from './policy.js';
import { HandoffSchema, SignInCodeSchema } from './protocol/sign-in-methods.js';

export const DesktopConfig = z.object({
  /** The broker the desktop client signs in to. */
  brokerUrl: z.string().url(),
  /** The shell's own version, for the about box and support. */
  version: z.string(),
  /** Set when the machine policy is invalid: the shell runs nothing else and shows this. */
  policyError: z.object({ file: z.string(), problems: z.array(z.string()) }).nullable(),
  /** Kiosk terminal: the account it signs in as; null on an everyday desktop. */
  kiosk: z.object({ account: z.string() }).nullable(),
  /** Launch this app once signed in (policy). */
  autoLaunchApp: z.string().nullable(),
  /** Whether "remember me" is offered: allowed by policy and safeStorage can encrypt here. */
  rememberMe: z.object({ offered: z.boolean(), reason: z.string().nullable() }),
  /** Sound on this machine, as its policy has it (all allowed without one). */
  sound: SoundPolicy,
  settings: z.object({
    brokerUrl: z.string(),
    updateChannel: UpdateChannel,
    locked: z.array(z.enum(SETTING_NAMES)),
  }),
});
export type DesktopConfig = z.infer<typeof DesktopConfig>;

/** A refresh credential, kept encrypted by main ("remember me"). */
export const StoredCredential = z.object({
  brokerUrl: z.string().max(256),
  user: z.string().min(1).max(64),
  refreshToken: z.string().min(1).max(4096),
});
export type StoredCredential = z.infer<typeof StoredCredential>;

export const SaveResult = z.object({ saved: z.boolean(), reason: z.string().nullable() });
export type SaveResult = z.infer<typeof SaveResult>;

export const SettingsPatch = z.object({ brokerUrl: BrokerUrl.optional(), updateChannel: UpdateChannel.optional() }).strict();
export type SettingsPatch = z.infer<typeof SettingsPatch>;

export const UpdateStatus = z.discriminatedUnion('state', [
  z.object({ state: z.literal('idle') }),
  z.object({ state: z.literal('downloading'), version: z.string(), percent: z.number().min(0).max(100) }),
  /** Downloaded and verified: restart now, or it installs when the app quits. */
  z.object({ state: z.literal('ready'), version: z.string() }),
  z.object({ state: z.literal('error'), message: z.string() }),
]);
export type UpdateStatus = z.infer<typeof UpdateStatus>;

export const EscapeResult = z.object({ ok: z.boolean(), message: z.string() });
export type EscapeResult = z.infer<typeof EscapeResult>;

/** The largest document the desktop app prints (print-pdf.ts). */
export const MAX_PRINT_BYTES = 64 * 1024 * 1024;

export const PrintResult = z.object({ printed: z.boolean(), reason: z.string().nullable() });
export type PrintResult = z.infer<typeof PrintResult>;

const secret = z.string().min(1).max(1024);

/** Renderer → main requests (ipcRenderer.invoke / ipcMain.handle). */
export const ipcContract = {
  'holdfast:config.get': { request: z.tuple([]), reply: DesktopConfig },
  'holdfast:settings.set': { request: z.tuple([SettingsPatch]), reply: DesktopConfig },
  'holdfast:credential.load': { request: z.tuple([]), reply: StoredCredential.nullable() },
  'holdfast:credential.save': { request: z.tuple([StoredCredential]), reply: SaveResult },
  'holdfast:credential.clear': { request: z.tuple([]), reply: z.null() },
  'holdfast:kiosk.secret.load': { request: z.tuple([]), reply: z.string().nullable() },
  'holdfast:kiosk.secret.save': { request: z.tuple([secret]), reply: SaveResult },
  'holdfast:kiosk.escape': { request: z.tuple([secret]), reply: EscapeResult },
  'holdfast:update.install': { request: z.tuple([]), reply: z.null() },
  'holdfast:launch.take': { request: z.tuple([]), reply: z.string().nullable() },
  /** Sign in with the broker's identity provider: main opens it in the system browser (the renderer's handoff value goes with it). */
  'holdfast:oidc.start': { request: z.tuple([HandoffSchema]), reply: z.null() },
  /** Print… on what a session printed: main opens the PDF in a window of its own with the print dialog. */
  'holdfast:print.pdf': {
    request: z.tuple([z.instanceof(Uint8Array).refine((bytes) => bytes.byteLength <= MAX_PRINT_BYTES, `at most ${MAX_PRINT_BYTES} bytes`), z.string().min(1).max(255)]),
    reply: PrintResult,
  },
} as const;
export type IpcChannel = keyof typeof ipcContract;
export type IpcRequest<C extends IpcChannel> = z.infer<(typeof ipcContract)[C]['request']>;
export type IpcReply<C extends IpcChannel> = z.infer<(typeof ipcContract)[C]['reply']>;

/** Main → renderer notifications (webContents.send / ipcRenderer.on). */
export const ipcEvents = {
  'holdfast:update.status': UpdateStatus,
  /** A holdfast://launch/<appId> link arrived: launch it (after sign-in). */
  'holdfast:launch.requested': z.object({ appId: z.string() }),
  /** The administrator pressed the kiosk escape chord: ask for the escape secret. */
  'holdfast:kiosk.escapeRequested': z.object({}),
  /** A holdfast://oidc link brought the one-time code of a sign-in this app started: redeem it. */
  'holdfast:oidc.code': z.object({ code: SignInCodeSchema }),
} as const;
export type IpcEvent = keyof typeof ipcEvents;
export type IpcEventPayload<E extends IpcEvent> = z.infer<(typeof ipcEvents)[E]>;

/** What the preload puts on window.holdfast. Listener functions return an unsubscribe. */
export interface DesktopApi {
  getConfig(): Promise<DesktopConfig>;
  setSettings(patch: SettingsPatch): Promise<DesktopConfig>;
  loadCredential(): Promise<StoredCredential | null>;
  saveCredential(credential: StoredCredential): Promise<SaveResult>;
  clearCredential(): Promise<null>;
  loadKioskSecret(): Promise<string | null>;
  saveKioskSecret(secret: string): Promise<SaveResult>;
  kioskEscape(secret: string): Promise<EscapeResult>;
  installUpdate(): Promise<null>;
  takePendingLaunch(): Promise<string | null>;
  startOidc(handoff: string): Promise<null>;
  printPdf(bytes: Uint8Array<ArrayBuffer>, name: string): Promise<PrintResult>;
  onUpdateStatus(listener: (status: UpdateStatus) => void): () => void;
  onLaunchRequested(listener: (request: { appId: string }) => void): () => void;
  onKioskEscapeRequested(listener: () => void): () => void;
  onOidcCode(listener: (delivery: { code: string }) => void): () => void;
}
