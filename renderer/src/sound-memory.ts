// A tab's sound as the person left it, per app (issue 25): whether it was on, and its
// volume. The next tab of the same app — opened again, or after a reload — starts the
// same way. Kept in the page's localStorage, one key per catalog app id
// ("holdfast.sound.<appId>"), so one app's value cannot spoil another's and two tabs
// never rewrite each other's. Per device, like the keyboard preferences: the speakers
// belong to the machine. What is read back is parsed as unknown: a value this version
// does not know, or a hand-edited one, is ignored (the defaults hold); a storage that
// refuses (private mode, a locked-down profile) only means it is not remembered.
import { z } from 'zod';

export const SOUND_MEMORY_PREFIX = 'holdfast.sound.';

export const SoundChoice = z
  .object({
    /** The tab's Sound button was left on. */
    on: z.boolean(),
    /** The tab's volume, 0–100. */
    volume: z.number().int().min(0).max(100),
  })
  .strict();
export type SoundChoice = z.infer<typeof SoundChoice>;

/** A tab of an app never heard before: sound off (a browser would not play it before a click anyway), at 80. */
export const DEFAULT_SOUND: SoundChoice = Object.freeze({ on: false, volume: 80 });

type SoundStorage = Pick<Storage, 'getItem' | 'setItem'>;

export const soundMemoryKey = (appId: string) => `${SOUND_MEMORY_PREFIX}${appId}`;

/** How the person left `appId`'s sound on this device; the defaults where nothing usable is kept. */
export function rememberedSound(storage: SoundStorage | null, appId: string): SoundChoice {
  try {
    const raw = storage?.getItem(soundMemoryKey(appId)) ?? null;
    if (raw === null) return DEFAULT_SOUND;
    const parsed = SoundChoice.safeParse(JSON.parse(raw) as unknown);
    return parsed.success ? parsed.data : DEFAULT_SOUND;
  } catch {
    return DEFAULT_SOUND;
  }
}

/** Keeps `choice` for the next tab of `appId`, where the storage allows. */
export function rememberSound(storage: SoundStorage | null, appId: string, choice: SoundChoice): void {
  try {
    storage?.setItem(soundMemoryKey(appId), JSON.stringify(SoundChoice.parse(choice)));
  } catch {
    /* not kept: this tab still plays as chosen */
  }
}

/** The page's localStorage, or null where touching it throws (a sandboxed frame, storage turned off). */
export function pageStorage(): SoundStorage | null {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}
