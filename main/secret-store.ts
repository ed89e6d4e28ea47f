// Secrets kept on disk only as safeStorage ciphertext (DPAPI, Keychain, or the Linux
// keyring): the "remember me" refresh credential and a kiosk account's secret. Where
// safeStorage would fall back to a fixed key (Linux without a keyring) nothing is
// kept at all, so a secret is never on disk in plain text or its equivalent.
import { safeStorage } from 'electron';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** Why secrets cannot be kept on this machine, or null when they can. */
export function secretStorageUnavailable(platform: NodeJS.Platform = process.platform): string | null {
  if (!safeStorage.isEncryptionAvailable()) return 'this system offers no encryption for stored secrets';
  if (platform === 'linux' && ['basic_text', 'unknown'].includes(safeStorage.getSelectedStorageBackend())) {
    return 'no keyring (GNOME Keyring or KWallet) is running, so a stored secret would not be protected';
  }
  return null;
}

export class SecretStore {
  constructor(
    private readonly file: string,
    private readonly platform: NodeJS.Platform = process.platform,
  ) {}

  /** Encrypts and writes (mode 0600); refuses, with why, where encryption is not real. */
  save(secret: string): { saved: boolean; reason: string | null } {
    const reason = secretStorageUnavailable(this.platform);
    if (reason) return { saved: false, reason };
    mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
    const temporary = `${this.file}.tmp`;
    writeFileSync(temporary, safeStorage.encryptString(secret), { mode: 0o600 });
    renameSync(temporary, this.file);
    return { saved: true, reason: null };
  }

  /** The secret, or null when none is kept or it can no longer be decrypted (then it is removed). */
  load(): string | null {
    if (secretStorageUnavailable(this.platform)) return null;
    let sealed: Buffer;
    try {
      sealed = readFileSync(this.file);
    } catch {
      return null;
    }
    try {
      return safeStorage.decryptString(sealed);
    } catch {
      // Another user's or another machine's key (a copied profile): useless, and not ours to keep.
      this.clear();
      return null;
    }
  }

  clear(): void {
    rmSync(this.file, { force: true });
  }
}
