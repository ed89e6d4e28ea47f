// The machine policy an administrator installs for the desktop client, and the
// person's own settings it may lock. Parsed from `unknown` (a JSON file) in main;
// what the renderer sees is the effective result, never the raw file.
import { z } from 'zod';
import { Pin } from './pin.js';

/** Where the policy file lives, per platform (main may override it for tests). */
export const POLICY_PATHS = {
  linux: '/etc/holdfast/policy.json',
  win32: '%ProgramData%\\Holdfast\\policy.json',
  darwin: '/Library/Application Support/Holdfast/policy.json',
} as const;

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?$/i;

/**
 * A broker node's origin. https:// everywhere; http:// only on loopback, where a
 * test or a local node listens (the socket would otherwise carry passwords in clear).
 */
export const BrokerUrl = z
  .string()
  .max(256)
  .regex(/^https?:\/\/[^/?#@\s]+\/?$/i, 'an origin such as https://holdfast.example.com (no path)')
  .refine((url) => /^https:/i.test(url) || LOOPBACK.test(url.replace(/^http:\/\//i, '').replace(/\/$/, '')), 'http:// only for loopback addresses; use https://')
  .transform((url) => url.replace(/\/$/, '').toLowerCase());

const AppId = z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/, 'an app id from the broker catalog (lowercase letters, digits, "-" or "_")');
const Clock = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a local time such as 02:30');

export const UpdateChannel = z.enum(['stable', 'beta']);
export type UpdateChannel = z.infer<typeof UpdateChannel>;

/** The user settings a policy can lock, and their values. */
export const UserSettings = z
  .object({
    brokerUrl: BrokerUrl.optional(),
    updateChannel: UpdateChannel.optional(),
    rememberMe: z.boolean().optional(),
  })
  .strict();
export type UserSettings = z.infer<typeof UserSettings>;
export const SETTING_NAMES = ['brokerUrl', 'updateChannel', 'rememberMe'] as const;
export type SettingName = (typeof SETTING_NAMES)[number];

export const MaintenanceWindow = z.object({ start: Clock, end: Clock }).strict();
export type MaintenanceWindow = z.infer<typeof MaintenanceWindow>;

export const KioskPolicy = z
  .object({
    /** The broker account the kiosk signs in as; its secret is stored with safeStorage on first sign-in. */
    account: z.string().min(1).max(64),
    /** `holdfast user hash` of the administrator's escape secret (Ctrl+Alt+Shift+E asks for it). */
    escapeHash: z.string().regex(/^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/, 'a hash made by "holdfast user hash" (scrypt$…)'),
  })
  .strict();
export type KioskPolicy = z.infer<typeof KioskPolicy>;

export const UpdatePolicy = z
  .object({
    enabled: z.boolean().default(true),
    /** Where latest.yml and the installers are. Default: the first broker's /updates/. */
    feedUrl: z.string().url().regex(/^https?:\/\//, 'an http(s) URL').optional(),
    channel: UpdateChannel.default('stable'),
    checkEveryHours: z.number().min(1).max(168).default(4),
    /** Kiosk machines install downloaded updates only inside this window (local time). */
    maintenanceWindow: MaintenanceWindow.default({ start: '03:00', end: '05:00' }),
  })
  .strict();
export type UpdatePolicy = z.infer<typeof UpdatePolicy>;

/**
 * Sound on this machine (issue 25). Off turns a session's sound off for everyone at this
 * computer — a kiosk in a quiet office, a shared terminal in a ward — whatever they chose
 * in a tab; the client then never asks a node for it.
 */
export const SoundPolicy = z
  .object({
    /** Sessions' sound plays here (the tab's Sound button). */
    playback: z.boolean().default(true),
    /** Apps may hear this computer's microphone (when a session asks and the person allows). */
    microphone: z.boolean().default(true),
  })
  .strict();
export type SoundPolicy = z.infer<typeof SoundPolicy>;

/** Where no policy says otherwise (a plain browser, a desktop without a policy file): sound both ways. */
export const SOUND_ALLOWED: SoundPolicy = Object.freeze({ playback: true, microphone: true });

export const MachinePolicy = z
  .object({
    /** Every broker node the client may reach: the first is where it signs in, the rest are its cluster. */
    brokers: z.array(BrokerUrl).min(1).max(32).optional(),
    /** Launch this app as soon as the person (or the kiosk) is signed in. */
    autoLaunchApp: AppId.optional(),
    /** Present: the machine is a kiosk terminal. */
    kiosk: KioskPolicy.optional(),
    updates: UpdatePolicy.prefault({}),
    /**
     * Brokers whose certificate the system does not trust (self-signed, or from a CA
     * not installed on the machine) and that the client accepts anyway, by the pin of
     * their key. A CA is better installed in the system's store than pinned here.
     */
    tls: z
      .object({ pins: z.array(Pin).max(32).default([]) })
      .strict()
      .prefault({}),
    /** Offer "remember me" (a refresh credential kept with safeStorage). */
    rememberMe: z.boolean().default(true),
    sound: SoundPolicy.prefault({}),
    /** Settings the person cannot change: the policy's value holds. */
    locked: z.array(z.enum(SETTING_NAMES)).max(SETTING_NAMES.length).default([]),
  })
  .strict()
  .superRefine((policy, ctx) => {
    if (policy.kiosk && !policy.brokers) ctx.addIssue({ code: 'custom', path: ['brokers'], message: 'a kiosk needs brokers: it never asks anyone where to sign in' });
    if (policy.locked.includes('brokerUrl') && !policy.brokers) ctx.addIssue({ code: 'custom', path: ['locked'], message: 'locking brokerUrl needs brokers to lock it to' });
  });
export type MachinePolicy = z.infer<typeof MachinePolicy>;

/** A policy file that failed to parse: what a person (or an administrator) sees. */
export interface PolicyProblem {
  file: string;
  problems: string[];
}

/** Readable lines for each issue: `kiosk.account: Too small: …`. */
export function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => (issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message));
}

export interface EffectiveSettings {
  brokerUrl: string;
  /** The brokers the CSP lets the renderer reach: the policy's list and the one in use. */
  brokers: string[];
  updateChannel: UpdateChannel;
  rememberMe: boolean;
  locked: SettingName[];
}

/**
 * The policy wins for every locked setting; otherwise the person's choice, else the
 * policy's value, else the built-in default (`fallbackBroker`, stable, remember me on).
 */
export function effectiveSettings(policy: MachinePolicy | null, user: UserSettings, fallbackBroker: string): EffectiveSettings {
  const locked = policy?.locked ?? [];
  const pick = <K extends SettingName>(name: K, fromPolicy: UserSettings[K], fallback: NonNullable<UserSettings[K]>): NonNullable<UserSettings[K]> =>
    (locked.includes(name) ? fromPolicy : (user[name] ?? fromPolicy)) ?? fallback;
  const brokerUrl = pick('brokerUrl', policy?.brokers?.[0], fallbackBroker);
  return {
    brokerUrl,
    brokers: [...new Set([brokerUrl, ...(policy?.brokers ?? [])])],
    updateChannel: pick('updateChannel', policy?.updates.channel, 'stable'),
    // A policy that turns remember-me off turns it off, locked or not.
    rememberMe: policy?.rememberMe === false ? false : pick('rememberMe', policy?.rememberMe, true),
    locked,
  };
}
