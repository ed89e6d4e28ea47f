// The person's own settings (userData/settings.json). A file that does not parse is
// treated as empty: these are preferences, and the policy still holds where it locks.
import { readFileSync, writeFileSync, mkdirSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';
import { UserSettings } from '../shared/policy.js';

export function loadUserSettings(file: string): UserSettings {
  try {
    const parsed = UserSettings.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    return parsed.success ? parsed.data : {};
  } catch {
    return {};
  }
}

export function saveUserSettings(file: string, settings: UserSettings): void {
  mkdirSync(dirname(file), { recursive: true });
  const temporary = `${file}.tmp`;
  writeFileSync(temporary, JSON.stringify(UserSettings.parse(settings), null, 2) + '\n', { mode: 0o600 });
  renameSync(temporary, file);
}
